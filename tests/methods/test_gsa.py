"""What Sobol and HSIC share (``methods/gsa.py``): ``upsample=False`` returns the grid's
indices ``(N, T, *grid)`` as the estimators give them (checked against numpy on the
method's own design), and ``upsample=True`` (the default) is their linear resize."""
import numpy as np
import pytest

import eli5_keras as eli5
from eli5_keras.methods import get
from eli5_keras.methods.gsa_design import binary_design, sobol_design

from helpers.data import images
from helpers.gsa import design_scores, grid_masks, plain_hsic, plain_sobol
from helpers.reference import upsample_maps

RAW = dict(relu=False, normalize=False)
METHODS = {
    "sobol": (dict(designs=4, estimator="janon"), sobol_design, lambda scores, _: plain_sobol(scores, 4, "janon")),
    "hsic": (dict(designs=12, sampler="lhs", seed=3), binary_design, plain_hsic),
}


@pytest.mark.parametrize("name", sorted(METHODS))
def test_grid_level_indices_and_their_resize(seq_model, name):
    options, make_design, indices = METHODS[name]
    x, grid = images(2, seed=21), (3, 4)
    coarse = eli5.explain(seq_model, x, method=name, grid=grid, top_k=2, upsample=False, **options, **RAW)
    assert coarse.maps.shape == (2, 2) + grid
    design = make_design(options.get("sampler", "sobol"), 12, options["designs"], options.get("seed", 0))
    scores = design_scores(seq_model, x, coarse.targets, grid_masks(design, grid, x.shape[1:3]))
    expected = indices(scores, design.astype(np.float64)).reshape((2, 2) + grid)
    np.testing.assert_allclose(coarse.maps, expected, rtol=2e-3, atol=2e-5)
    fine = eli5.explain(seq_model, x, method=name, grid=grid, top_k=2, **options, **RAW)
    np.testing.assert_allclose(fine.maps, upsample_maps(coarse.maps, x.shape[1:3]), rtol=1e-4, atol=1e-6)


def test_upsample_is_checked():
    with pytest.raises(TypeError, match="upsample must be True or False; got str: 'no'"):
        get("sobol", upsample="no")
    with pytest.raises(ValueError, match="upsample=False returns the grid's indices, so it needs segments=None"):
        get("hsic", upsample=False, segments="slic")
    assert get("sobol").upsample and get("hsic").upsample
