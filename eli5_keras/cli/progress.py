"""A progress bar on stderr for long runs: redrawn in place on a terminal, a line now
and then in a log file, nothing at all when quiet."""
from __future__ import annotations

import sys
import time
from typing import Optional, TextIO

BAR_WIDTH = 30
LOG_INTERVAL_S = 5.0
"""When stderr is not a terminal, at most one progress line per this many seconds."""
REDRAW_INTERVAL_S = 0.1


class Progress:
    """Counts finished items out of ``total`` and shows rate and time left.

    Parameters
    ----------
    total : int or None
        Number of items of the whole run; None when unknown up front (a stream of
        unknown length): the line then counts without a bar or time left.
    done : int
        Items already finished before this run (e.g. skipped by ``--resume``).
    label : str
        What is counted (``"inputs"``).
    enabled : bool
        False draws nothing (``--quiet``).
    stream : file, optional
        Where to draw; stderr by default.
    """

    def __init__(
        self, total: Optional[int], done: int = 0, label: str = "inputs", enabled: bool = True, stream: Optional[TextIO] = None
    ) -> None:
        self.total = total
        self.done = done
        self.label = label
        self.enabled = enabled
        self.stream = stream if stream is not None else sys.stderr
        self._start_done = done
        self._start = time.perf_counter()
        self._last_draw = float("-inf")
        self._drawn: Optional[int] = None
        self._closed = False
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())
        if self._tty:
            self._draw()  # on a terminal, show the bar while the first batch compiles

    def advance(self, count: int = 1) -> None:
        """Mark ``count`` more items finished."""
        self.done += count
        interval = REDRAW_INTERVAL_S if self._tty else LOG_INTERVAL_S
        if time.perf_counter() - self._last_draw >= interval:
            self._draw()

    def close(self, draw: bool = True) -> None:
        """Draw the final state (unless already shown, or ``draw`` is False, as after an
        error) and end the line; only the first call does anything."""
        if not self.enabled or self._closed:
            return
        self._closed = True
        if draw and self._drawn != self.done:
            self._draw()
        if self._tty:
            self.stream.write("\n")
            self.stream.flush()

    def line(self) -> str:
        """The current state, e.g. ``[#####-----] 12/40 inputs  3.1/s  9s left`` (``12
        inputs  3.1/s`` when the total is unknown)."""
        if self.total is None:
            text = f"{self.done} {self.label}"
        else:
            filled = BAR_WIDTH * self.done // self.total if self.total else BAR_WIDTH
            text = f"[{'#' * filled}{'-' * (BAR_WIDTH - filled)}] {self.done}/{self.total} {self.label}"
        elapsed = time.perf_counter() - self._start
        worked = self.done - self._start_done
        if worked and elapsed > 0:
            rate = worked / elapsed
            text += f"  {rate:.1f}/s"
            if self.total is not None:
                text += f"  {(self.total - self.done) / rate:.0f}s left"
        return text

    def _draw(self) -> None:
        if not self.enabled:
            return
        self._last_draw, self._drawn = time.perf_counter(), self.done
        self.stream.write(("\r" if self._tty else "") + self.line() + ("" if self._tty else "\n"))
        self.stream.flush()
