"""``nnet lab``: the web lab, a page on 127.0.0.1 to draw a digit and watch every layer light up."""

from __future__ import annotations

from pathlib import Path

from . import _term
from ._term import CLIError

HELP = "open the web lab: draw a digit and watch the network think; teach it by backprop; train live"
DESCRIPTION = """\
Serve the lab on this machine (127.0.0.1, a free port unless --port) and open it in the browser.

Draw: draw a digit and see the 28x28 input it makes (preprocessed as `nnet predict` does), every
layer's neurons lit by their activations, the connections between small layers, the outputs as
they are (with an "I don't know" threshold), and what each neuron looks for.
Test digits: the MNIST test digits, at random, by class, or only the model's mistakes.
Teach: backpropagation on a copy of the model: one example's cost, target, δ and desired nudges
on every neuron; one step of gradient descent, undo, reset; ten examples and their average.
Train: train a network on the server (any output, cost and initialisation, the lessons' preset,
or the current model to go on training); pause, step and re-rate it live. Every run is kept with
a check of its health; Draw and Test digits use a run's network when you choose it, and
--save PATH lets the page save the current model to that file.
Inside: layer health, a map of each layer's activations, calibration.

A table model (trained with --target) opens a form instead: one field per feature (numbers
start at the training median, text columns offer their categories), and the same look inside:
every layer lit by the row, then the answer (the class and its probabilities, or the value).

With no MODEL the lab starts training the default network (784-128-10, relu, softmax) at once;
it takes a few seconds, and the lab uses it when it is healthy. The page and its JSON API
(GET /api) stay on this machine unless --host says otherwise."""
EXAMPLES = """\
examples:
  nnet lab                                     # train the default network, then draw
  nnet lab model.safetensors                   # look inside a trained model
  nnet lab iris.safetensors                    # a table model: a form, one field per feature
  nnet lab model.safetensors --port 8000 --no-browser
  nnet lab --save lab-model.safetensors        # let the page save what you train there"""


def add_arguments(parser) -> None:
    parser.add_argument("model", metavar="MODEL", nargs="?", help="a .safetensors model file (default: train one)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="the address to listen on (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=0, help="the port (default 0: any free port)")
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser; just print the address")
    parser.add_argument("--save", metavar="PATH",
                        help="the file the page's Save button writes the current model to (default: no saving)")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON line ({\"url\", \"model\", \"save\"}) once serving, for scripts")
    parser.add_argument("--dataset", metavar="NAME_OR_PATH",
                        help="the digits to browse and train on (default: the model's dataset, else mnist)")


def run(args) -> int:
    try:
        from nnet.lab import create_app
    except ImportError as missing:
        raise CLIError(str(missing)) from None
    from nnet.datasets import IMAGE_SIDE

    from .data import check_fits, dataset_of_model, resolve

    if not 0 <= args.port <= 65535:
        raise CLIError(f"--port must be in 0..65535; got {args.port}")
    network = None
    if args.model:
        from nnet import load

        network = load(args.model)
    save_path = _save_path(args.save)
    if network is not None and network.metadata.get("preprocessing") is not None:
        return _table_lab(args, network, save_path)
    data = resolve(dataset_of_model(network, args.dataset) if network is not None else args.dataset or "mnist")
    if network is not None:
        check_fits(network, data, args.model)
    elif data.train[0].shape[1] != IMAGE_SIDE * IMAGE_SIDE:
        raise CLIError(f"the lab trains on {IMAGE_SIDE}x{IMAGE_SIDE} images; {data.name} has images of "
                       f"{data.train[0].shape[1]} pixels")
    app = create_app(
        network,
        train_data=data.train,
        test_data=data.test,
        class_names=data.classes,
        save_path=save_path,
        source=Path(args.model).name if args.model else None,
        dataset={"name": data.name, "path": data.path, "kind": data.kind},
        command=getattr(args, "argv", None),
        train_on_start=network is None,
        allowed_hosts=_hosts(args),
    )
    return _serve(args, app, args.model or "the default network (training now)", save_path)


def _table_lab(args, network, save_path) -> int:
    """A table model: the form page, no dataset (nothing to browse or train on)."""
    from nnet.lab import create_app

    from ._tables import model_preprocessing

    if args.dataset:
        raise CLIError(f"--dataset is for models of images; {args.model} reads a table's rows, typed in the lab's form")
    model_preprocessing(network, args.model)  # a damaged table: one line, before serving
    app = create_app(network, save_path=save_path, source=Path(args.model).name, command=getattr(args, "argv", None),
                     allowed_hosts=_hosts(args))
    return _serve(args, app, f"{args.model} (a table model: a form, one field per feature)", save_path)


def _hosts(args) -> list[str]:
    from nnet.lab.app import LOCAL_HOSTS
    from nnet.lab.server import is_loopback

    return [*LOCAL_HOSTS, args.host] if is_loopback(args.host) else ["*"]


def _serve(args, app, what: str, save_path) -> int:
    from nnet.lab.server import address, bind, is_loopback, serve

    try:
        sock = bind(args.host, args.port)
    except OSError as failure:
        raise CLIError(f"cannot listen on {args.host}:{args.port}: {failure.strerror or failure}") from None
    url = address(sock)
    if not is_loopback(args.host):
        _term.note(f"warning: listening on {args.host}: anyone who can reach this machine can use the lab")
    if args.json:
        _term.print_json({"url": url, "model": what, "save": None if save_path is None else str(save_path)})
    else:
        print(f"nnet lab: serving {_term.visible(what)} at {url}", flush=True)
    if save_path is not None:
        _term.note(f"the page's Save button writes to {save_path}")
    _term.note("press Ctrl-C to stop")
    with sock:
        try:
            serve(app, sock, open_browser=not args.no_browser)
        except KeyboardInterrupt:  # Ctrl-C is how a server is stopped: not a failure
            pass
    _term.note("nnet lab: stopped")
    return 0


def _save_path(text: str | None) -> Path | None:
    if text is None:
        return None
    path = Path(text).expanduser().resolve()
    if path.is_dir():
        raise CLIError(f"--save {text}: is a folder; give a file path such as {Path(text) / 'model.safetensors'}")
    if not path.parent.is_dir():
        raise CLIError(f"--save {text}: the folder {path.parent} does not exist")
    return path
