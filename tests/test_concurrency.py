"""One model, one cached explainer, many threads: no call sees another call's state.

Every map computed concurrently must equal its single-threaded twin, user targets
must come back unchanged, and the explainer cache must key on option values.
"""
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import eli5_keras as eli5
from eli5_keras.explain import get_explainer
from eli5_keras.targets import ClassTarget, NegatedTarget, OutputTarget, RegressionTarget

from helpers import models
from helpers.data import images


def _jobs(shared_top2):
    """(method, kwargs) pairs of different targets, batch sizes and methods; several
    use one shared ClassTarget object with different numbers of inputs."""
    jobs = []
    for i in range(24):
        n = 1 + i % 4
        x = images(n, seed=100 + i)
        kind = i % 6
        if kind == 0:
            jobs.append(("gradcam", dict(inputs=x, targets=i % 5)))
        elif kind == 1:
            jobs.append(("gradcam", dict(inputs=x, targets=shared_top2)))
        elif kind == 2:
            jobs.append(("gradcam", dict(inputs=x, targets=np.arange(n) % 5, counterfactual=True)))
        elif kind == 3:
            jobs.append(("occlusion", dict(inputs=x, targets=shared_top2, window=4, stride=4)))
        elif kind == 4:
            jobs.append(("saliency", dict(inputs=x, top_k=3)))
        else:
            jobs.append(("integrated_gradients", dict(inputs=x, targets=(i + 1) % 5, steps=8)))
    return jobs


def _run(model, job):
    method, kwargs = job
    result = eli5.explain(model, method=method, batch_size=5, **kwargs)
    return result.maps, result.targets, result.scores


def check_threads_match(model, jobs, alone):
    """``jobs`` run on ``model`` by 8 threads at once give the single-threaded results
    ``alone``."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        together = list(pool.map(lambda job: _run(model, job), jobs))
    for (maps, labels, scores), (m, c, s) in zip(alone, together):
        np.testing.assert_array_equal(c, labels)
        np.testing.assert_allclose(m, maps, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(s, scores, rtol=1e-5, atol=1e-6)


def test_threads_share_one_model_and_explainer():
    # the test's own model: its explainers see only the kinds of target used here
    seq_model = models.seq_model()
    shared = ClassTarget(top_k=2)
    jobs = _jobs(shared)
    alone = [_run(seq_model, job) for job in jobs]
    for _ in range(2):
        check_threads_match(seq_model, jobs, alone)
    # The shared target was only read: it resolves nothing of its own.
    assert shared.top_k == 2 and shared.classes is None
    for n in range(1, 5):  # the numbers of inputs the jobs bound it for
        with pytest.raises(RuntimeError, match="before bind"):
            shared.encode(n)
    # One graph per kind of target, traced once each, whatever the threads did.
    assert get_explainer(seq_model, "gradcam", None).trace_count == 2  # one class, top-2
    assert get_explainer(seq_model, "gradcam", None, counterfactual=True).trace_count == 1


def test_bind_returns_a_bound_copy():
    target = ClassTarget([1, 0])
    bound = target.bind([(None, 3)], 2)
    assert bound is not target
    with pytest.raises(RuntimeError, match="before bind"):
        target.encode(2)
    np.testing.assert_array_equal(bound.encode(2), [[1], [0]])
    inner = RegressionTarget(unit=1)
    wrapped = OutputTarget(1, inner)
    assert inner.output_index == 0  # the user's target keeps its own output
    bound = NegatedTarget(wrapped).bind([(None, 3), (None, 4)], 2)
    assert bound.inner.inner.output_index == 1 and wrapped.inner.output_index == 1


def test_explainer_key_is_option_values(seq_model):
    plain = get_explainer(seq_model, "gradcam", None)
    spelled = get_explainer(
        seq_model, "gradcam", None, use_logits=True, relu=True, normalize=True, resize=True, counterfactual=False
    )
    assert spelled is plain
    assert get_explainer(seq_model, "gradcam", None, resize=False) is not plain
    # A signed method's defaults are no ReLU and no normalisation: spelling them finds it too.
    ig = get_explainer(seq_model, "integrated_gradients", None)
    assert get_explainer(seq_model, "integrated_gradients", None, relu=False, normalize=False, input_index=0) is ig


def test_threads_share_a_model_whose_custom_layer_calls_are_intercepted():
    """Guided backprop and DeconvNet reroute the sub-layer calls of a custom layer through
    a per-call copy: threads tracing them at once, next to ordinary methods on the same
    model, each get their single-threaded numbers, and the layer is left as it was."""
    model = models.grouped_conv_model()
    grouped = model.get_layer("grouped")
    attributes = dict(vars(grouped))
    jobs = [
        (method, dict(inputs=images(1 + i % 3, seed=200 + i), targets=i % 5))
        for i, method in enumerate(["guided_backprop", "deconvnet", "saliency", "gradcam"] * 3)
    ]
    twin = models.grouped_conv_model()  # the same weights, its own explainer cache
    alone = [_run(twin, job) for job in jobs]
    check_threads_match(model, jobs, alone)
    assert all(vars(grouped)[k] is v for k, v in attributes.items()) and vars(grouped).keys() == attributes.keys()
