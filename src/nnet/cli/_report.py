"""What `nnet train` shows: the headline, a progress bar per epoch, and the closing table."""

from __future__ import annotations

from nnet.training import Callback

from . import _term


def headline(settings, data, n_train, validation) -> str:
    from nnet.augment import Augmentation
    from nnet.layer_kinds import written

    hidden_layers = written(settings["layers"]) if settings.get("layers") else "-".join(map(str, settings["hidden"]))
    sizes = "-".join(str(part) for part in [data.train[0].shape[1], hidden_layers, len(data.classes)] if part != "")
    n_val = 0 if validation is None else len(validation[0])
    hidden = f"{settings['activation']} hidden, " if settings["hidden"] or settings.get("layers") else ""
    return (
        f"training {sizes} ({hidden}{settings['output']} output, {settings['cost']} cost) on "
        f"{data.name}: {n_train:,} training, {n_val:,} validation, {len(data.test[0]):,} test "
        f"{'rows' if data.kind == 'table' else 'images'}; "
        f"{settings['optimizer']}, learning rate {settings['learning_rate']:g}, batch {settings['batch_size']}, "
        f"{settings['epochs']} epochs, seed {settings['seed']}"
        + (f"; augmented ({Augmentation(**settings['augment'])})" if settings.get("augment") else "")
        + ("; expanded by one-pixel shifts" if settings.get("expand_shifts") else "")
    )


def report(history, scores, out, seconds) -> str:
    """The closing table: one row per epoch, then the scores and where the model went. A
    regression run shows R² where a classifier's shows accuracy, and MAE and RMSE in its scores."""
    regression = any(r.train_r2 is not None for r in history.epochs) or any(
        score is not None and "r2" in score for score in scores.values())
    quality, name = (_r2, "R²") if regression else (_term.percent, "accuracy")
    rows = [
        [r.epoch, f"{r.seconds:.1f}" if r.seconds >= 1 else f"{r.seconds:.2f}", f"{r.train_cost:.4f}",
         quality(r.train_r2 if regression else r.train_accuracy),
         None if r.validation_cost is None else f"{r.validation_cost:.4f}",
         quality(r.validation_r2 if regression else r.validation_accuracy), f"{r.learning_rate:.4g}"]
        for r in history.epochs
    ]
    lines = [_term.table(
        ["epoch", "seconds", "train cost", f"train {name}", "validation cost", f"validation {name}", "learning rate"],
        rows, align="rrrrrrr",
    ), ""]
    pairs = [(f"{part} {name}", score_text(score)) for part in ("train", "validation", "test")
             if (score := scores.get(part)) is not None]
    if history.stopped_early:
        pairs.append(("stopped early", f"kept the best epoch, {history.best_epoch}"))
    pairs += [
        ("training time", _term.format_seconds(history.seconds)),
        ("total time", _term.format_seconds(seconds)),
        ("saved", str(out)),
    ]
    lines.append(_term.key_values(pairs))
    return "\n".join(lines)


def score_text(score: dict) -> str:
    """A part's score (:func:`nnet.runs.scores`) in one line: the accuracy, or R² with MAE and
    RMSE; then the cost."""
    if "r2" in score:
        return f"{_r2(score['r2'])}  (MAE {score['mae']:.4g}, RMSE {score['rmse']:.4g}, cost {score['cost']:.4f})"
    return f"{_term.percent(score['accuracy'])}  (cost {score['cost']:.4f})"


def _r2(value: float | None) -> str | None:
    return None if value is None else f"{value:.4f}"


# -- callbacks --------------------------------------------------------------------------------


def _epoch_label(epoch: int, epochs: int) -> str:
    """'epoch  7/10': the number padded so the lines of a run stay aligned."""
    return f"epoch {epoch:>{len(str(epochs))}}/{epochs}"


class Progress(Callback):
    """A bar per epoch over its batches, with the running cost (and a classifier's accuracy); a
    line per epoch, with R² for a regression network."""

    def __init__(self, stream=None):
        self.stream = stream
        self.bar = None

    def on_epoch_begin(self, state):
        self.bar = _term.ProgressBar(state.batches, _epoch_label(state.epoch + 1, state.epochs), self.stream)
        self.cost_sum = self.correct = 0.0
        self.seen = 0

    def on_batch_end(self, state):
        n = state.batch_size
        classifies = state.network.task == "classification"
        self.cost_sum += state.batch_cost * n
        self.correct += state.batch_accuracy * n if classifies else 0.0
        self.seen += n
        if self.bar.live:
            accuracy = f"  accuracy {_term.percent(self.correct / self.seen)}" if classifies else ""
            self.bar.update(state.batch + 1, f"cost {self.cost_sum / self.seen:.4f}{accuracy}")

    def on_epoch_end(self, state):
        r = state.record
        line = f"{_epoch_label(r.epoch, state.epochs)}  {r.seconds:5.1f} s  cost {r.train_cost:.4f}  {_quality(r, 'train')}"
        if r.validation_cost is not None:
            line += f"  validation cost {r.validation_cost:.4f}  {_quality(r, 'validation')}"
        self.bar.finish(line)
        self.bar = None

    def close(self):
        if self.bar is not None:
            self.bar.finish()
            self.bar = None


def _quality(record, part: str) -> str:
    """'accuracy 97.52%' or 'R² 0.9134' for a part of an epoch's record."""
    r2 = getattr(record, f"{part}_r2")
    if r2 is not None:
        return f"R² {r2:.4f}"
    return f"accuracy {_term.percent(getattr(record, f'{part}_accuracy'))}"
