"""eli5's text Grad-CAM on Keras 3: numbers, padding, spans, trained models, errors."""
import keras
import numpy as np
import pytest

import eli5_keras as eli5
from eli5_keras import explain_prediction
from eli5_keras.formatters.fields import WEIGHTS
from eli5_keras.utils.interpolation import resize_1d
from helpers.text import (
    LENGTH,
    NEGATIVE,
    POSITIVE,
    WORDS,
    documents,
    plain_text_gradcam,
    text_cnn,
    text_lstm,
    tokens_of,
    untrained_model,
)

L = keras.layers
EPS = 1e-7


@pytest.fixture(scope="module")
def cnn():
    return text_cnn()


@pytest.fixture(scope="module")
def lstm():
    return text_lstm()


@pytest.fixture(scope="module")
def shape_model():
    """Untrained: ids (12,) -> emb (12 steps) -> conv 'valid' (10) -> pool (5) -> 3 classes."""
    return untrained_model(L.MaxPooling1D(2, name="pool"), seed=31, name="shape_model")


def doc_and_tokens(seed=0, padding=("none",)):
    docs, _, _ = documents(1, seed, padding=padding)
    return docs, tokens_of(docs)[0]


def deciding(positions):
    return np.concatenate(positions)


# -- numbers against a plain-TF Grad-CAM ----------------------------------------------------


@pytest.mark.parametrize("layer,steps", [("emb", 12), ("conv", 10), ("pool", 5)])
@pytest.mark.parametrize("kind", ["linear", "nearest", "cubic"])
def test_heatmap_is_plain_gradcam_resized(shape_model, layer, steps, kind):
    doc, tokens = doc_and_tokens(seed=1)
    expl = explain_prediction(shape_model, doc, tokens=tokens, layer=layer, interpolation_kind=kind, targets=[2])
    lmap, c, score = plain_text_gradcam(shape_model, layer, doc, class_index=2)
    assert lmap.shape == (steps,)
    (target,) = expl.targets
    assert target.target == c == 2 and target.score == pytest.approx(score, rel=1e-5)
    np.testing.assert_allclose(target.heatmap, resize_1d(lmap, LENGTH, kind), atol=1e-5)
    if kind == "linear":  # the resize itself, written plainly
        expected = np.interp(np.linspace(0, 1, LENGTH), np.linspace(0, 1, steps), lmap)
        np.testing.assert_allclose(target.heatmap, expected, atol=1e-5)
    assert expl.method == "Grad-CAM" and expl.layer == layer and not expl.signed
    assert target.raw_heatmap is None and target.proba is None


def test_relu_false_keeps_the_sign(shape_model):
    doc, tokens = doc_and_tokens(seed=2)
    expl = explain_prediction(shape_model, doc, tokens=tokens, layer="conv", relu=False, targets=[0])
    lmap, _, _ = plain_text_gradcam(shape_model, "conv", doc, class_index=0, relu=False)
    raw = np.interp(np.linspace(0, 1, LENGTH), np.linspace(0, 1, 10), lmap)
    assert raw.min() < 0 < raw.max()
    (target,) = expl.targets
    np.testing.assert_allclose(target.raw_heatmap, raw, atol=1e-5)
    assert np.abs(target.raw_heatmap).max() <= 1.0
    # eli5's text branch: the signed map in `heatmap` too, so `heatmap < 0` finds counter-evidence
    np.testing.assert_array_equal(target.heatmap, target.raw_heatmap)
    assert (target.heatmap < 0).any()
    assert expl.signed
    weights = [w for _, _, w in target.weighted_spans.docs_weighted_spans[0].spans]
    np.testing.assert_allclose(weights, target.raw_heatmap)


