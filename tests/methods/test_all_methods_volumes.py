"""The all-methods sweep (see ``test_all_methods.py``) on 3-D volumes (Conv3D)."""
import pytest

from helpers.checks import check_every_target_kind
from helpers.data import volumes
from helpers.methods import names


@pytest.mark.parametrize("targets", ["top", "two"])
@pytest.mark.parametrize("method", names())
def test_every_method_on_volumes(volume_model, method, targets):
    check_every_target_kind(volume_model, method, lambda n: volumes(n, seed=43), (6, 6, 6), targets)
