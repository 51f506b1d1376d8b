"""The training history: cost and accuracy (R² for regression) per epoch, training beside validation."""

from __future__ import annotations

import math

from ..history import History
from . import canvas

def plot_history(history, path=None):
    """Cost and accuracy per epoch: two panels, training beside validation. A regression
    network's history (R² instead of accuracy) shows R², 1 for a perfect fit.

    Parameters
    ----------
    history : History, or its dict form (``History.to_dict()``, as ``network.metadata["history"]``)
    path : str or Path, optional
        Save the picture there (.png or .svg).

    Raises ValueError when there is no history or it has no epochs.
    """
    if isinstance(history, dict):
        history = History.from_dict(history)
    if not isinstance(history, History):
        raise TypeError(f"history must be a nnet History or its dict form; got {type(history).__name__}")
    if not history.epochs:
        raise ValueError("no training history to plot: the history has no epochs")
    epochs = history.column("epoch")
    figure = canvas.figure(10, 4)
    cost_axes, quality_axes = figure.subplots(1, 2)
    regression = any(value is not None for value in history.column("train_r2"))
    quality = ((quality_axes, "r2", 1, "R² (1 is perfect, 0 the mean's; higher is better)", "R²") if regression
               else (quality_axes, "accuracy", 100, "accuracy, % right (higher is better)", "Accuracy"))
    for axes, name, scale, label, title in ((cost_axes, "cost", 1, "cost C (lower is better)", "Cost"), quality):
        for part, style in (("train", "o-"), ("validation", "s--")):
            values = history.column(f"{part}_{name}")
            if all(value is None for value in values):
                continue
            values = [math.nan if value is None else value * scale for value in values]
            axes.plot(epochs, values, style, label="training" if part == "train" else "validation", markersize=4)
        if history.best_epoch is not None:
            axes.axvline(history.best_epoch, color="gray", linestyle=":", label=f"best epoch {history.best_epoch} (kept)")
        axes.set(title=title, xlabel="epoch", ylabel=label)
        axes.xaxis.get_major_locator().set_params(integer=True)
        axes.grid(alpha=0.3)
        axes.legend()
    summary = f"{len(epochs)} epoch{'s' if len(epochs) > 1 else ''}"
    kept, which = history.epochs[-1], ", final"
    if history.best_epoch is not None and 1 <= history.best_epoch <= len(history.epochs):
        kept = history.epochs[history.best_epoch - 1]  # early stopping put this epoch's weights back
        which = f"; weights kept from the best epoch, {kept.epoch}:"
    if regression:
        part = "validation" if kept.validation_r2 is not None else "training"
        summary += f"{which} {part} R² {kept.validation_r2 if kept.validation_r2 is not None else kept.train_r2:.3f}"
    elif kept.validation_accuracy is not None:
        summary += f"{which} validation accuracy {100 * kept.validation_accuracy:.1f}%"
    else:
        summary += f"{which} training accuracy {100 * kept.train_accuracy:.1f}%"
    if history.stopped_early:
        summary += ", stopped early"
    figure.suptitle(f"Training history: {summary}")
    return canvas.finish(figure, path)
