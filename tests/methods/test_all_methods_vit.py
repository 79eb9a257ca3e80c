"""Every registered method on vision transformers: KerasHub's ViTImageClassifier (blocks
inside its encoder layer) and a hand-built functional ViT with a class token. Each runs
with the automatic layer and gives maps of the input's shape, or says why it does not
apply (CAM's head is not GlobalAveragePooling -> Dense). Numbers are checked per method
in their own tests."""
import warnings

import numpy as np
import pytest

import eli5_keras as eli5

from helpers.methods import fast_options
from helpers.vit import vit

DOES_NOT_APPLY = {"cam": "GlobalAveragePooling -> Dense"}


@pytest.fixture(scope="module", params=["kerashub", "hand_built"])
def transformer(request, kerashub_vit):
    return kerashub_vit if request.param == "kerashub" else vit(prefix=1, head="token", seed=8)


@pytest.mark.parametrize("method", eli5.methods.available())
def test_every_method_on_a_vit(transformer, method):
    size = transformer.input_shape[1]
    x = np.random.default_rng(3).uniform(0.0, 1.0, (1, size, size, 3)).astype(np.float32)
    if method in DOES_NOT_APPLY:
        with pytest.raises(ValueError, match=DOES_NOT_APPLY[method]):
            eli5.explain(transformer, x, method, **fast_options(method))
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # empty maps of random weights; GELU under the ReLU rules
        result = eli5.explain(transformer, x, method, batch_size=8, **fast_options(method))
    assert result.maps.shape == (1, 1, size, size)
    assert np.isfinite(result.maps).all()
    np.testing.assert_allclose(result.scores[:, 0], transformer(x).numpy().max(axis=1), rtol=1e-4, atol=1e-5)
