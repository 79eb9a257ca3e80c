"""explain_prediction(..., method=NAME, **options): any method through the eli5 entry point."""
import numpy as np
import pytest

import eli5_keras as eli5

from helpers.data import images


def test_integrated_gradients_through_explain_prediction(seq_model):
    doc = images(1, seed=50)
    expl = eli5.explain_prediction(seq_model, doc, method="integrated_gradients", steps=8)
    batch = eli5.explain(seq_model, doc, method="integrated_gradients", steps=8)
    assert expl.method == "Integrated Gradients" and not expl.error
    target = expl.targets[0]
    assert target.target == batch.targets[0, 0]
    assert target.score == pytest.approx(float(batch.scores[0, 0]))
    np.testing.assert_allclose(target.raw_heatmap, batch.maps[0, 0], rtol=1e-5, atol=1e-7)
    assert target.heatmap.shape == (12, 12)
    assert 0.0 <= target.heatmap.min() and target.heatmap.max() <= 1.0
    assert expl.signed
    eli5.format_as_image(expl)  # draws on the doc's image


def test_several_targets_and_a_layer_method(seq_model):
    doc = images(1, seed=51)
    expl = eli5.explain_prediction(seq_model, doc, targets=[0, 3], method="gradcam++", layer="conv2")
    batch = eli5.explain(seq_model, doc, targets=[[0, 3]], method="gradcam++", layer="conv2")
    assert [t.target for t in expl.targets] == [0, 3]
    for t in range(2):
        np.testing.assert_allclose(expl.targets[t].heatmap, batch.maps[0, t], rtol=1e-6)
    assert expl.layer == "conv2"


def test_method_errors_name_the_problem(seq_model):
    doc = images(1, seed=52)
    with pytest.raises(ValueError, match="unknown method 'nope'"):
        eli5.explain_prediction(seq_model, doc, method="nope")
    with pytest.raises(TypeError, match="steps"):
        eli5.explain_prediction(seq_model, doc, method="gradcam", steps=3)
    with pytest.raises(TypeError, match="targets"):
        eli5.explain_prediction(seq_model, doc, method="saliency", targets=1)
