"""``nnet info``: what is in a model file: layers, parameters, how it was trained, its scores."""

from __future__ import annotations

import math

from . import _term

HELP = "describe a model: layers, parameters, features and their preprocessing, training settings, scores"
DESCRIPTION = """\
Describe a saved model (or a training checkpoint): its layers with their sizes, activations and
parameter counts, the dtype and cost, what it answers (classes, or a regression's targets), a
table model's features with what is done to each (missing cells filled, numbers standardised,
text one-hot encoded), how and on what it was trained (every setting, the dataset, the date, the
nnet version, the command), and its scores (accuracy; R², MAE and RMSE for regression). The file
is fully checked on the way in: a damaged or altered file is refused."""
EXAMPLES = """\
examples:
  nnet info model.safetensors
  nnet info runs/a/checkpoint.safetensors          # a checkpoint: how far it got
  nnet info model.safetensors --json"""

#: Metadata keys shown in their own sections, not under "other".
_KNOWN = {
    "format", "format_version", "nnet_version", "saved_at", "dtype", "cost", "init", "seed", "layers", "sizes",
    "input_shape", "parameters", "data_sha256", "meta_sha256", "classes", "input", "dataset", "training", "history",
    "scores", "command", "checkpoint", "task", "targets", "preprocessing",
}
#: At most this many categories of a text column are named; the rest are counted.
SHOWN_CATEGORIES = 8


def add_arguments(parser) -> None:
    parser.add_argument("model", metavar="MODEL", help="a .safetensors model file")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args) -> int:
    from nnet import load

    network = load(args.model)
    meta = network.metadata if isinstance(network.metadata, dict) else {}
    description = network.describe()
    if args.json:
        _term.print_json({
            "model": args.model,
            **description,
            **{key: _finite(value) for key, value in meta.items() if key not in description},
        })
        return 0
    print(f"{_term.visible(args.model)}: a {'-'.join(map(str, network.sizes))} network, "
          f"{network.n_parameters:,} parameters, {network.dtype.name}, {network.cost.name} cost\n")
    rows = [[layer["index"], layer["name"], layer["kind"], f"{layer['n_in']} -> {layer['n_out']}", layer["activation"],
             f"{layer['dropout']:g}" if layer["dropout"] else "", f"{layer['parameters']:,}"]
            for layer in description["layers"]]
    rows.append(["", "total", "", "", "", "", f"{network.n_parameters:,}"])
    print(_term.table(["layer", "name", "kind", "shape", "activation", "dropout", "parameters"], rows, align="rllllrr"))
    print()
    print(_term.key_values(_about(network, meta)))
    features = _feature_rows(meta)
    if features:
        print("\nfeatures (a column of the table each; the inputs come in this order)\n")
        print(_term.table(["column", "kind", "inputs", "missing cells become", "then"], features, align="llrll"))
    training = meta.get("training")
    if isinstance(training, dict) and training:
        print("\ntraining settings\n")
        print(_term.key_values([(str(key), _setting(value)) for key, value in training.items()]))
    elif training is not None:
        print(f"\ntraining settings  {ODD}")
    scores = meta.get("scores")
    if scores is not None:
        regression = network.task == "regression"
        rows = _score_rows(scores, ("r2", "mae", "rmse", "cost") if regression else ("accuracy", "cost"))
        if rows:
            print("\nscores\n")
            headers = ["data", "R²", "MAE", "RMSE", "cost"] if regression else ["data", "accuracy", "cost"]
            print(_term.table(headers, rows, align="l" + "r" * (len(headers) - 1)))
    other = {key: value for key, value in meta.items() if key not in _KNOWN}
    if other:
        print("\nother metadata\n")
        print(_term.key_values([(str(key), _setting(value)) for key, value in other.items()]))
    return 0


#: What `nnet info` prints for a metadata value of an unexpected type or form.
ODD = "?"