def test_signed_text_heatmap_is_drawn_right(shape_model):
    """Every formatter draws the signed `heatmap` of relu=False: signed scale by default,
    its [0, 1] shift when asked unsigned (never a range error or clipped values)."""
    from eli5_keras.formatters.overlay import map_values

    doc, tokens = doc_and_tokens(seed=2)
    expl = explain_prediction(shape_model, doc, tokens=tokens, layer="conv", relu=False, targets=[0])
    (target,) = expl.targets
    values, scale = map_values(expl, target, None, "auto")
    np.testing.assert_array_equal(values, target.raw_heatmap)
    assert scale.low == -scale.high
    values, _ = map_values(expl, target, None, False)
    raw = target.raw_heatmap
    low = min(raw.min(), 0.0)
    np.testing.assert_allclose(values, (raw - low) / (raw.max() - low + EPS), atol=1e-6)
    html = eli5.format_as_html(expl)
    spans = target.weighted_spans.docs_weighted_spans[0].spans
    negative = [tok for tok, _, w in spans if w < 0]
    assert negative and all(tok in html for tok in negative)
    assert "rgba(255," in html or "hsl(0" in html  # red for counter-evidence, as eli5 draws it


def test_counterfactual_negates_the_gradient(shape_model):
    doc, tokens = doc_and_tokens(seed=3)
    plain, _, _ = plain_text_gradcam(shape_model, "emb", doc, class_index=1, counterfactual=True)
    expl = explain_prediction(shape_model, doc, tokens=tokens, layer="emb", counterfactual=True, targets=[1])
    np.testing.assert_allclose(expl.targets[0].heatmap, plain, atol=1e-5)
    signed = explain_prediction(shape_model, doc, tokens=tokens, layer="emb", relu=False, targets=[1])
    both = explain_prediction(shape_model, doc, tokens=tokens, layer="emb", relu=False, counterfactual=True, targets=[1])
    np.testing.assert_allclose(both.targets[0].raw_heatmap, -signed.targets[0].raw_heatmap, atol=1e-6)
    np.testing.assert_allclose(expl.targets[0].heatmap, np.maximum(both.targets[0].raw_heatmap, 0), atol=1e-6)


def test_several_targets(shape_model):
    doc, tokens = doc_and_tokens(seed=4)
    both = explain_prediction(shape_model, doc, tokens=tokens, targets=[0, 2])
    assert [t.target for t in both.targets] == [0, 2]
    for t in both.targets:
        single = explain_prediction(shape_model, doc, tokens=tokens, targets=[t.target])
        assert single.targets[0] == t
    top = explain_prediction(shape_model, doc, tokens=tokens)
    assert top.targets[0].target == int(np.argmax(shape_model.predict(doc, verbose=0)[0]))
    assert top.layer == "conv"  # the last sequence layer: the text rule prefers it to the pooling


# -- padding and spans ---------------------------------------------------------------------


@pytest.mark.parametrize("padding", ["pre", "post", "inside"])
def test_padding_is_cut_off_wherever_it_is(shape_model, padding):
    docs, _, _ = documents(6, seed=5, padding=(padding,))
    doc = docs[np.argmax((docs == 0).sum(axis=1))][None]  # the most padded of them
    tokens = tokens_of(doc)[0]
    assert (doc == 0).sum() >= 2
    full = explain_prediction(shape_model, doc, tokens=tokens, layer="pool")
    by_value = explain_prediction(shape_model, doc, tokens=tokens, layer="pool", pad_value=0)
    by_token = explain_prediction(shape_model, doc, tokens=tokens, layer="pool", pad_token="<pad>")
    keep = doc[0] != 0
    kept = [t for t, k in zip(tokens, keep) if k]
    assert by_value == by_token
    (target,) = by_value.targets
    np.testing.assert_array_equal(target.heatmap, full.targets[0].heatmap[keep])
    (doc_spans,) = target.weighted_spans.docs_weighted_spans
    assert doc_spans.document == " ".join(kept) and "<pad>" not in doc_spans.document
    assert [token for token, _, _ in doc_spans.spans] == kept
    for token, ((start, end),), weight in doc_spans.spans:
        assert doc_spans.document[start:end] == token
    np.testing.assert_allclose([w for _, _, w in doc_spans.spans], target.heatmap)


