"""What the lab accepts from a client: JSON bodies and query strings, checked before use.

Everything a client sends is untrusted. Each function here takes the decoded JSON (or the query
parameters) and returns plain values, or raises :class:`PayloadError` with the HTTP status and a
message that says what was expected and what came. No function here touches a file path: the
client never names one.

A drawing (``POST /api/predict``) comes in one of three forms::

    {"width": W, "height": H, "pixels": "<base64>"}       W*H gray bytes (0 = black), or
                                                          W*H*C bytes with "channels": C in 1..4
                                                          (C is inferred from the length if absent)
    {"image": "data:image/png;base64,<...>"}              an encoded image (PNG, JPEG, ...), as a
                                                          data URL or bare base64
    {"input": [784 numbers in 0..1]}                      an MNIST-style input, used as it is

The first two are preprocessed by :func:`nnet.images.to_mnist`, exactly as ``nnet predict``
preprocesses an image file.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import math
import re
import warnings

import numpy as np

from nnet import activations, initializers, losses, optimizers, schedules
from nnet import limits as bounds  # (``limits`` below is what the Train form may ask for)
from nnet.datasets import IMAGE_SIDE
from nnet.datasets.image_folder import IMAGE_FORMATS, pillow_reason

#: The largest request body the lab reads (a 280x280 RGBA drawing in base64 is ~420 KB).
MAX_BODY_BYTES = bounds.MAX_BODY_BYTES
#: The largest side of a drawing or image, in pixels.
MAX_SIDE = bounds.MAX_SIDE
#: Limits on what the Train view may ask for, so a click cannot tie the machine up for hours;
#: together they are bounded by ``nnet.limits.MAX_TRAINING_WORK`` (see :func:`train_settings`).
MAX_HIDDEN_LAYERS = 4
MAX_HIDDEN_SIZE = 1024
MAX_EPOCHS = 100
MAX_BATCH_SIZE = 4096
MAX_LEARNING_RATE = 10.0
TRAINABLE_ACTIVATIONS = ("relu", "leaky_relu", "sigmoid", "tanh")
MAX_STEP_BATCHES = 1000

_DATA_URL = re.compile(r"data:image/[a-zA-Z0-9.+-]+;base64,", re.ASCII)
#: An integer as a client may write one (in a path, a query, a header): ASCII digits, bounded.
_INTEGER = re.compile(rf"[+-]?[0-9]{{1,{bounds.MAX_INTEGER_DIGITS}}}", re.ASCII)


class PayloadError(ValueError):
    """A request the lab refuses: ``status`` is the HTTP status, the message says why."""

    def __init__(self, message: str, status: int = 422):
        super().__init__(message)
        self.status = status


def parse_json(body: bytes) -> object:
    """Decode a JSON body; 400 if it is not JSON, or holds NaN or Infinity (which Python's json
    accepts), an integer of more than ``nnet.limits.MAX_INTEGER_DIGITS`` digits, or nesting deeper
    than Python parses."""

    def refuse(constant):
        raise PayloadError(f"JSON numbers must be finite; got {constant}", 400)

    def bounded(text):
        if len(text.lstrip("-")) > bounds.MAX_INTEGER_DIGITS:
            raise PayloadError(f"JSON integers may have at most {bounds.MAX_INTEGER_DIGITS} digits; got one of {len(text)}", 400)
        return int(text)

    if not body.strip():
        raise PayloadError("expected a JSON body; got an empty one", 400)
    try:
        return json.loads(body, parse_constant=refuse, parse_int=bounded)
    except RecursionError:
        raise PayloadError("the body is not valid JSON: nested too deeply", 400) from None
    except (UnicodeDecodeError, ValueError) as error:  # json.JSONDecodeError is a ValueError
        if isinstance(error, PayloadError):
            raise
        raise PayloadError(f"the body is not valid JSON: {error}", 400) from None


def integer_text(text: str | None) -> int | None:
    """The integer that ``text`` (from a path, a query or a header) writes in ASCII digits with at
    most ``nnet.limits.MAX_INTEGER_DIGITS`` of them, or None. (Python's ``int`` would also take '٣',
    ' 7 ', '1_000' and 4,000 digits.)"""
    if text is None or not _INTEGER.fullmatch(text):
        return None
    return int(text)


def _object(data, what: str) -> dict:
    if not isinstance(data, dict):
        raise PayloadError(f"expected a JSON object for {what}; got {_kind(data)}")
    return data


def _kind(value) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


def _integer(data: dict, key: str, low: int, high: int, default=None) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise PayloadError(f'"{key}" must be an integer in {low}..{high}; got {_shown(value)}')
    if not low <= value <= high:
        raise PayloadError(f'"{key}" must be an integer in {low}..{high}; got {value}')
    return value


def _choice(data: dict, key: str, choices, default) -> str:
    value = data.get(key, default)
    if not isinstance(value, str) or value not in choices:
        raise PayloadError(f'"{key}" must be one of {", ".join(choices)}; got {_shown(value)}')
    return value


def _shown(value, limit: int = 60) -> str:
    """A client's value as JSON, cut to ``limit`` characters, for a message."""
    text = json.dumps(value)
    return text if len(text) <= limit else f"{text[: limit - 5]}...{text[-2:]}"


