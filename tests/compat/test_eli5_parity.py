"""Numbers and behaviour against the real eli5 0.16 (installed by the [test] extra)."""
import numpy as np
import pytest

import eli5_keras

eli5 = pytest.importorskip("eli5", reason="eli5 0.16 is the parity reference; pip install -e '.[cpu,test]'")
keras = pytest.importorskip("keras")


@pytest.fixture(scope="module")
def cnn():
    keras.utils.set_random_seed(3)
    return keras.Sequential(
        [
            keras.Input((12, 12, 3)),
            keras.layers.Conv2D(6, 3, activation="relu", name="c1"),
            keras.layers.Conv2D(8, 3, activation="relu", name="c2"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(4, activation="softmax"),
        ]
    )


@pytest.mark.parametrize("targets", [None, [2]])
@pytest.mark.parametrize("layer", [None, "c1"])
def test_heatmap_target_and_score_match_eli5(cnn, targets, layer):
    doc = np.random.default_rng(0).random((1, 12, 12, 3), dtype=np.float32)
    ours = eli5_keras.explain_prediction(cnn, doc, targets=targets, layer=layer)
    theirs = eli5.explain_prediction(cnn, doc, targets=targets, layer=layer)
    assert ours.method == theirs.method == "Grad-CAM"
    assert ours.targets[0].target == theirs.targets[0].target
    assert ours.targets[0].score == pytest.approx(theirs.targets[0].score, rel=1e-6)
    assert ours.targets[0].proba is theirs.targets[0].proba is None
    h_ours, h_theirs = ours.targets[0].heatmap, theirs.targets[0].heatmap
    assert h_ours.shape == h_theirs.shape
    # eli5 0.16 skips the l2-normalisation of the graph-mode version, which only moves the
    # 1e-7 of the max-normalisation; maps agree once both are scaled to a max of 1.
    np.testing.assert_allclose(h_ours / h_ours.max(), h_theirs / h_theirs.max(), atol=1e-4)


def test_same_errors_as_eli5(cnn):
    doc = np.zeros((1, 12, 12, 3), np.float32)
    for bad, error in [("x", TypeError), ([1, 2], ValueError), (["x"], TypeError), ([9], ValueError)]:
        with pytest.raises(error):
            eli5.explain_prediction(cnn, doc, targets=bad)
        if bad == [1, 2]:
            continue  # eli5 raised; we explain several targets
        with pytest.raises(error):
            eli5_keras.explain_prediction(cnn, doc, targets=bad)
    with pytest.raises(TypeError):
        eli5_keras.explain_prediction(cnn, doc, layer=2.5)
    with pytest.raises(TypeError):
        eli5.explain_prediction(cnn, doc, layer=2.5)


def test_format_as_image_matches_eli5(cnn):
    doc = np.random.default_rng(1).random((1, 12, 12, 3), dtype=np.float32)
    expl = eli5.explain_prediction(cnn, doc)
    from eli5.formatters.image import format_as_image as eli5_format

    ours = np.asarray(eli5_keras.format_as_image(expl))
    theirs = np.asarray(eli5_format(expl))
    np.testing.assert_array_equal(ours, theirs)
