"""Every registered method x every fixture rank x batch sizes 1 and 3 x one and several
targets: shapes, finiteness, labels and scores (:func:`helpers.checks.check_every_target_kind`).
Numbers are checked per method in their own tests.

The sweep is one file per model (this one: the 2-D image classifier; the nested
backbone, 1-D signals and 3-D volumes in ``test_all_methods_*.py``), so that
``--dist loadfile`` spreads it over the workers."""
import pytest

from eli5_keras import methods

from helpers.checks import check_every_target_kind
from helpers.data import images
from helpers.methods import names


@pytest.mark.parametrize("targets", ["top", "two"])
@pytest.mark.parametrize("method", names())
def test_every_method_on_images(seq_model, method, targets):
    check_every_target_kind(seq_model, method, lambda n: images(n, seed=40), (12, 12), targets)


@pytest.mark.parametrize("method", methods.available())
def test_every_method_is_documented(method):
    cls = methods.REGISTRY[method]
    assert cls.title and cls.summary
    doc = (cls.__module__ and __import__(cls.__module__, fromlist=["_"]).__doc__) or ""
    assert "arxiv" in doc.lower() or "doi" in doc.lower() or "et al" in doc.lower(), f"{method}: cite the paper"