def test_without_tokens_the_ids_name_the_positions(shape_model):
    doc, _ = doc_and_tokens(seed=6, padding=("post",))
    expl = explain_prediction(shape_model, doc[0], pad_value=0)  # unbatched doc
    (target,) = expl.targets
    kept = doc[0][doc[0] != 0]
    assert target.heatmap.shape == kept.shape
    assert target.weighted_spans.docs_weighted_spans[0].document == " ".join(str(i) for i in kept)
    with_tokens = explain_prediction(shape_model, doc, tokens=[str(i) for i in doc[0]], pad_value=0)
    assert with_tokens == expl
    assert explain_prediction(shape_model, doc).targets[0].heatmap.shape == (LENGTH,)


def test_batched_and_unbatched_inputs_agree(shape_model):
    doc, tokens = doc_and_tokens(seed=7)
    a = explain_prediction(shape_model, doc, tokens=tokens)
    b = explain_prediction(shape_model, doc[0], tokens=[tokens])
    c = explain_prediction(shape_model, doc.tolist(), tokens=np.array(tokens))
    assert a == b == c


def test_sequence_input_with_tokens(signal_model):
    """A float (N, L, C) sequence model with tokens naming its steps takes the text path."""
    x = np.random.default_rng(0).normal(size=(1, 16, 2)).astype(np.float32)
    tokens = [f"t{i}" for i in range(16)]
    expl = explain_prediction(signal_model, x, tokens=tokens, pad_token="t3")
    assert expl.layer == "sig_conv2" and expl.targets[0].heatmap.shape == (15,)
    assert "t3" not in expl.targets[0].weighted_spans.docs_weighted_spans[0].document.split()
    with pytest.raises(ValueError, match="pad_value applies to token ids"):
        explain_prediction(signal_model, x, tokens=tokens, pad_value=0)


def test_character_tokens_make_a_document_without_spaces(shape_model):
    doc, _ = doc_and_tokens(seed=8)
    chars = list("abcdefghijkl")
    spans = explain_prediction(shape_model, doc, tokens=chars).targets[0].weighted_spans.docs_weighted_spans[0]
    assert spans.document == "abcdefghijkl" and spans.spans[4][1] == [(4, 5)]


def test_masked_and_variable_length_models():
    """Embedding(mask_zero=True) masks flow through the replayed graph: the explained
    score is the model's own; documents of any length for an input (None,)."""
    keras.utils.set_random_seed(33)
    inp = keras.Input((None,), dtype="int32")
    h = L.Embedding(20, 4, mask_zero=True, name="emb")(inp)
    h = L.LSTM(3, return_sequences=True, name="rnn")(h)
    h = L.GlobalAveragePooling1D()(h)
    model = keras.Model(inp, L.Dense(2, activation="softmax")(h))
    for length in (7, 12):
        doc = np.array([[0, 0] + list(range(7, 5 + length))], np.int32)
        tokens = ["<pad>", "<pad>"] + [f"w{i}" for i in range(length - 2)]
        expl = explain_prediction(model, doc, tokens=tokens, pad_value=0)
        (target,) = expl.targets
        assert expl.layer == "rnn" and target.heatmap.shape == (length - 2,)
        assert target.score == pytest.approx(float(model.predict(doc, verbose=0)[0, target.target]), rel=1e-5)
        lmap, _, _ = plain_text_gradcam(model, "rnn", doc, class_index=target.target)
        np.testing.assert_allclose(target.heatmap, lmap[2:], atol=1e-5)


# -- trained models: the deciding words get the weight ----------------------------------------


def single_word_docs(model, n=60, seed=40):
    docs, labels, positions = documents(n, seed, mixes=((1, 0), (0, 1)))
    assert (model.predict(docs, verbose=0).argmax(axis=1) == labels).mean() >= 0.95
    return docs, positions


def heatmaps(model, docs, **kwargs):
    return [explain_prediction(model, doc, tokens=tokens_of(doc)[0], **kwargs).targets[0].heatmap for doc in docs]


