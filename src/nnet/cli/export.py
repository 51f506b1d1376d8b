"""``nnet export``: a saved model as an ONNX graph, for any ONNX runtime (``nnet.export_onnx``)."""

from __future__ import annotations

import json
from pathlib import Path

from . import _term
from ._term import CLIError

HELP = "write a model as ONNX, with its preprocessing, for onnxruntime and friends"
DESCRIPTION = """\
Write a saved model as one ONNX graph (needs the onnx package: pip install "nnet[onnx]").

The graph takes "input", (n, n_inputs): uint8 pixels for an image model (scaled by 1/255 in the
graph); for a table model its inputs in the order `nnet info` lists (the model's features):
numbers as they are, NaN for a missing one (filled with the training median and standardised in
the graph), and each text column one-hot encoded by the caller, one input per category (a
missing cell as its most frequent category, an unseen one as all zeros). It gives
"probabilities" and "label" (an index into the classes) for a classifier, "values" in the
target's units for regression. The graph's metadata (nnet.classes or nnet.targets, nnet.inputs,
nnet.fills) says the rest."""
EXAMPLES = """\
examples:
  nnet export model.safetensors --out model.onnx
  nnet export houses.safetensors --format onnx --out houses.onnx --overwrite
  nnet export model.safetensors --out model.onnx --json"""

#: The formats nnet writes.
FORMATS = ("onnx",)


def add_arguments(parser) -> None:
    parser.add_argument("model", metavar="MODEL", help="a .safetensors model file")
    parser.add_argument("--format", choices=FORMATS, default="onnx", help="the file format (default onnx)")
    parser.add_argument("--out", metavar="FILE", help="the file to write (default: MODEL with the suffix .onnx)")
    parser.add_argument("--overwrite", action="store_true", help="replace the --out file if it exists")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args) -> int:
    from nnet import load
    from nnet.onnx_export import export_onnx

    out = Path(args.out) if args.out else Path(args.model).with_suffix(".onnx")
    if out.suffix.lower() != ".onnx":
        raise CLIError(f"--out {out}: an ONNX file's name ends in .onnx")
    if out.exists() and not args.overwrite:
        raise CLIError(f"--out {out} exists: give another --out, or add --overwrite to replace it")
    if not (out.parent if str(out.parent) else Path(".")).is_dir():
        raise CLIError(f"--out {out}: folder {out.parent} does not exist")
    network = load(args.model)
    try:
        export_onnx(network, out)
    except ValueError as failure:  # an activation ONNX has no operator for, damaged preprocessing ...
        raise CLIError(f"{args.model}: cannot export: {failure}") from None
    summary = _summary(out)
    if args.json:
        _term.print_json({"model": args.model, "format": args.format, "out": str(out), **summary})
    else:
        print(f"wrote {_term.visible(out)} ({_term.format_bytes(out.stat().st_size)})")
        print(f"  {summary['doc']}")
    return 0


def _summary(path: Path) -> dict:
    """What the written graph takes and gives, read back from it."""
    import onnx

    model = onnx.load(str(path))
    properties = {prop.key: prop.value for prop in model.metadata_props}
    io = lambda values: [value.name for value in values]  # noqa: E731
    return {"inputs": io(model.graph.input), "outputs": io(model.graph.output), "doc": model.doc_string,
            "metadata": {key: json.loads(value) if key in ("nnet.classes", "nnet.targets", "nnet.inputs", "nnet.fills")
                         else value for key, value in properties.items()}}