def _base64(text, key: str) -> bytes:
    if not isinstance(text, str):
        raise PayloadError(f'"{key}" must be a base64 string; got {_kind(text)}')
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as error:
        raise PayloadError(f'"{key}" is not valid base64 ({error})') from None


# -- drawings ------------------------------------------------------------------------------


def drawing(data, n_inputs: int) -> np.ndarray:
    """The network input for a ``POST /api/predict`` body.

    Returns
    -------
    ndarray of shape (n_inputs,): uint8 pixels (from a drawing or image, via ``to_mnist``) or
    float32 in [0, 1] (from ``"input"``).
    """
    data = _object(data, "the drawing")
    forms = [key for key in ("pixels", "image", "input") if key in data]
    if len(forms) != 1:
        raise PayloadError(
            'expected one of "pixels" (with "width" and "height"), "image" (a data URL) or "input" '
            f"({n_inputs} numbers in 0..1); got keys {_shown(sorted(data))}"
        )
    if forms[0] == "input":
        return _ready_input(data["input"], n_inputs)
    from nnet.images import ImageError, to_mnist

    if n_inputs != IMAGE_SIDE * IMAGE_SIDE:
        raise PayloadError(
            f"this model takes {n_inputs} inputs, not a {IMAGE_SIDE}x{IMAGE_SIDE} image, so it cannot "
            f'read a drawing; send "input" with {n_inputs} numbers instead'
        )
    image = _raw_pixels(data) if forms[0] == "pixels" else _encoded_image(data["image"])
    try:
        return to_mnist(image)
    except ImageError as error:
        raise PayloadError(str(error)) from None


def _ready_input(values, n_inputs: int) -> np.ndarray:
    if not isinstance(values, list) or len(values) != n_inputs:
        got = f"{len(values)} values" if isinstance(values, list) else _kind(values)
        raise PayloadError(f'"input" must be a list of {n_inputs} numbers in 0..1; got {got}')
    for position, value in enumerate(values):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise PayloadError(f'"input" must hold only numbers; got {_kind(value)} at position {position}')
    x = np.asarray(values, dtype=np.float64)
    if not np.isfinite(x).all() or x.min() < 0 or x.max() > 1:
        raise PayloadError(f'"input" values must be in 0..1; got values from {x.min():g} to {x.max():g}')
    return x.astype(np.float32)


def _raw_pixels(data: dict) -> np.ndarray:
    width = _integer(data, "width", 1, MAX_SIDE)
    height = _integer(data, "height", 1, MAX_SIDE)
    raw = _base64(data["pixels"], "pixels")
    area = width * height
    channels = data.get("channels")
    if channels is None:
        channels = len(raw) // area if len(raw) % area == 0 else 0
        if channels not in (1, 2, 3, 4):
            raise PayloadError(
                f'"pixels" must hold width*height = {area} gray bytes (or 2, 3 or 4 bytes per pixel); '
                f"got {len(raw)} bytes for a {width}x{height} drawing"
            )
    else:
        channels = _integer(data, "channels", 1, 4)
        if len(raw) != area * channels:
            raise PayloadError(
                f'"pixels" must hold width*height*channels = {area * channels} bytes; got {len(raw)}'
            )
    pixels = np.frombuffer(raw, dtype=np.uint8)
    return pixels.reshape(height, width) if channels == 1 else pixels.reshape(height, width, channels)


