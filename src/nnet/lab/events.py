"""A training run's events, kept within a bound: what a page that connects late is sent.

A run emits events all along (see :mod:`nnet.lab.training`): progress up to ten times a second, a
weights snapshot (~67 KB) every half second. Kept whole, a long run's list would grow without
bound, and a page reloaded in the middle would be sent all of it. :class:`EventLog` keeps:

- every ``start``, ``epoch`` and final event (a few per epoch);
- the progress events, thinned to at most ``max_progress``: when one more would be kept, every
  other one is dropped, and from then on only every other new one is kept, so the kept points
  stay evenly spread over the run; the progress event that closes an epoch is always kept;
- of the weights snapshots, only the latest; of the progress events, the latest too.

Events keep their ids (0, 1, ... in the order emitted; gaps where some were dropped), so a
subscriber asks for the events after the last id it saw (the ``Last-Event-ID`` header of a
reconnecting browser, read by :func:`last_event_id`). One that keeps up (the page looks every
50 ms) is handed the latest progress and weights at every look, besides those kept; one that
connects late gets the thinned curve and the current weights.
"""

from __future__ import annotations

import bisect
import re
import threading

#: The most progress events a run keeps (the chart is a few hundred pixels wide), besides the
#: one that closes each epoch.
MAX_PROGRESS = 1000
#: Events of which only the latest is kept.
LATEST_ONLY = ("weights",)
FINAL_EVENTS = ("done", "stopped", "error")
#: An event id as the lab writes it: ASCII digits (a run emits far fewer than 10**18 events).
_EVENT_ID = re.compile(r"[0-9]{1,18}", re.ASCII)


def last_event_id(header: str | None) -> int:
    """The id in a ``Last-Event-ID`` header, or -1 (send everything) for none, or for anything
    the lab never sends as an id: '²', a number of 5,000 digits, '-3', ' 7'."""
    if header is None or not _EVENT_ID.fullmatch(header):
        return -1
    return int(header)


class EventLog:
    """The events of one run, appended by the training thread, read by the event streams."""

    def __init__(self, max_progress: int = MAX_PROGRESS):
        if max_progress < 2:
            raise ValueError(f"max_progress must be at least 2; got {max_progress}")
        self.max_progress = max_progress
        self._lock = threading.Lock()
        self._kept: list[dict] = []  # in id order
        self._progress_number: dict[int, int] = {}  # id -> n-th progress event, for those kept and not pinned
        self._latest: dict[str, dict] = {}  # "progress", "weights" -> the latest one
        self._next_id = 0
        self._progress_seen = 0
        self._stride = 1  # keep every stride-th progress event
        self.final: dict | None = None

    def append(self, kind: str, data: dict, *, pinned: bool = False) -> dict:
        """Add an event ``{"id", "type": kind, **data}``; a ``pinned`` progress event is never dropped."""
        with self._lock:
            event = {"id": self._next_id, "type": kind, **data}
            self._next_id += 1
            if kind in LATEST_ONLY:
                self._latest[kind] = event
                return event
            if kind == "progress":
                self._latest[kind] = event
                number = self._progress_seen
                self._progress_seen += 1
                if not pinned:
                    if number % self._stride:
                        return event
                    self._progress_number[event["id"]] = number
            self._kept.append(event)
            if kind == "progress" and len(self._progress_number) > self.max_progress:
                self._thin()
            if kind in FINAL_EVENTS:
                self.final = event
            return event

    def _thin(self) -> None:
        """Keep every other unpinned progress event (by its number among all progress events)."""
        self._stride *= 2
        dropped = {id_ for id_, number in self._progress_number.items() if number % self._stride}
        self._kept = [event for event in self._kept if event["id"] not in dropped]
        for id_ in dropped:
            del self._progress_number[id_]

    def after(self, last_id: int) -> list[dict]:
        """The events with an id above ``last_id``, in order: those kept, and the latest progress
        and weights events if they are newer."""
        with self._lock:
            start = bisect.bisect_right(self._kept, last_id, key=lambda event: event["id"])
            events = self._kept[start:]
            extra = [event for event in self._latest.values() if event["id"] > last_id]
        if extra:
            ids = {event["id"] for event in events}
            events = sorted(events + [event for event in extra if event["id"] not in ids], key=lambda e: e["id"])
        return events

    def stored(self) -> list[dict]:
        """Every event the log holds (what a new subscriber is sent)."""
        return self.after(-1)

    @property
    def count(self) -> int:
        """How many events were emitted (kept or not)."""
        return self._next_id

    @property
    def last_progress(self) -> dict | None:
        return self._latest.get("progress")
