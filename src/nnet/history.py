"""What a training run did, epoch by epoch: the :class:`History` that ``fit`` returns.

One :class:`EpochRecord` per epoch: the cost and accuracy (a classifier's) or R² (a regression
network's) on the training batches (over the epoch's minibatches, each measured just before its
update, as Keras reports them), on the validation data if there is any, the learning rate and the
seconds it took. ``to_dict`` and
``from_dict`` turn a history into plain data and back, for model files and checkpoints.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class EpochRecord:
    """What one epoch did. ``epoch`` counts from 1. The accuracies are None for regression,
    the R² values None for a classifier (and in histories written before nnet kept them)."""

    epoch: int
    train_cost: float
    train_accuracy: float | None
    validation_cost: float | None
    validation_accuracy: float | None
    learning_rate: float
    seconds: float
    train_r2: float | None = None
    validation_r2: float | None = None


@dataclass
class History:
    """The record of a training run: ``history.epochs[-1]`` is the last epoch."""

    epochs: list[EpochRecord] = field(default_factory=list)
    seed: int | None = None
    stopped_early: bool = False
    best_epoch: int | None = None

    def column(self, name: str) -> list:
        """One field over every epoch, e.g. ``history.column("validation_accuracy")``."""
        return [getattr(record, name) for record in self.epochs]

    @property
    def seconds(self) -> float:
        return sum(record.seconds for record in self.epochs)

    def to_dict(self) -> dict:
        return {
            "epochs": [asdict(record) for record in self.epochs],
            "seed": self.seed,
            "stopped_early": self.stopped_early,
            "best_epoch": self.best_epoch,
        }

    @classmethod
    def from_dict(cls, data: dict) -> History:
        return cls(
            epochs=[EpochRecord(**record) for record in data.get("epochs", [])],
            seed=data.get("seed"),
            stopped_early=bool(data.get("stopped_early", False)),
            best_epoch=data.get("best_epoch"),
        )
