"""eli5_keras.evaluate: every (method, metric) the same numbers as the metric called on
its own, summaries against numpy, maps given never recomputed, and its checks."""
import json
import sys

import numpy as np
import pytest

import eli5_keras
from eli5_keras import evaluation, metrics

from helpers.data import CHANNELS, SIZE


def images(n=5, seed=0):
    return np.random.default_rng(seed).uniform(size=(n, SIZE, SIZE, CHANNELS)).astype(np.float32)


def object_masks(n=5):
    masks = np.zeros((n, SIZE, SIZE), bool)
    masks[:, 2:7, 3:9] = True
    return masks


MAP_METRICS = [name for name, spec in evaluation.METRICS.items() if not spec.needs_method]
FAST = {"deletion": {"steps": 6}, "insertion": {"steps": 6}, "mufidelity": {"samples": 12, "grid": 3}}


@pytest.fixture(scope="module")
def evaluated(seq_model):
    x, masks = images(), object_masks()
    ev = eli5_keras.evaluate(seq_model, x, ["gradcam", "saliency"], MAP_METRICS, masks=masks,
                             batch_size=8, metric_options=FAST)
    return ev, x, masks


def test_every_score_is_the_metric_called_on_its_own(seq_model, evaluated):
    ev, x, masks = evaluated
    assert ev.methods == ["gradcam", "saliency"] and ev.metrics == MAP_METRICS
    for method in ev.methods:
        result = eli5_keras.explain(seq_model, x, method=method)
        np.testing.assert_allclose(result.maps, ev.results[method].maps)
        first = result.maps[:, 0]
        want = {
            "deletion": metrics.deletion(seq_model, x, result.maps, result.targets, steps=6)[:, 0],
            "insertion": metrics.insertion(seq_model, x, first, steps=6),
            "mufidelity": metrics.mufidelity(seq_model, x, first, samples=12, grid=3),
            "pointing_game": metrics.pointing_hits(first, masks),
            "energy_pointing_game": metrics.energy_pointing_game(first, masks),
            "relevance_mass_accuracy": metrics.relevance_mass_accuracy(first, masks),
            "relevance_rank_accuracy": metrics.relevance_rank_accuracy(first, masks),
            "sparseness": metrics.sparseness(first),
            "complexity": metrics.complexity(first),
        }
        for metric, values in want.items():
            got = ev.scores[method][metric]
            assert got.shape == (5,) and got.dtype == np.float64
            np.testing.assert_allclose(got, np.asarray(values, np.float64), rtol=1e-6, equal_nan=True)


def test_summaries_are_the_mean_and_normal_interval(evaluated):
    ev = evaluated[0]
    for method, row in ev.summary.items():
        for metric, summary in row.items():
            values = ev.scores[method][metric]
            values = values[np.isfinite(values)]
            assert summary.n == values.size and summary.nan == 5 - values.size
            assert summary.mean == pytest.approx(values.mean())
            half = 1.96 * np.std(values, ddof=1) / np.sqrt(values.size)
            assert summary.half_width == pytest.approx(half)
            assert (summary.low, summary.high) == pytest.approx((values.mean() - half, values.mean() + half))


def test_nan_scores_are_counted_apart():
    scores = np.array([0.5, np.nan, 0.25, 1.0])
    summary = evaluation.MetricSummary.of(scores)
    assert (summary.n, summary.nan) == (3, 1)
    assert summary.mean == pytest.approx(np.nanmean(scores))
    assert summary.half_width == pytest.approx(1.96 * np.nanstd(scores, ddof=1) / np.sqrt(3))
    single = evaluation.MetricSummary.of(np.array([0.5]))
    assert single.mean == 0.5 and np.isnan(single.half_width)
    assert np.isnan(evaluation.MetricSummary.of(np.array([np.nan])).mean)


