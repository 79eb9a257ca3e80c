"""Reading attention probabilities with a per-call override of MultiHeadAttention
(:mod:`eli5_keras.backend.attention`): the probabilities equal direct calls with
``return_attention_scores=True``, reach layers inside KerasHub's encoder, leave nothing
patched, and threads sharing the model see only their own records."""
from concurrent.futures import ThreadPoolExecutor

import keras
import numpy as np
import tensorflow as tf

import eli5_keras as eli5
from eli5_keras.backend.attention import read_attention
from eli5_keras.backend.layers import attention_paths
from eli5_keras.backend.probe import ModelProbe
from eli5_keras.targets import as_target

from helpers.vit import block_attention, kerashub_by_hand, squares, vit


def _probe(model, n):
    target = as_target(None, None, 0).bind([tuple(o.shape) for o in model.outputs], n)
    return ModelProbe(model, target), target.encode(n)


def test_read_attention_equals_direct_calls_and_gradients_reach_them():
    model = vit(prefix=1, seed=9)
    x = squares(2, seed=9)[0]
    probe, data = _probe(model, 2)
    attention, grads, fwd = read_attention(probe, [tf.constant(x)], tf.constant(data), attention_paths(model), True)
    for mine, direct in zip(attention, block_attention(model, x)):
        np.testing.assert_allclose(mine.numpy(), direct, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(mine.numpy().sum(axis=-1), 1.0, rtol=1e-5)
    assert [g.shape for g in grads] == [(2, 1, 2, 17, 17)] * 2
    np.testing.assert_allclose(fwd.scores.numpy()[:, 0], model(x).numpy().max(axis=1), rtol=1e-5)


def test_inside_kerashub_nothing_is_patched_and_threads_are_independent(kerashub_vit):
    encoder = kerashub_vit.backbone.get_layer("vit_encoder")
    blocks = list(encoder.encoder_layers)
    before = [dict(vars(b)) for b in blocks] + [dict(vars(encoder))]
    call, mha_call = type(blocks[0]).call, keras.layers.MultiHeadAttention.call
    weights = [w.copy() for w in kerashub_vit.get_weights()]
    rng = np.random.default_rng(30)
    jobs = [
        (("attention_rollout", "transformer_attribution", "gradcam")[i % 3], rng.uniform(size=(1 + i % 2, 32, 32, 3)))
        for i in range(6)
    ]
    jobs = [(m, x.astype(np.float32)) for m, x in jobs]

    def run(job):
        return eli5.explain(kerashub_vit, job[1], job[0], targets=1, relu=False).maps

    alone = [run(job) for job in jobs]
    with ThreadPoolExecutor(max_workers=6) as pool:
        together = list(pool.map(run, jobs))
    for a, b in zip(alone, together):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)
    after = [dict(vars(b)) for b in blocks] + [dict(vars(encoder))]
    assert all(x.keys() == y.keys() and all(x[k] is y[k] for k in x) for x, y in zip(before, after))
    assert type(blocks[0]).call is call and keras.layers.MultiHeadAttention.call is mha_call
    assert all(np.array_equal(w, v) for w, v in zip(weights, kerashub_vit.get_weights()))
    x = jobs[0][1]
    np.testing.assert_allclose(kerashub_vit(x).numpy(), kerashub_by_hand(kerashub_vit, x, np.zeros(len(x), int))[-1],
                               rtol=1e-4, atol=1e-5)
