"""``nnet show``: the lessons' pictures, drawn for a saved model (with :mod:`nnet.plots`)."""

from __future__ import annotations

from pathlib import Path

from ._term import CLIError

HELP = "draw a picture of a model: history, weights, activations, backprop, confusion, mistakes, means, filters, feature maps, augmentation"
DESCRIPTION = """\
Draw one of the pictures of nnet.plots for a saved model, as PNG or SVG (by --out's suffix):

  history       cost and accuracy per epoch, training beside validation
  weights       the weights into each neuron of a layer (--layer): the pattern it picks up on;
                --since-start: how they changed since training began
  activations   one test image (--index, or your own --image) flowing through every layer
  backprop      one test image (--digit, or your own --image with --label) backpropagated:
                its cost, the target beside the output, δ on every layer, and the changes it
                wants in the first layer's weights (--label: teach it another answer)
  confusion     the confusion matrix on the test images: mistakes red on their own scale
  mistakes      the test images the model gets wrong
  means         the average test image of each class
  filters       a convolutional layer's filters (--layer, default the first): its shared weights
  feature-maps  one test image (--index or --digit, or your own --image) through the feature maps
  augment       what the model's augmentation (or --augment SPEC) does to a few test digits

The pictures that need images use the test part of --dataset (default: the model's own). A
table model draws its history, weights and (a classifier) the confusion matrix of its test
rows, or of every row of --dataset FILE.csv."""
EXAMPLES = """\
examples:
  nnet show model.safetensors history --out history.png
  nnet show model.safetensors weights --layer 0 --out weights.svg
  nnet show model.safetensors activations --index 7 --out seven.png
  nnet show model.safetensors activations --image my_digit.jpg --out mine.png
  nnet show model.safetensors backprop --digit 8 --out learn.png
  nnet show model.safetensors weights --since-start --out learned.png
  nnet show model.safetensors mistakes --dataset fashion-mnist --out wrong.png
  nnet show conv.safetensors filters --out filters.png
  nnet show conv.safetensors feature-maps --digit 7 --out maps.png
  nnet show conv.safetensors augment --augment affine,elastic --out augment.png"""

#: The pictures drawn from the test images.
NEEDS_DATA = ("activations", "backprop", "confusion", "mistakes", "means", "feature-maps", "augment")


def _pictures() -> list[str]:
    try:
        from nnet import plots
    except ImportError:  # drawing needs nothing at parse time; run() reports the missing piece
        return ["history", "weights", "activations", "backprop", "confusion", "mistakes", "means", "filters", "feature-maps",
                "augment"]
    return list(plots.PICTURES)


def add_arguments(parser) -> None:
    parser.add_argument("model", metavar="MODEL", help="a .safetensors model file")
    parser.add_argument("what", metavar="WHAT", choices=_pictures(), help=f"one of: {', '.join(_pictures())}")
    parser.add_argument("--out", metavar="FILE", help="the picture file, .png or .svg (default WHAT.png)")
    parser.add_argument("--index", type=int, default=0, metavar="I", help="activations: which test image (default 0)")
    parser.add_argument("--digit", type=int, metavar="N", help="backprop, feature-maps, augment: which test image (default 0); the same as --index")
    parser.add_argument("--label", type=int, metavar="K",
                        help="backprop: the answer it should give (default: the test image's own label)")
    parser.add_argument("--image", metavar="FILE", help="activations, backprop, feature-maps: draw your own image instead of a test image")
    parser.add_argument("--since-start", action="store_true",
                        help="weights: draw how they changed since training began (rebuilt from the model's settings)")
    parser.add_argument("--layer", type=int, metavar="L", help="weights: which Dense layer, from 0 (default 0); filters: which conv layer (default the first)")
    parser.add_argument("--augment", metavar="SPEC", help="augment: the augmentation to show (default the model's own), such as affine,elastic")
    from .data import DATASET_HELP

    parser.add_argument("--dataset", metavar="NAME_OR_PATH", help=f"the images for activations, backprop, confusion, mistakes, means: {DATASET_HELP}. Default: the model's own")
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")
    parser.add_argument("--json", action="store_true", help="print one JSON object (the model, the picture, the file)")


def run(args) -> int:
    from nnet import load, plots

    out = Path(args.out or f"{args.what}.png")
    if out.suffix.lower() not in plots.FORMATS:
        raise CLIError(f"--out {out}: the file name must end in {' or '.join(plots.FORMATS)}")
    if not (out.parent if str(out.parent) else Path(".")).is_dir():
        raise CLIError(f"--out {out}: folder {out.parent} does not exist")
    network = load(args.model)
    x = y = None
    index = args.index if args.digit is None else args.digit
    if args.what == "backprop" and args.image and args.label is None:
        raise CLIError("backprop with --image needs --label K: the answer your image should give")
    if args.what in ("activations", "backprop", "feature-maps") and args.image:
        from nnet.datasets import IMAGE_SIDE
        from nnet.images import to_mnist

        if network.n_inputs != IMAGE_SIDE * IMAGE_SIDE:
            raise CLIError(f"{args.model} takes {network.n_inputs} inputs, not a {IMAGE_SIDE}x{IMAGE_SIDE} image")
        x, index = to_mnist(args.image)[None, :], 0
    elif args.what in NEEDS_DATA and network.metadata.get("preprocessing") is not None:
        x, y = _table_rows(args, network)
    elif args.what in NEEDS_DATA:
        from .data import check_fits, dataset_of_model, resolve

        data = resolve(dataset_of_model(network, args.dataset), quiet=args.quiet or args.json)
        check_fits(network, data, args.model)
        x, y = data.test
    try:
        plots.render(args.what, network, x=x, y=y, index=index, path=out, label=args.label, since_start=args.since_start,
                     layer=args.layer if args.layer is not None or args.what == "filters" else 0,
                     augmentation=_augmentation(args, network))
    except ValueError as failure:  # a layer or index out of range, a model without history ...
        raise CLIError(str(failure)) from None
    if args.json:
        from . import _term

        _term.print_json({"model": args.model, "picture": args.what, "out": str(out)})
    elif not args.quiet:
        print(f"saved {out}")
    return 0


def _table_rows(args, network):
    """A table model's rows for the confusion matrix: its test rows, or every row of --dataset."""
    from ._tables import model_inputs, model_preprocessing, model_table_rows

    if args.what != "confusion" or network.task != "classification":
        raise CLIError(f"{args.what!r} draws images or classes; {args.model} reads a table's rows: history, weights "
                       f"and (for a classifier) confusion are drawn for it")
    features, y, _, _ = model_table_rows(network, model=args.model, dataset=args.dataset, target=None, split="test")
    x, _ = model_inputs(network, model_preprocessing(network, args.model), features)
    return x, y


def _augmentation(args, network):
    """The augmentation the augment picture shows: --augment's, else the model's own."""
    from nnet.augment import Augmentation

    if args.what != "augment":
        return None
    if args.augment:
        try:
            return Augmentation.parse(args.augment)
        except ValueError as failure:
            raise CLIError(f"--augment {args.augment}: {failure}") from None
    stored = (network.metadata.get("training") or {}).get("augment")
    if not isinstance(stored, dict):
        raise CLIError(f"{args.model} was trained without augmentation: give --augment SPEC (such as affine,elastic) to "
                       f"see what one does")
    try:
        return Augmentation(**stored)
    except (TypeError, ValueError) as failure:
        raise CLIError(f"{args.model}: its training settings' augment is damaged: {failure}") from None
