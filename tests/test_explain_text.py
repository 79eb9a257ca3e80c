"""Batched explanations of text models through explain(), their tokens, and counterfactuals."""
import keras
import numpy as np
import pytest

import eli5_keras as eli5
from conftest import images
from eli5_keras.explain import get_explainer
from eli5_keras.targets import ClassTarget, NegatedTarget
from eli5_keras.utils.interpolation import resize_1d
from text_models import LENGTH, documents, plain_text_gradcam, tokens_of, untrained_model

L = keras.layers
EPS = 1e-7
DEFAULT_OPTIONS = dict(use_logits=True, relu=None, normalize=None, resize=True, input_index=None)  # explain()'s


@pytest.fixture(scope="module")
def text_model():
    """Untrained: ids (12,) -> emb -> conv 'valid' (10 steps) -> dropout -> 3 classes."""
    return untrained_model(L.Dropout(0.2, name="drop"), seed=32, name="text_model")


@pytest.fixture(scope="module")
def docs():
    docs, _, _ = documents(5, seed=3, padding=("pre", "post", "inside"))
    return docs


def test_text_layer_and_shapes(text_model, docs):
    result = eli5.explain(text_model, docs, top_k=2)
    assert result.layer == "conv"  # the text rule, not the dropout after it
    assert result.maps.shape == (5, 2, LENGTH) and result.targets.shape == (5, 2)
    np.testing.assert_allclose(result.scores, np.sort(text_model.predict(docs, verbose=0), axis=1)[:, ::-1][:, :2],
                               rtol=1e-5)
    np.testing.assert_array_equal(result.inputs, docs)


def test_maps_are_plain_gradcam_at_the_layer(text_model, docs):
    """Raw maps (no ReLU, no normalisation, no resize) are Grad-CAM of the logits,
    up to the positive scale the plain reference normalises away."""
    classes = np.array([[0, 2]] * len(docs))
    result = eli5.explain(text_model, docs, targets=classes, relu=False, normalize=False, resize=False)
    assert result.maps.shape == (5, 2, 10) and result.signed
    for i in range(len(docs)):
        for t in range(2):
            plain, _, _ = plain_text_gradcam(text_model, "conv", docs[i : i + 1], classes[i, t], relu=False, logits=True)
            ours = result.maps[i, t]
            np.testing.assert_allclose(ours / np.abs(ours).max(), plain, atol=1e-4)


def test_batch_size_and_no_retrace(text_model, docs):
    small = eli5.explain(text_model, docs, top_k=2, batch_size=1)
    large = eli5.explain(text_model, docs, top_k=2, batch_size=64)
    np.testing.assert_allclose(small.maps, large.maps, atol=1e-6)
    eli5.explain(text_model, docs[:2], top_k=2)
    explainer = get_explainer(text_model, "gradcam", None, **DEFAULT_OPTIONS)
    (fn,) = [fn for key, (_, _, fn) in explainer._functions.items() if key[:3] == ("class", 0, 2)]
    assert fn.experimental_get_tracing_count() == 1


@pytest.mark.parametrize("kind", ["linear", "cubic"])
def test_text_explanations_of_a_batch(text_model, docs, kind):
    result = eli5.explain(text_model, docs, top_k=2, resize=False)
    tokens = tokens_of(docs)
    expls = eli5.text_explanations(result, tokens, pad_value=0, interpolation_kind=kind)
    assert len(expls) == len(docs)
    for i, expl in enumerate(expls):
        keep = docs[i] != 0
        kept = [t for t, k in zip(tokens[i], keep) if k]
        assert expl.layer == "conv" and expl.method == "Grad-CAM"
        assert [t.target for t in expl.targets] == list(result.targets[i])
        for t, target in enumerate(expl.targets):
            assert target.score == pytest.approx(float(result.scores[i, t]))
            np.testing.assert_allclose(target.heatmap, resize_1d(result.maps[i, t], LENGTH, kind)[keep], atol=1e-6)
            (spans,) = target.weighted_spans.docs_weighted_spans
            assert spans.document == " ".join(kept)
            assert [(tok, spans.document[s:e]) for tok, ((s, e),), _ in spans.spans] == [(k, k) for k in kept]
            np.testing.assert_allclose([w for _, _, w in spans.spans], target.heatmap, atol=1e-6)


