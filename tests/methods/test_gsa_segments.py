"""Sobol and HSIC on features (``segments=``, shared with the other black-box methods):
each feature's design coordinate is the mask value on all of its positions, each input
has the design of its own number of features, and each feature's index is painted onto
its positions; checked against numpy per input, on 1-D and 2-D inputs."""
import numpy as np
import pytest

import eli5_keras as eli5
from eli5_keras.methods import get
from eli5_keras.methods.gsa_design import binary_design, sobol_design

from helpers.data import images, signals
from helpers.gsa import plain_hsic, plain_sobol, reference_segment_maps

RAW = dict(relu=False, normalize=False)


def irregular_labels(n, shape, seed):
    """Per input, a few irregular segments with non-consecutive labels (a different
    number per input)."""
    rng = np.random.default_rng(seed)
    return np.stack([rng.choice([3, 7, 9, 11, 20, 25][: 3 + i], size=shape) for i in range(n)])


CASES = {
    "sobol-image": ("sobol", "seq_model", lambda: images(2), dict(designs=4)),
    "sobol-signal-lhs": ("sobol", "signal_model", lambda: signals(2), dict(designs=8, sampler="lhs", seed=1,
                                                                            estimator="janon")),
    "hsic-image-blurring": ("hsic", "seq_model", lambda: images(2, seed=1), dict(designs=12, perturbation="blurring")),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_per_input_labels_match_the_formula(case, request):
    method, fixture, make, options = CASES[case]
    model, x = request.getfixturevalue(fixture), make()
    labels = irregular_labels(len(x), x.shape[1:-1], seed=2)
    result = eli5.explain(model, x, method=method, segments=labels, top_k=2, batch_size=7, **options, **RAW)
    if method == "sobol":
        make_design = sobol_design
        indices = lambda scores, _: plain_sobol(scores, options["designs"], options.get("estimator", "jansen"))  # noqa: E731
    else:
        make_design, indices = binary_design, plain_hsic
    expected = reference_segment_maps(model, x, result.targets, labels, options, make_design, indices)
    assert result.maps.shape == expected.shape
    np.testing.assert_allclose(result.maps, expected, rtol=2e-3, atol=2e-6)
    again = eli5.explain(model, x, method=method, segments=labels, top_k=2, batch_size=64, **options, **RAW)
    np.testing.assert_allclose(again.maps, result.maps, rtol=1e-5, atol=1e-7)


def test_a_segmentation_function_and_one_label_array_for_all(seq_model):
    x = images(2, seed=4)
    halves = np.repeat(np.arange(2)[:, None], 12, axis=1).repeat(6, axis=0)  # top / bottom halves
    by_array = eli5.explain(seq_model, x, method="sobol", segments=halves, designs=4, **RAW)
    by_function = eli5.explain(seq_model, x, method="sobol", segments=lambda image: halves, designs=4, **RAW)
    np.testing.assert_allclose(by_function.maps, by_array.maps, rtol=1e-6)
    maps = by_array.maps[:, 0]
    assert np.all(maps[:, :6] == maps[:, :1, :1]) and np.all(maps[:, 6:] == maps[:, 6:7, :1])  # one value per segment


def test_bad_segments_are_refused(seq_model):
    with pytest.raises(ValueError, match="segments must have the input's spatial shape"):
        eli5.explain(seq_model, images(1), method="hsic", segments=np.zeros((5, 5), int), designs=4)
    with pytest.raises(TypeError, match="segments must be"):
        get("sobol", segments=3.5)
