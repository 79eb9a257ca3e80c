"""Every method on models the graph walk cannot see through: a custom layer of ReLU
convolutions, a subclassed model with a residual call() used as a layer (layer methods
explain its output as a whole), and the same kind of subclassed model explained
directly. Whatever a method computes inside, the
scores it reports are the model's own outputs (a method that ran another function would
fail here), and a method that cannot run on the model says so instead."""
import numpy as np
import pytest

import eli5_keras as eli5
from eli5_keras import methods

from helpers import models
from helpers.data import images
from helpers.methods import fast_options, names

ODD_MODELS = ("grouped_conv_model", "nested_residual_model", "residual_classifier")


@pytest.fixture(scope="module", params=ODD_MODELS)
def odd_model(request):
    return getattr(models, request.param)()


@pytest.mark.filterwarnings("ignore::eli5_keras.backend.relu_rules.NonReLUWarning")
@pytest.mark.parametrize("method", names())
def test_every_method_reports_the_models_own_scores(odd_model, method):
    x = images(3, seed=42)
    uses_layer = methods.get(method, **fast_options(method)).uses_layer  # a wrapper's: its base method's
    if odd_model.name == "residual_classifier" and uses_layer:
        # every layer is inside a call() that is not a chain: refused, with the fix
        with pytest.raises(ValueError, match=r"not a plain chain.*keras\.Model\(inputs, outputs\)"):
            eli5.explain(odd_model, x, method=method, **fast_options(method))
        return
    layer = "residual" if odd_model.name == "nested_residual_model" and uses_layer else None
    result = eli5.explain(odd_model, x, method=method, layer=layer, top_k=2, batch_size=4, **fast_options(method))
    probabilities = odd_model(x).numpy()
    np.testing.assert_array_equal(result.targets, np.argsort(-probabilities, axis=1)[:, :2])
    np.testing.assert_allclose(result.scores, np.take_along_axis(probabilities, result.targets, 1), rtol=1e-4, atol=1e-6)
    assert result.maps.shape == (3, 2, 12, 12) and np.all(np.isfinite(result.maps))