def test_trained_models_learned_the_task(cnn, lstm):
    docs, labels, _ = documents(200, seed=7)
    for model in (cnn, lstm):
        assert (model.predict(docs, verbose=0).argmax(axis=1) == labels).mean() >= 0.97


def test_text_cnn_highlights_the_deciding_word(cnn):
    """At the kernel-3 convolution a word reaches three positions, so its neighbours get
    close weights: the maximum lies in the word's window and the word itself is within
    10% of it. At the embedding the word is the maximum."""
    docs, positions = single_word_docs(cnn)
    maps = heatmaps(cnn, docs)
    in_window = [min(abs(int(h.argmax()) - deciding(p))) <= 1 for h, p in zip(maps, positions)]
    close = [h[deciding(p)].max() >= 0.9 * h.max() for h, p in zip(maps, positions)]
    assert np.mean(in_window) >= 0.95 and np.mean(close) >= 0.9
    at_embedding = heatmaps(cnn, docs, layer="emb")
    assert np.mean([h.argmax() in deciding(p) for h, p in zip(at_embedding, positions)]) >= 0.95


def test_text_lstm_highlights_the_deciding_word(lstm):
    """At the bidirectional LSTM (the automatic choice) and at the embedding, the
    deciding word is the maximum."""
    docs, positions = single_word_docs(lstm)
    assert explain_prediction(lstm, docs[0]).layer == "bilstm"
    for layer in (None, "emb"):
        maps = heatmaps(lstm, docs, layer=layer)
        assert np.mean([h.argmax() in deciding(p) for h, p in zip(maps, positions)]) >= 0.9


@pytest.mark.parametrize("model_name,layer", [("lstm", None), ("cnn", "emb")])
def test_signs_and_counterfactuals_on_mixed_documents(request, model_name, layer):
    """Two words of one sentiment and one of the other: for the positive class, the
    positive words get positive weights, the maximum among them, and the negative word
    a negative weight, the minimum; the counterfactual highlights the negative word."""
    model = request.getfixturevalue(model_name)
    docs, _, positions = documents(40, seed=41, mixes=((2, 1), (1, 2)))
    signed, counter = [], []
    for doc, (pos, neg) in zip(docs, positions):
        raw = explain_prediction(model, doc, targets=[1], relu=False, layer=layer).targets[0].raw_heatmap
        signed.append(raw.argmin() in neg and raw.argmax() in pos and raw[neg].max() < 0 < raw[pos].min())
        cf = explain_prediction(model, doc, targets=[1], counterfactual=True, layer=layer).targets[0].heatmap
        counter.append(cf.argmax() in neg)
    assert np.mean(signed) >= 0.8 and np.mean(counter) >= 0.9


# -- dispatch and errors ------------------------------------------------------------------------


def test_token_docs_dispatch_to_the_text_path(shape_model, dense_model):
    doc, _ = doc_and_tokens(seed=9)
    assert explain_prediction(shape_model, doc).description == eli5.compat.text.DESCRIPTION_KERAS_TEXT
    expl = explain_prediction(dense_model, np.zeros((1, 10), np.float32))
    assert "not supported" in expl.error and "image" in expl.error and "tokens" in expl.error


def test_integer_input_without_text_layers_is_not_supported():
    inp = keras.Input((LENGTH,), dtype="int32")
    model = keras.Model(inp, L.Dense(2)(L.Lambda(lambda x: keras.ops.cast(x, "float32"))(inp)))
    assert "not supported" in explain_prediction(model, np.zeros((1, LENGTH), np.int32)).error
    with pytest.raises(ValueError, match="Could not find a suitable target layer"):
        explain_prediction(model, np.zeros((1, LENGTH), np.int32), tokens=["a"] * LENGTH)


