"""The all-methods sweep (see ``test_all_methods.py``) on a nested backbone (a functional model used as a layer)."""
import pytest

from helpers.checks import check_every_target_kind
from helpers.data import images
from helpers.methods import names


@pytest.mark.parametrize("targets", ["top", "two"])
@pytest.mark.parametrize("method", names())
def test_every_method_on_nested(nested_model, method, targets):
    check_every_target_kind(nested_model, method, lambda n: images(n, seed=41), (12, 12), targets)