def _encoded_image(text) -> bytes:
    if not isinstance(text, str):
        raise PayloadError(f'"image" must be a data URL string; got {_kind(text)}')
    match = _DATA_URL.match(text)
    blob = _base64(text[match.end():] if match else text, "image")
    from PIL import Image

    try:  # read only the header: the size, before any decoding
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(blob), formats=IMAGE_FORMATS) as opened:
                width, height = opened.size
    except Exception as error:  # noqa: BLE001 - Pillow raises many kinds for a bad file
        raise PayloadError(
            f'"image" is not an image in one of the formats the lab reads ({", ".join(IMAGE_FORMATS)}): '
            f"{pillow_reason(error)}"
        ) from None
    if width > MAX_SIDE or height > MAX_SIDE:
        raise PayloadError(f'"image" must be at most {MAX_SIDE}x{MAX_SIDE} pixels; got {width}x{height}')
    return blob


# -- training settings -----------------------------------------------------------------------


def train_settings(data, defaults: dict, n_train: int, *, n_inputs: int = IMAGE_SIDE * IMAGE_SIDE,
                   n_outputs: int = 10, served_hidden: list | None = None) -> tuple[dict, bool]:
    """The settings of a ``POST /api/train`` body, each missing one taken from ``defaults``, and
    whether to go on training the served model (``"continue": true``) instead of a fresh one.

    Keys, named as ``nnet train``'s options: ``hidden`` (list of sizes), ``activation``,
    ``output``, ``cost``, ``init``, ``optimizer``, ``learning_rate``, ``epochs``, ``batch_size``,
    ``lr_schedule``, ``seed``; and ``train_size`` (how many training images, from the first). Each
    has its range (:func:`limits`), and together they may ask for at most
    ``nnet.limits.MAX_TRAINING_WORK`` multiply-adds (:func:`nnet.limits.training_work`, for a
    network of ``n_inputs`` and ``n_outputs``, with the served model's ``served_hidden`` layers
    when it goes on training that).
    """
    data = _object(data, "the training settings")
    carry_on = data.get("continue", False)
    if not isinstance(carry_on, bool):
        raise PayloadError(f'"continue" must be true or false; got {_shown(carry_on)}')
    data = {key: value for key, value in data.items() if key != "continue"}
    known = set(defaults)
    unknown = sorted(set(data) - known)
    if unknown:
        raise PayloadError(f"unknown training settings {_shown(unknown)}; the settings are {sorted(known)}")
    hidden = data.get("hidden", defaults["hidden"])
    if (
        not isinstance(hidden, list)
        or len(hidden) > MAX_HIDDEN_LAYERS
        or not all(isinstance(s, int) and not isinstance(s, bool) and 1 <= s <= MAX_HIDDEN_SIZE for s in hidden)
    ):
        raise PayloadError(
            f'"hidden" must be a list of 0 to {MAX_HIDDEN_LAYERS} layer sizes, each 1..{MAX_HIDDEN_SIZE}, '
            f"such as [128] or [256, 64]; got {_shown(hidden)}"
        )
    learning_rate = data.get("learning_rate", defaults["learning_rate"])
    if (
        isinstance(learning_rate, bool)
        or not isinstance(learning_rate, (int, float))
        or not (0 < learning_rate <= MAX_LEARNING_RATE and math.isfinite(learning_rate))
    ):
        raise PayloadError(
            f'"learning_rate" must be a number in (0, {MAX_LEARNING_RATE:g}]; got {_shown(learning_rate)}'
        )
    seed = data.get("seed", defaults["seed"])
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32):
        raise PayloadError(f'"seed" must be null or an integer in 0..{2**32 - 1}; got {_shown(seed)}')
    output = _choice(data, "output", tuple(activations.ACTIVATIONS), defaults["output"])
    cost = _choice(data, "cost", tuple(losses.COSTS), defaults["cost"])
    try:  # the library's own rule for which outputs a cost can follow
        losses.get(cost).check_output(activations.get(output))
    except ValueError as error:
        raise PayloadError(str(error)) from None
    settings = {
        "hidden": list(hidden),
        "activation": _choice(data, "activation", TRAINABLE_ACTIVATIONS, defaults["activation"]),
        "output": output,
        "cost": cost,
        "init": _choice(data, "init", ("auto", *initializers.INITIALIZERS), defaults["init"]),
        "optimizer": _choice(data, "optimizer", tuple(optimizers.OPTIMIZERS), defaults["optimizer"]),
        "learning_rate": float(learning_rate),
        "epochs": _integer(data, "epochs", 1, MAX_EPOCHS, defaults["epochs"]),
        "batch_size": _integer(data, "batch_size", 1, MAX_BATCH_SIZE, defaults["batch_size"]),
        "lr_schedule": _choice(data, "lr_schedule", tuple(schedules.SCHEDULES), defaults["lr_schedule"]),
        "train_size": _integer(data, "train_size", 1, n_train, min(defaults["train_size"] or n_train, n_train)),
        "seed": seed,
    }
    hidden = served_hidden if carry_on and served_hidden is not None else settings["hidden"]
    sizes = [n_inputs, *hidden, n_outputs]
    work = bounds.training_work(sizes, settings["train_size"], settings["epochs"], settings["batch_size"])
    if work > bounds.MAX_TRAINING_WORK:
        raise PayloadError(
            f"this run is too much work for the lab: {settings['epochs']} epochs of {settings['train_size']:,} images "
            f"in batches of {settings['batch_size']} through a {'-'.join(map(str, sizes))} network is {work:.2g} "
            f"multiply-adds; one run may do at most {bounds.MAX_TRAINING_WORK:.2g} (a few minutes): fewer epochs or "
            f"images, smaller layers or larger batches (or train it with `nnet train`)"
        )
    return settings, carry_on


