"""Entry point of the ``eli5-keras`` console script.

TensorFlow prints INFO lines (CPU feature notices, "oneDNN custom operations are on")
to stderr when it loads, which would bury the command line's one-line messages. Only
the command hides them, by default (``TF_CPP_MIN_LOG_LEVEL=1``, INFO only), and before
anything imports TensorFlow; this module lives outside the package because importing
``eli5_keras`` loads TensorFlow. The library itself leaves the process environment
alone.

Some TensorFlow builds log a few INFO lines through absl before its logging reads
``TF_CPP_MIN_LOG_LEVEL`` (they come after the line "All log messages before
absl::InitializeLog() is called are written to STDERR"). While TensorFlow loads, the
command therefore sends file descriptor 2 to a temporary file and then writes back
every line except those INFO entries and that notice: warnings and errors still show.
"""
from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
from typing import Iterator, List, Optional

_ABSL_NOTICE = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
_LOG_ENTRY = re.compile(r"^[IWEF]\d{4} ")


def main(argv: Optional[List[str]] = None) -> int:
    """Run ``eli5-keras ARGS`` (``argv`` defaults to ``sys.argv[1:]``); returns the exit status."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    quiet = os.environ["TF_CPP_MIN_LOG_LEVEL"].strip() not in ("", "0")
    try:
        with _early_info_lines_hidden() if quiet else contextlib.nullcontext():
            from eli5_keras.cli import main as run
    except ModuleNotFoundError as exc:
        if exc.name != "tensorflow":
            raise
        # installed without TensorFlow: one line saying which install brings it
        sys.stderr.write(f"eli5-keras: error: {exc}\n")
        return 2

    return run(argv)


def without_info_lines(text: str) -> str:
    """``text`` less absl's pre-initialisation notice and INFO entries (an ``I`` line
    and the lines that continue it, up to the next log entry)."""
    kept, in_info = [], False
    for line in text.splitlines(keepends=True):
        if line.rstrip("\n") == _ABSL_NOTICE:
            continue
        if _LOG_ENTRY.match(line):
            in_info = line.startswith("I")
        if not in_info:
            kept.append(line)
    return "".join(kept)


@contextlib.contextmanager
def _early_info_lines_hidden() -> Iterator[None]:
    """While TensorFlow first loads, filter what native code writes to stderr."""
    if "tensorflow" in sys.modules:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            text = without_info_lines(captured.read().decode("utf-8", "replace"))
            if text:
                sys.stderr.write(text)
                sys.stderr.flush()
