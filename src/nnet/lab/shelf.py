"""The training runs of this lab session, kept: a run never silently replaces the served model.

When a run ends (done, stopped, or failed), its network goes on the shelf with its settings,
scores and health verdict (:func:`nnet.lab.health.verdict`: diverged, mostly dead, guessing,
each with why). The page lists the shelf; the user picks the network to use. The latest
``MAX_NETWORKS`` networks are kept whole; of older runs, only the summary (their networks are let
go, to bound memory).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from nnet.network import Network

#: How many runs' networks the shelf keeps (a [784, 1024, 1024, 10] network is ~7 MB).
MAX_NETWORKS = 8


@dataclass
class Kept:
    """One finished run."""

    run: int
    state: str  # done, stopped or error
    settings: dict
    network: Network | None
    verdict: dict
    scores: dict | None = None
    error: str | None = None
    last_learning_rate: float | None = None  # the base rate it ended with (it may be changed while it runs)
    finished: str = field(default_factory=lambda: time.strftime("%H:%M:%S"))

    def summary(self) -> dict:
        verdict = {key: value for key, value in self.verdict.items() if key != "layers"}
        return {"run": self.run, "state": self.state, "settings": self.settings, "verdict": verdict,
                "scores": self.scores, "error": self.error, "finished": self.finished,
                "last_learning_rate": self.last_learning_rate,
                "available": self.network is not None,
                "sizes": None if self.network is None else list(self.network.sizes)}


class Shelf:
    """The session's finished runs, by run id; every method may be called from any thread."""

    def __init__(self, max_networks: int = MAX_NETWORKS):
        self.max_networks = max_networks
        self._lock = threading.Lock()
        self._kept: dict[int, Kept] = {}

    def keep(self, kept: Kept) -> Kept:
        with self._lock:
            self._kept[kept.run] = kept
            holding = [entry for entry in self._kept.values() if entry.network is not None]
            for old in sorted(holding, key=lambda entry: entry.run)[: max(0, len(holding) - self.max_networks)]:
                old.network = None
            return kept

    def get(self, run: int) -> Kept:
        """The run ``run``; KeyError saying which runs there are, or that its network was let go."""
        with self._lock:
            kept = self._kept.get(run)
            if kept is None:
                have = ", ".join(map(str, sorted(self._kept))) or "none yet"
                raise KeyError(f"no finished training run {run} (finished runs: {have})")
            if kept.network is None:
                raise KeyError(f"run {run}'s network is no longer kept: the lab keeps the latest "
                               f"{self.max_networks} runs' networks")
            return kept

    def summaries(self) -> list[dict]:
        with self._lock:
            return [self._kept[run].summary() for run in sorted(self._kept)]