def step_count(data) -> int:
    """How many minibatches ``POST /api/train/step`` lets go (``{"batches": n}``, default 1)."""
    data = {} if data is None else _object(data, "the step")
    return _integer(data, "batches", 1, MAX_STEP_BATCHES, 1)


def learning_rate(data) -> float:
    """The new learning rate of ``POST /api/train/learning_rate``: ``{"learning_rate": η}``."""
    data = _object(data, "the learning rate")
    value = data.get("learning_rate")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= MAX_LEARNING_RATE:
        raise PayloadError(f'"learning_rate" must be a number in (0, {MAX_LEARNING_RATE:g}]; got {_shown(value)}')
    return float(value)


def limits(n_train: int) -> dict:
    """What ``train_settings`` accepts, for the page's form and the API listing: ``work`` is the
    most multiply-adds one run may do, in all (see :func:`nnet.limits.training_work`)."""
    return {
        "hidden_layers": [0, MAX_HIDDEN_LAYERS],
        "hidden_size": [1, MAX_HIDDEN_SIZE],
        "activation": list(TRAINABLE_ACTIVATIONS),
        "output": list(activations.ACTIVATIONS),
        "cost": list(losses.COSTS),
        "init": ["auto", *initializers.INITIALIZERS],
        "optimizer": list(optimizers.OPTIMIZERS),
        "lr_schedule": list(schedules.SCHEDULES),
        "learning_rate": [0, MAX_LEARNING_RATE],
        "epochs": [1, MAX_EPOCHS],
        "batch_size": [1, MAX_BATCH_SIZE],
        "train_size": [1, n_train],
        "work": [0, bounds.MAX_TRAINING_WORK],
    }


# -- query strings ---------------------------------------------------------------------------


def query_int(params, key: str, low: int, high: int, default=None) -> int | None:
    """An integer query parameter in low..high (None if absent and no default)."""
    text = params.get(key)
    if text is None:
        return default
    value = integer_text(text)
    if value is None:
        shown = text if len(text) <= 40 else f"{text[:35]}..."
        raise PayloadError(f"query parameter {key!r} must be an integer in {low}..{high}; got {shown!r}")
    if not low <= value <= high:
        raise PayloadError(f"query parameter {key!r} must be an integer in {low}..{high}; got {value}")
    return value
