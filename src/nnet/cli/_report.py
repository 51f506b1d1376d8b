"""What `nnet train` shows: the headline, a progress bar per epoch, and the closing table."""

from __future__ import annotations

from nnet.training import Callback

from . import _term


def headline(settings, data, n_train, validation) -> str:
    sizes = "-".join(map(str, [data.train[0].shape[1], *settings["hidden"], len(data.classes)]))
    n_val = 0 if validation is None else len(validation[0])
    hidden = f"{settings['activation']} hidden, " if settings["hidden"] else ""
    return (
        f"training {sizes} ({hidden}{settings['output']} output, {settings['cost']} cost) on "
        f"{data.name}: {n_train:,} training, {n_val:,} validation, {len(data.test[0]):,} test images; "
        f"{settings['optimizer']}, learning rate {settings['learning_rate']:g}, batch {settings['batch_size']}, "
        f"{settings['epochs']} epochs, seed {settings['seed']}"
    )


def report(history, scores, out, seconds) -> str:
    """The closing table: one row per epoch, then the scores and where the model went."""
    rows = [
        [r.epoch, f"{r.seconds:.1f}" if r.seconds >= 1 else f"{r.seconds:.2f}", f"{r.train_cost:.4f}", _term.percent(r.train_accuracy),
         None if r.validation_cost is None else f"{r.validation_cost:.4f}",
         None if r.validation_accuracy is None else _term.percent(r.validation_accuracy),
         f"{r.learning_rate:.4g}"]
        for r in history.epochs
    ]
    lines = [_term.table(
        ["epoch", "seconds", "train cost", "train accuracy", "validation cost", "validation accuracy", "learning rate"],
        rows, align="rrrrrrr",
    ), ""]
    pairs = []
    for part in ("train", "validation", "test"):
        score = scores.get(part)
        if score is not None:
            pairs.append((f"{part} accuracy", f"{_term.percent(score['accuracy'])}  (cost {score['cost']:.4f})"))
    if history.stopped_early:
        pairs.append(("stopped early", f"kept the best epoch, {history.best_epoch}"))
    pairs += [
        ("training time", _term.format_seconds(history.seconds)),
        ("total time", _term.format_seconds(seconds)),
        ("saved", str(out)),
    ]
    lines.append(_term.key_values(pairs))
    return "\n".join(lines)


# -- callbacks --------------------------------------------------------------------------------


def _epoch_label(epoch: int, epochs: int) -> str:
    """'epoch  7/10': the number padded so the lines of a run stay aligned."""
    return f"epoch {epoch:>{len(str(epochs))}}/{epochs}"


class Progress(Callback):
    """A bar per epoch over its batches, with the running cost and accuracy; a line per epoch."""

    def __init__(self, stream=None):
        self.stream = stream
        self.bar = None

    def on_epoch_begin(self, state):
        self.bar = _term.ProgressBar(state.batches, _epoch_label(state.epoch + 1, state.epochs), self.stream)
        self.cost_sum = self.correct = 0.0
        self.seen = 0

    def on_batch_end(self, state):
        n = state.batch_size
        self.cost_sum += state.batch_cost * n
        self.correct += state.batch_accuracy * n
        self.seen += n
        if self.bar.live:
            self.bar.update(
                state.batch + 1,
                f"cost {self.cost_sum / self.seen:.4f}  accuracy {_term.percent(self.correct / self.seen)}",
            )

    def on_epoch_end(self, state):
        r = state.record
        line = (
            f"{_epoch_label(r.epoch, state.epochs)}  {r.seconds:5.1f} s  cost {r.train_cost:.4f}  "
            f"accuracy {_term.percent(r.train_accuracy)}"
        )
        if r.validation_accuracy is not None:
            line += f"  validation cost {r.validation_cost:.4f}  accuracy {_term.percent(r.validation_accuracy)}"
        self.bar.finish(line)
        self.bar = None

    def close(self):
        if self.bar is not None:
            self.bar.finish()
            self.bar = None