def test_text_explanations_keep_signed_maps(text_model, docs):
    result = eli5.explain(text_model, docs, relu=False, normalize=False)
    (expl,) = eli5.text_explanations(_first(result), tokens_of(docs[:1]))
    (target,) = expl.targets
    raw = result.maps[0, 0]
    np.testing.assert_allclose(target.raw_heatmap, raw, atol=1e-6)
    low = min(raw.min(), 0.0)
    np.testing.assert_allclose(target.heatmap, (raw - low) / (raw.max() - low + EPS), atol=1e-5)
    np.testing.assert_allclose([w for _, _, w in target.weighted_spans.docs_weighted_spans[0].spans], raw, atol=1e-6)
    assert expl.signed


def _first(result):
    """The batch result of the first input alone (ExplanationBatch has no slicing)."""
    import dataclasses

    return dataclasses.replace(
        result,
        maps=result.maps[:1],
        targets=result.targets[:1],
        scores=result.scores[:1],
        inputs=result.inputs[:1],
    )


def test_text_explanations_errors(text_model, seq_model, docs):
    result = eli5.explain(text_model, docs)
    with pytest.raises(TypeError, match="ExplanationBatch"):
        eli5.text_explanations(result[0], tokens_of(docs))
    with pytest.raises(ValueError, match="tokens has a batch of 4"):
        eli5.text_explanations(result, tokens_of(docs[:4]))
    with pytest.raises(ValueError, match=r"tokens\[0\] has 3 tokens"):
        eli5.text_explanations(result, [["a", "b", "c"]] * 5)
    with pytest.raises(ValueError, match="interpolation_kind"):
        eli5.text_explanations(result, tokens_of(docs), interpolation_kind="bicubic")
    with pytest.raises(ValueError, match="not a text explanation"):
        eli5.text_explanations(eli5.explain(seq_model, images(2)), [["a"]] * 2)


# -- counterfactual -----------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["text", "image"])
def test_counterfactual_negates_maps_and_keeps_scores(which, text_model, seq_model, docs):
    model, x = (text_model, docs) if which == "text" else (seq_model, images(3, seed=4))
    plain = eli5.explain(model, x, top_k=2, relu=False, normalize=False)
    counter = eli5.explain(model, x, top_k=2, relu=False, normalize=False, counterfactual=True)
    np.testing.assert_allclose(counter.maps, -plain.maps, atol=1e-6)
    np.testing.assert_array_equal(counter.targets, plain.targets)
    np.testing.assert_allclose(counter.scores, plain.scores, rtol=1e-6)
    # ReLU on the layer's grid (before the resize)
    at_layer = eli5.explain(model, x, top_k=2, relu=False, normalize=False, resize=False)
    relu = eli5.explain(model, x, top_k=2, normalize=False, resize=False, counterfactual=True)
    np.testing.assert_allclose(relu.maps, np.maximum(-at_layer.maps, 0.0), atol=1e-6)


def test_counterfactual_explainers_are_cached_apart(seq_model):
    a = get_explainer(seq_model, "gradcam", None, counterfactual=True)
    assert get_explainer(seq_model, "gradcam", None, counterfactual=True) is a
    assert get_explainer(seq_model, "gradcam", None) is get_explainer(seq_model, "gradcam", None, counterfactual=False)
    assert get_explainer(seq_model, "gradcam", None) is not a


def test_negated_target():
    inner = ClassTarget([1, 0])
    target = NegatedTarget(inner).bind([(None, 3)], 2)
    assert target.num_targets == 1 and target.key() == ("negated", inner.key())
    np.testing.assert_array_equal(target.encode(2), inner.bind([(None, 3)], 2).encode(2))
    outputs = [np.array([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2]], np.float32)]
    labels, scores = target(outputs, target.encode(2), [True])
    np.testing.assert_array_equal(np.asarray(labels)[:, 0], [1, 0])
    np.testing.assert_allclose(np.asarray(scores)[:, 0], [-0.7, -0.5])
    with pytest.raises(TypeError, match="NegatedTarget wraps a Target"):
        NegatedTarget(lambda outputs: outputs)
