"""Checks shared by the input-gradient method tests."""
import numpy as np

import eli5_keras as eli5
from eli5_keras.explain import get_explainer

PIPELINE = dict(use_logits=True, relu=None, normalize=None, resize=True, input_index=None)


def check_batch_size_and_tracing(model, x, other, method, **options):
    """``batch_size=1`` and ``64`` give the same maps and extras (top-2 targets), and a
    call on another batch of the same shapes runs the compiled graph without retracing.
    Returns the result with ``batch_size=1``."""
    small = eli5.explain(model, x, method=method, top_k=2, batch_size=1, **options)
    large = eli5.explain(model, x, method=method, top_k=2, batch_size=64, **options)
    np.testing.assert_allclose(small.maps, large.maps, rtol=1e-4, atol=1e-6 * max(1.0, np.abs(large.maps).max()))
    for key, value in large.extras.items():
        np.testing.assert_allclose(small.extras[key], value, rtol=1e-3, atol=1e-6)
    eli5.explain(model, other, method=method, top_k=2, batch_size=3, **options)
    explainer = get_explainer(model, method, None, **options, **PIPELINE)
    ((_, _, fn),) = [entry for key, entry in explainer._functions.items() if key[:3] == ("class", 0, 2)]
    assert fn.experimental_get_tracing_count() == 1
    return small