def test_table_dict_and_json(evaluated):
    ev = evaluated[0]
    text = str(ev)
    lines = text.splitlines()
    assert lines[0].split()[0] == "method" and "deletion ↓" in lines[0] and "insertion ↑" in lines[0]
    gradcam = ev.summary["gradcam"]["deletion"]
    assert lines[2].startswith("gradcam") and f"{gradcam.mean:.4f} ± {gradcam.half_width:.4f}" in lines[2]
    assert "1.96" in lines[-1] and repr(ev).endswith(text)
    plain = ev.to_dict()
    again = json.loads(json.dumps(plain, allow_nan=False))
    assert again["methods"] == ev.methods and again["metrics"] == ev.metrics
    np.testing.assert_allclose(again["scores"]["saliency"]["insertion"], ev.scores["saliency"]["insertion"])
    assert again["summary"]["gradcam"]["deletion"]["mean"] == pytest.approx(gradcam.mean)
    assert again["higher_is_better"]["deletion"] is False


def test_nan_is_none_in_the_dict_and_marked_in_the_table(seq_model):
    x = images(3)
    flat = np.ones((3, SIZE, SIZE), np.float32)
    flat[0, 0, 0] = 2.0
    flat[1] = 0.0  # no relevance at all: sparseness and complexity undefined
    ev = eli5_keras.evaluate(seq_model, x, maps={"flat": flat}, metrics=["sparseness", "complexity"])
    assert ev.to_dict()["scores"]["flat"]["sparseness"][1] is None
    assert "(n=2)" in ev.table()
    json.dumps(ev.to_dict(), allow_nan=False)


def test_pandas_summary_and_per_input(evaluated):
    import pandas  # the test extra installs it

    ev = evaluated[0]
    frame = ev.to_pandas()
    assert isinstance(frame, pandas.DataFrame) and len(frame) == 2 * len(ev.metrics)
    row = frame[(frame.method == "saliency") & (frame.metric == "complexity")].iloc[0]
    assert row["mean"] == pytest.approx(ev.summary["saliency"]["complexity"].mean)
    long = ev.to_pandas(per_input=True)
    assert len(long) == 2 * len(ev.metrics) * 5
    picked = long[(long.method == "gradcam") & (long.metric == "deletion")].sort_values("input")
    np.testing.assert_allclose(picked.score, ev.scores["gradcam"]["deletion"])


def test_to_pandas_without_pandas_says_how_to_install(evaluated, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match="pip install pandas"):
        evaluated[0].to_pandas()


def test_maps_given_are_scored_without_explaining(seq_model, monkeypatch):
    x = images(4)
    result = eli5_keras.explain(seq_model, x, method="gradcam", top_k=2)
    array = np.random.default_rng(3).normal(size=(4, SIZE, SIZE)).astype(np.float32)

    def refuse(*args, **kwargs):
        raise AssertionError("explain must not run for maps given")

    monkeypatch.setattr(evaluation, "explain", refuse)
    monkeypatch.setattr(eli5_keras, "explain", refuse)
    ev = eli5_keras.evaluate(seq_model, x, maps={"cam": result, "noise": array}, metrics=["deletion", "sparseness"],
                             metric_options={"deletion": {"steps": 4}})
    assert ev.methods == ["cam", "noise"] and ev.results == {}
    assert ev.scores["cam"]["deletion"].shape == (4, 2)
    np.testing.assert_allclose(ev.scores["cam"]["deletion"],
                               metrics.deletion(seq_model, x, result.maps, result.targets, steps=4), rtol=1e-6)
    np.testing.assert_allclose(ev.scores["cam"]["sparseness"], metrics.sparseness(result.maps, per_target=True))
    np.testing.assert_allclose(ev.scores["noise"]["deletion"], metrics.deletion(seq_model, x, array, steps=4),
                               rtol=1e-6)
    summary = ev.summary["cam"]["deletion"]
    assert summary.n == 8 and summary.mean == pytest.approx(ev.scores["cam"]["deletion"].mean())


