"""``nnet info``: what is in a model file: layers, parameters, how it was trained, its scores."""

from __future__ import annotations

from . import _term

HELP = "describe a model: layers, parameters, training settings, dataset, scores"
DESCRIPTION = """\
Describe a saved model (or a training checkpoint): its layers with their sizes, activations and
parameter counts, the dtype and cost, how and on what it was trained (every setting, the
dataset, the date, the nnet version, the command), and its scores. The file is fully checked
on the way in: a damaged or altered file is refused."""
EXAMPLES = """\
examples:
  nnet info model.safetensors
  nnet info runs/a/checkpoint.safetensors          # a checkpoint: how far it got
  nnet info model.safetensors --json"""

#: Metadata keys shown in their own sections, not under "other".
_KNOWN = {
    "format", "format_version", "nnet_version", "saved_at", "dtype", "cost", "init", "seed", "layers",
    "data_sha256", "classes", "input", "dataset", "training", "history", "scores", "command", "checkpoint",
}


def add_arguments(parser) -> None:
    parser.add_argument("model", metavar="MODEL", help="a .safetensors model file")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args) -> int:
    from nnet import Dense, load

    network = load(args.model)
    meta = network.metadata
    layers = []
    for index, layer in enumerate(network.layers):
        if isinstance(layer, Dense):
            layers.append({"index": index, "kind": "dense", "inputs": layer.n_in, "neurons": layer.n_out,
                           "activation": layer.activation.name, "parameters": layer.n_parameters})
        else:
            layers.append({"index": index, "kind": "dropout", "rate": layer.rate, "parameters": 0})
    if args.json:
        _term.print_json({
            "model": args.model,
            "sizes": list(network.sizes),
            "layers": layers,
            "parameters": int(network.n_parameters),
            **{key: value for key, value in meta.items() if key != "layers"},
        })
        return 0
    print(f"{args.model}: a {'-'.join(map(str, network.sizes))} network, "
          f"{network.n_parameters:,} parameters, {network.dtype.name}, {network.cost.name} cost\n")
    rows = [
        [entry["index"], "Dense", f"{entry['inputs']} -> {entry['neurons']}", entry["activation"], f"{entry['parameters']:,}"]
        if entry["kind"] == "dense"
        else [entry["index"], "Dropout", f"rate {entry['rate']:g}", "", "0"]
        for entry in layers
    ]
    rows.append(["", "total", "", "", f"{network.n_parameters:,}"])
    print(_term.table(["layer", "kind", "shape", "activation", "parameters"], rows, align="rlllr"))
    print()
    pairs = [("classes", ", ".join(map(str, meta.get("classes", []))))]
    model_input = meta.get("input") or {}
    if model_input:
        pairs.append(("input", f"{'x'.join(map(str, model_input.get('shape', [])))}: {model_input.get('preprocessing', '')}"))
    pairs += [("init", meta.get("init")), ("seed", meta.get("seed")),
              ("saved", f"{meta.get('saved_at', '?')} by nnet {meta.get('nnet_version', '?')}")]
    dataset = meta.get("dataset")
    if isinstance(dataset, dict):
        counts = ", ".join(f"{dataset[part]:,} {part}" for part in ("train", "validation", "test") if isinstance(dataset.get(part), int))
        pairs.append(("dataset", f"{dataset.get('name')} ({counts})" if counts else dataset.get("name")))
    if meta.get("command"):
        pairs.append(("command", " ".join(map(str, meta["command"]))))
    checkpoint = meta.get("checkpoint")
    if isinstance(checkpoint, dict):
        total = (meta.get("training") or {}).get("epochs", "?")
        pairs.append(("checkpoint", f"after epoch {checkpoint.get('next_epoch')} of {total}"))
    history = meta.get("history")
    if isinstance(history, dict) and history.get("epochs"):
        seconds = sum(epoch.get("seconds", 0) for epoch in history["epochs"])
        early = f", stopped early (best epoch {history.get('best_epoch')})" if history.get("stopped_early") else ""
        pairs.append(("trained", f"{len(history['epochs'])} epochs in {_term.format_seconds(seconds)}{early}"))
    print(_term.key_values(pairs))
    training = meta.get("training")
    if isinstance(training, dict):
        print("\ntraining settings\n")
        print(_term.key_values([(key, _setting(value)) for key, value in training.items()]))
    scores = meta.get("scores")
    if isinstance(scores, dict):
        rows = [[part, _term.percent(s.get("accuracy")), f"{s.get('cost'):.4f}"]
                for part, s in scores.items() if isinstance(s, dict) and s.get("accuracy") is not None]
        if rows:
            print("\nscores\n")
            print(_term.table(["data", "accuracy", "cost"], rows, align="lrr"))
    other = {key: value for key, value in meta.items() if key not in _KNOWN}
    if other:
        print("\nother metadata\n")
        print(_term.key_values([(key, _setting(value)) for key, value in other.items()]))
    return 0


def _setting(value) -> str:
    if isinstance(value, list):
        return ",".join(map(str, value)) if value else "none"
    if value is None:
        return "-"
    return str(value)