@pytest.mark.parametrize(
    "kwargs,error,match",
    [
        (dict(tokens=["a"] * 11), ValueError, "tokens has 11 tokens, but the document has 12"),
        (dict(tokens=[["a"] * 12] * 2), ValueError, "tokens has a batch of 2"),
        (dict(tokens=list(range(12))), TypeError, "tokens must hold str"),
        (dict(tokens=[]), ValueError, "tokens is empty"),
        (dict(tokens="a b c"), TypeError, "tokens must be a sequence of str"),
        (dict(tokens=["a"] * 12, pad_value=0, pad_token="a"), ValueError, "pad_value .* or pad_token"),
        (dict(tokens=["a"] * 12, pad_value="0"), TypeError, "pad_value must be an int"),
        (dict(tokens=["a"] * 12, pad_value=0.0), TypeError, "pad_value must be an int"),
        (dict(tokens=["a"] * 12, pad_token=0), TypeError, "pad_token must be a str"),
        (dict(pad_token="<pad>"), ValueError, "pad_token='<pad>' needs tokens"),
        (dict(interpolation_kind="spline"), ValueError, "interpolation_kind"),
        (dict(relu="no"), TypeError, "relu must be a bool"),
        (dict(counterfactual=1), TypeError, "counterfactual must be a bool"),
        (dict(layer="dense"), ValueError, "'dense'.*not a sequence"),
        (dict(targets=[3]), ValueError, r"range \[0, 3\)"),
    ],
)
def test_errors_name_the_argument(shape_model, kwargs, error, match):
    doc, _ = doc_and_tokens(seed=10)
    with pytest.raises(error, match=match):
        explain_prediction(shape_model, doc, **kwargs)


def test_doc_errors(shape_model, seq_model):
    with pytest.raises(ValueError, match="one document.*batch of 2.*text_explanations"):
        explain_prediction(shape_model, np.zeros((2, LENGTH), np.int32), tokens=["a"] * LENGTH)
    with pytest.raises(ValueError, match="doc has shape"):
        explain_prediction(shape_model, np.zeros((1, 5), np.int32), tokens=["a"] * 5)
    with pytest.raises(ValueError, match="image= is for image models"):
        explain_prediction(shape_model, np.zeros((1, LENGTH), np.int32), tokens=["a"] * LENGTH, image=object())
    with pytest.raises(ValueError, match="interpolation_kind='cubic' applies to text models only"):
        explain_prediction(seq_model, np.zeros((1, 12, 12, 3), np.float32), interpolation_kind="cubic")


# -- show_prediction ------------------------------------------------------------------------------


def test_show_prediction_returns_html(shape_model):
    from IPython.display import HTML

    doc, tokens = doc_and_tokens(seed=11)
    tokens[3] = "<script>"
    expl = explain_prediction(shape_model, doc, tokens=tokens, targets=[0, 1])
    shown = eli5.show_prediction(shape_model, doc, tokens=tokens, targets=[0, 1], target_names=["neg", "pos", "x"])
    assert isinstance(shown, HTML) and 'data-kind="text"' in shown.data
    docs = [target.weighted_spans.docs_weighted_spans[0] for target in expl.targets]
    weight_range = max(max(abs(w) for _, _, w in d.spans) for d in docs)  # shared by the targets
    for d in docs:  # each target's highlighted document, by format_as_html's text renderer
        assert eli5.formatters.text_html.render_weighted_spans(d, weight_range) in shown.data
    assert "&lt;script&gt;" in shown.data and "<script>" not in shown.data
    assert ">neg</div>" in shown.data and ">pos</div>" in shown.data
    without_tokens = eli5.show_prediction(shape_model, doc)
    expected = eli5.format_as_html(explain_prediction(shape_model, doc), show=WEIGHTS, force_weights=False)
    assert isinstance(without_tokens, HTML) and without_tokens.data == expected


def test_vocabulary_is_consistent():
    assert WORDS[0] == "<pad>" and all(WORDS[i] in ("good", "great", "fine") for i in POSITIVE)
    assert all(WORDS[i] in ("bad", "awful", "poor") for i in NEGATIVE)
