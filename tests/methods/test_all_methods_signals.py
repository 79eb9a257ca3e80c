"""The all-methods sweep (see ``test_all_methods.py``) on 1-D signals (Conv1D)."""
import pytest

from helpers.checks import check_every_target_kind
from helpers.data import signals
from helpers.methods import names


@pytest.mark.parametrize("targets", ["top", "two"])
@pytest.mark.parametrize("method", names())
def test_every_method_on_signals(signal_model, method, targets):
    check_every_target_kind(signal_model, method, lambda n: signals(n, seed=42), (16,), targets)
