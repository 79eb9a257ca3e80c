"""Ctrl-C in the streaming loop: the first asks it to stop, a second interrupts."""
import signal

import pytest

from eli5_keras.cli.interrupt import StopRequest


def test_first_ctrl_c_is_a_request_the_second_interrupts_and_the_handler_is_restored():
    before = signal.getsignal(signal.SIGINT)
    with StopRequest() as stop:
        assert not stop.requested
        signal.raise_signal(signal.SIGINT)
        assert stop.requested  # no KeyboardInterrupt: the loop finishes its batch
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is before