def _about(network, meta: dict) -> list[tuple[str, str]]:
    """The model's story, one (name, value) pair a line; ODD for what is not as expected."""
    if network.task == "regression":
        targets = meta.get("targets")
        names = ", ".join(map(str, targets)) if isinstance(targets, list) else ODD if targets is not None else "-"
        pairs = [("task", f"regression: {network.n_outputs} value{'s' if network.n_outputs > 1 else ''} ({names})")]
    else:
        pairs = [("classes", ", ".join(network.class_names))]
    model_input = meta.get("input")
    if isinstance(model_input, dict):
        shape = model_input.get("shape")
        shape = "x".join(map(str, shape)) if isinstance(shape, list) and all(_is_int(n) for n in shape) else ODD
        how = _text(model_input.get("preprocessing"))
        pairs.append(("input", f"{shape} inputs from a table's columns (features, below)" if how == "table" else f"{shape}: {how}"))
    elif model_input is not None:
        pairs.append(("input", ODD))
    pairs += [("init", _text(meta.get("init"))), ("seed", _text(meta.get("seed"))),
              ("saved", f"{_text(meta.get('saved_at'), ODD)} by nnet {_text(meta.get('nnet_version'), ODD)}")]
    dataset = meta.get("dataset")
    if isinstance(dataset, dict):
        counts = ", ".join(f"{dataset[part]:,} {part}" for part in ("train", "validation", "test") if _is_int(dataset.get(part)))
        name = _text(dataset.get("name"), ODD)
        pairs.append(("dataset", f"{name} ({counts})" if counts else name))
    elif dataset is not None:
        pairs.append(("dataset", ODD))
    command = meta.get("command")
    if isinstance(command, list) and command:
        pairs.append(("command", " ".join(map(str, command))))
    elif command:
        pairs.append(("command", _text(command)))
    checkpoint = meta.get("checkpoint")
    if isinstance(checkpoint, dict):
        training = meta.get("training")
        total = training.get("epochs") if isinstance(training, dict) else None
        pairs.append(("checkpoint", f"after epoch {_text(checkpoint.get('next_epoch'), ODD)} of {_text(total, ODD)}"))
    elif checkpoint is not None:
        pairs.append(("checkpoint", ODD))
    history = meta.get("history")
    if isinstance(history, dict) and isinstance(history.get("epochs"), list) and history["epochs"]:
        epochs = history["epochs"]
        seconds = [epoch.get("seconds") if isinstance(epoch, dict) else None for epoch in epochs]
        took = _term.format_seconds(sum(seconds)) if all(_is_number(v) for v in seconds) else f"{ODD} s"
        early = f", stopped early (best epoch {_text(history.get('best_epoch'), ODD)})" if history.get("stopped_early") is True else ""
        pairs.append(("trained", f"{len(epochs)} epochs in {took}{early}"))
    elif history is not None and not (isinstance(history, dict) and history.get("epochs") == []):
        pairs.append(("trained", ODD))
    return pairs


def _score_rows(scores, names=("accuracy", "cost")) -> list[list[str]]:
    """(data, *names) rows of the scores: parts that hold no score (None) are left out, values
    of an unexpected type shown as ODD. The accuracy shows as a percentage."""
    if not isinstance(scores, dict):
        return [[ODD] * (len(names) + 1)]
    rows = []
    for part, score in scores.items():
        if score is None:
            continue
        if not isinstance(score, dict):
            rows.append([str(part), *[ODD] * len(names)])
            continue
        cells = [str(part)]
        for name in names:
            value = score.get(name)
            if not _is_number(value):
                cells.append(ODD)
            else:
                cells.append(_term.percent(value) if name == "accuracy" else f"{value:.4f}" if name in ("cost", "r2")
                             else f"{value:.4g}")
        rows.append(cells)
    return rows


def _feature_rows(meta: dict) -> list[list]:
    """One row per feature column of a table model (column, kind, inputs, missing -> , then);
    [] for a model without a table preprocessing, [[ODD, ...]] for one that cannot be read."""
    description = meta.get("preprocessing")
    if description is None:
        return []
    from nnet.preprocessing import Preprocessing

    try:
        preprocessing = Preprocessing.from_description(description)
    except ValueError:
        return [[ODD] * 5]
    rows = []
    for column in preprocessing.columns:
        if column["kind"] == "number":
            rows.append([column["name"], "number", 1, f"{column['fill']:.6g} (the median)",
                         f"(x - {column['mean']:.6g}) / {column['scale']:.6g}"])
        else:
            categories = column["categories"]
            named = ", ".join(categories[:SHOWN_CATEGORIES]) + (f", ... ({len(categories)} in all)"
                                                                 if len(categories) > SHOWN_CATEGORIES else "")
            fill = "-" if column["fill"] is None else f"{column['fill']} (the most frequent)"
            rows.append([column["name"], "text", len(categories), fill,
                         f"one-hot: {named}; a category never seen in training: all zeros"])
    target = preprocessing.target
    if target is not None:
        for name, mean, scale in zip(target["names"], target["mean"], target["scale"]):
            rows.append([name, "target", "", "-",
                         f"learned as (y - {mean:.6g}) / {scale:.6g}; answers turned back"])
    return rows


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _text(value, missing: str = "-") -> str:
    """A scalar as text; ``missing`` for None, ODD for a list, a dict or a non-finite number."""
    if value is None:
        return missing
    if isinstance(value, (str, bool, int)) or _is_number(value):
        return str(value)
    return ODD


def _setting(value) -> str:
    if isinstance(value, list):
        return ",".join(map(str, value)) if value else "none"
    if value is None:
        return "-"
    return str(value)


def _finite(value):
    """``value`` with non-finite floats as None, so that the JSON stays standard."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value
