"""Entry point of the ``eli5-keras`` console script.

TensorFlow prints INFO lines (CPU feature notices) to stderr when it loads, which would
bury the command line's one-line messages. Only the command hides them, by default
(``TF_CPP_MIN_LOG_LEVEL=1``, INFO only), and before anything imports TensorFlow; this
module lives outside the package because importing ``eli5_keras`` loads TensorFlow.
The library itself leaves the process environment alone.
"""
from __future__ import annotations

import os
from typing import List, Optional


def main(argv: Optional[List[str]] = None) -> int:
    """Run ``eli5-keras ARGS`` (``argv`` defaults to ``sys.argv[1:]``); returns the exit status."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    from eli5_keras.cli import main as run

    return run(argv)


if __name__ == "__main__":
    raise SystemExit(main())
