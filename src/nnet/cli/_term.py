"""The terminal, for every command: error lines, a progress bar, tables, numbers for people.

The library never prints; these helpers are the only place nnet writes to a terminal. Progress
goes to stderr (so ``nnet train > log.txt`` keeps a clean report on stdout), results to stdout.

Text that comes from a file (a model's class names and metadata, a dataset's name, a file's own
name) is shown with its control characters made visible (:func:`visible`): a model file cannot
clear the screen, retitle the window, plant a hyperlink or overwrite a line with a carriage
return. Tables, key-value lists, notes and error lines do it to every value they show.
"""

from __future__ import annotations

import json
import sys
import time
import unicodedata
from collections.abc import Sequence

#: The most times a second a progress bar redraws.
REDRAW_PER_SECOND = 10
BAR_WIDTH = 24


class CLIError(Exception):
    """An expected failure: ``main`` prints ``nnet: error: <message>`` and exits 1."""


#: Unicode's categories of characters that do something rather than show something: controls
#: (escape sequences, carriage returns, bells), formats (right-to-left overrides, zero widths),
#: and line and paragraph separators.
_INVISIBLE = ("Cc", "Cf", "Zl", "Zp")


def visible(text) -> str:
    """``text`` with every control or format character written out as an escape (``\\x1b``,
    ``\\r``, ``\\u202e``), as Python's ``repr`` writes them: shown, never obeyed."""
    text = str(text)
    if text.isprintable():
        return text
    return "".join(repr(char)[1:-1] if unicodedata.category(char) in _INVISIBLE else char for char in text)


def error(message: str, stream=None) -> None:
    """Print ONE line, ``nnet: error: <message>``, to stderr (newlines in the message are joined,
    other control characters made visible)."""
    stream = stream or sys.stderr
    line = " ".join(part.strip() for part in str(message).splitlines() if part.strip())
    print(f"nnet: error: {visible(line)}", file=stream, flush=True)


def note(message: str, stream=None) -> None:
    """A line of information on stderr (progress, where a checkpoint is), shown visibly."""
    print(visible(message), file=stream or sys.stderr, flush=True)


def is_tty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def print_json(data, stream=None) -> None:
    """Print ``data`` as one JSON object on one line to stdout."""
    print(json.dumps(data, allow_nan=False, default=str), file=stream or sys.stdout, flush=True)


class ProgressBar:
    """A one-line progress bar, redrawn in place with a carriage return, at most
    ``REDRAW_PER_SECOND`` times a second; drawn only when ``stream`` is a terminal.

    >>> bar = ProgressBar(860, "epoch 1/10")
    >>> bar.update(430, "cost 0.21  accuracy 93.4%")   # doctest: +SKIP
    >>> bar.finish("epoch 1/10  ...  done")            # the final line, kept
    """

    def __init__(self, total: int | None, label: str = "", stream=None, unit: str = ""):
        self.total = total
        self.label = label
        self.unit = unit
        self.stream = stream or sys.stderr
        self.live = is_tty(self.stream)
        self.started = time.monotonic()
        self._last_draw = 0.0
        self._width = 0

    def update(self, done: int, suffix: str = "", *, force: bool = False) -> None:
        """Show ``done`` of ``total`` (drawn only if 1/REDRAW_PER_SECOND s passed since the last)."""
        if not self.live:
            return
        now = time.monotonic()
        if not force and now - self._last_draw < 1.0 / REDRAW_PER_SECOND:
            return
        self._last_draw = now
        self._draw(self._line(done, suffix, now))

    def _line(self, done: int, suffix: str, now: float) -> str:
        parts = [self.label] if self.label else []
        if self.total:
            fraction = min(max(done / self.total, 0.0), 1.0)
            filled = int(round(fraction * BAR_WIDTH))
            parts.append("[" + "#" * filled + "." * (BAR_WIDTH - filled) + "]")
            parts.append(f"{format_count(done, self.unit)}/{format_count(self.total, self.unit)}")
            elapsed = now - self.started
            if 0 < fraction < 1 and elapsed > 0.5:
                parts.append(f"ETA {format_seconds(elapsed * (1 - fraction) / fraction)}")
        else:
            parts.append(format_count(done, self.unit))
        if suffix:
            parts.append(suffix)
        return "  ".join(parts)

    def _draw(self, line: str) -> None:
        padding = " " * max(0, self._width - len(line))
        self.stream.write("\r" + line + padding)
        self.stream.flush()
        self._width = len(line)

    def clear(self) -> None:
        """Erase the bar (on a terminal), leaving the cursor at the start of the line."""
        if self.live and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._width = 0

    def finish(self, line: str | None = None) -> None:
        """Replace the bar by ``line`` (kept, with a newline), or just erase it. On a stream that
        is not a terminal, ``line`` is printed as one line."""
        if self.live:
            self.clear()
        if line is not None:
            print(line, file=self.stream, flush=True)


def table(headers: Sequence[str], rows: Sequence[Sequence], align: str | None = None) -> str:
    """A plain-text table: columns padded to fit, a rule under the headers.

    ``align`` has one letter per column, ``l`` or ``r``; by default text is left-aligned and
    numbers right-aligned. ``None`` cells print as ``-``.
    """
    cells = [[_cell(value) for value in row] for row in rows]
    headers = [visible(h) for h in headers]  # (class names head the confusion matrix)
    if align is None:
        first = rows[0] if rows else [""] * len(headers)
        align = "".join("r" if isinstance(value, (int, float)) else "l" for value in first)
    widths = [max([len(headers[i])] + [len(row[i]) for row in cells]) for i in range(len(headers))]

    def line(values):
        out = [v.rjust(w) if a == "r" else v.ljust(w) for v, w, a in zip(values, widths, align)]
        return "  ".join(out).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule] + [line(row) for row in cells])


def key_values(pairs: Sequence[tuple[str, object]]) -> str:
    """``name   value`` lines, the names padded to one width."""
    names = [visible(name) for name, _ in pairs]
    width = max((len(name) for name in names), default=0)
    return "\n".join(f"{name:<{width}}  {_cell(value)}" for name, (_, value) in zip(names, pairs))


def _cell(value) -> str:
    """A value as a table shows it: one line, control characters made visible."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return visible(value)


def percent(fraction: float | None, digits: int = 2) -> str:
    return "-" if fraction is None else f"{100 * fraction:.{digits}f}%"


def format_seconds(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, seconds = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def format_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"  # pragma: no cover


def format_count(n: int, unit: str = "") -> str:
    return format_bytes(n) if unit == "bytes" else f"{n:,}"