def test_targets_and_top_k_reach_the_metrics(seq_model):
    x = images(3)
    ev = eli5_keras.evaluate(seq_model, x, "saliency", "deletion", targets=[1, 2, 0],
                             metric_options={"deletion": {"steps": 3}})
    result = eli5_keras.explain(seq_model, x, method="saliency", targets=[1, 2, 0])
    np.testing.assert_allclose(ev.scores["saliency"]["deletion"],
                               metrics.deletion(seq_model, x, result.maps[:, 0], [1, 2, 0], steps=3), rtol=1e-6)
    top = eli5_keras.evaluate(seq_model, x, "saliency", "deletion", top_k=2, metric_options={"deletion": {"steps": 3}})
    assert top.scores["saliency"]["deletion"].shape == (3, 2)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(methods=["gradcam"], metrics=["pointing_game", "deletion"]), ValueError, r"\['pointing_game'\].*masks"),
        (dict(methods=["gradcam"], metrics=["accuracy"]), ValueError, "unknown metrics.*'accuracy'.*deletion"),
        (dict(methods=["gradcam"], metrics=["deletion", "deletion"]), ValueError, "repeat"),
        (dict(methods=["nope"]), ValueError, "nope"),
        (dict(), ValueError, "neither"),
        (dict(methods=["gradcam"], metrics=[]), ValueError, "at least one"),
        (dict(methods=["gradcam"], metrics=[3]), TypeError, "metrics must be"),
        (dict(methods=["gradcam"], maps={"gradcam": np.zeros((2, SIZE, SIZE))}), ValueError, "also methods"),
        (dict(maps=[np.zeros((2, SIZE, SIZE))]), TypeError, "maps must be a dict"),
        (dict(maps={"m": np.zeros((2, SIZE))}), ValueError, r"maps\['m'\] must have shape"),
        (dict(methods="gradcam", metric_options={"mufidelity": {}}), ValueError, "not among metrics"),
        (dict(methods="gradcam", batch_size=0), ValueError, "batch_size"),
        (dict(methods="gradcam", maps={"m": np.zeros((2, SIZE))}), ValueError, r"maps\['m'\]"),
    ],
)
def test_refuses_before_any_work(seq_model, monkeypatch, kwargs, error, message):
    monkeypatch.setattr(evaluation, "explain", lambda *a, **k: pytest.fail("explain ran before the checks"))
    with pytest.raises(error, match=message):
        eli5_keras.evaluate(seq_model, images(2), **kwargs)


def test_metric_options_that_a_metric_rejects_name_themselves(seq_model):
    with pytest.raises(TypeError, match="pointing_game takes no options"):
        eli5_keras.evaluate(seq_model, images(2), maps={"m": np.zeros((2, SIZE, SIZE))}, metrics="pointing_game",
                            masks=object_masks(2), metric_options={"pointing_game": {"margin": 1}})


def test_randomisation_checks_rerun_each_method(seq_model):
    x = images(3)
    ev = eli5_keras.evaluate(seq_model, x, ["saliency"], ["random_logit", "model_parameter_randomisation"],
                             metric_options={"random_logit": {"seed": 3},
                                             "model_parameter_randomisation": {"similarity": "ssim"}})
    np.testing.assert_allclose(ev.scores["saliency"]["random_logit"],
                               metrics.random_logit(seq_model, x, "saliency", seed=3), rtol=1e-6)
    cascade = metrics.model_parameter_randomisation(seq_model, x, "saliency", similarity="ssim")
    np.testing.assert_allclose(ev.scores["saliency"]["model_parameter_randomisation"], cascade.scores["ssim"][-1],
                               rtol=1e-6)
    assert ev.higher_is_better["random_logit"] is False


def test_randomisation_checks_refuse_maps_given(seq_model, monkeypatch):
    monkeypatch.setattr(evaluation, "explain", lambda *a, **k: pytest.fail("explain ran before the checks"))
    with pytest.raises(ValueError, match=r"\['random_logit'\] re-run the method.*\['m'\]"):
        eli5_keras.evaluate(seq_model, images(2), ["gradcam"], ["deletion", "random_logit"],
                            maps={"m": np.zeros((2, SIZE, SIZE))})
