"""The command line's one error type for user mistakes."""
from __future__ import annotations


class UsageError(Exception):
    """A user mistake (bad argument, missing or unreadable input, unknown method or layer).

    The command line prints ``eli5-keras: error: <message>`` on one line and exits with
    status 2, without a traceback.
    """


class OutputError(Exception):
    """An output could not be written once the run had started (the disk filled up, the
    folder went away): the command line prints ``eli5-keras: error: <message>`` on one
    line and exits with status 1; the outputs finished before are kept.
    """


def os_reason(error: OSError) -> str:
    """The system's reason for ``error`` (``"No space left on device"``), on one line."""
    return error.strerror or one_line(error)


def one_line(error: BaseException) -> str:
    """The error's message on one line (library messages may span several)."""
    text = " ".join(str(error).split())
    return text or type(error).__name__
