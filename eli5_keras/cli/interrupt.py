"""Ctrl-C during a long run: finish the batch in flight, then stop cleanly.

A ``KeyboardInterrupt`` raised while TensorFlow's C++ code is calling back into Python
(e.g. converting a numpy batch) can come out as a ``SystemError``/``TypeError``
traceback instead, so the first Ctrl-C only asks the loop to stop; a second one
interrupts at once.
"""
from __future__ import annotations

import signal
import threading
from typing import Any, Optional


class StopRequest:
    """Context manager: while active, the first SIGINT sets :attr:`requested`, a second
    raises ``KeyboardInterrupt``. Outside the main thread (where signal handlers cannot
    be set) it does nothing and Ctrl-C behaves as usual."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: Optional[Any] = None

    def __enter__(self) -> "StopRequest":
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc_info: Any) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None
