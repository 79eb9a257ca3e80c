"""The top eigenpair of batched symmetric PSD matrices (Eigen-CAM's first component).

Matrices are built from a chosen spectrum, ``G = V diag(lambda) V^T`` with a random
orthogonal ``V`` (float64, numpy), so the expected pair is known exactly: ``(lambda_1,
V[:, 0])``. Nothing from eli5_keras computes an expected value.
"""
import numpy as np
import pytest
import tensorflow as tf

from eli5_keras.methods import eigenpair
from eli5_keras.methods.eigenpair import exact_top_eigenpair, subspace_iteration, top_eigenpair


def with_spectrum(spectra, seed=0):
    """(B, C) eigenvalues (largest first) -> (B, C, C) float32 matrices and their
    (B, C) top eigenvectors (float64)."""
    rng = np.random.default_rng(seed)
    spectra = np.asarray(spectra, np.float64)
    q, _ = np.linalg.qr(rng.normal(size=spectra.shape + spectra.shape[-1:]))
    matrices = np.einsum("bij,bj,bkj->bik", q, spectra, q)
    return matrices.astype(np.float32), q[:, :, 0]


def decaying(size, ratio, count=4, scale=1.0):
    """``count`` spectra ``scale * ratio ** k``, k = 0..size-1."""
    return np.tile(scale * ratio ** np.arange(size, dtype=np.float64), (count, 1))


def flat_below_top(size, count=4):
    """lambda_1 = 1 and the rest spread over [0.5, 0.95]: the top vector is well
    separated (gap 0.05) but lambda_9 / lambda_1 ~ 0.95, so 5 block steps cannot find it."""
    rest = np.linspace(0.95, 0.5, size - 1)
    return np.tile(np.concatenate([[1.0], rest]), (count, 1))


def assert_same_pair(values, vectors, expected_values, expected_vectors, tol):
    values, vectors = np.asarray(values, np.float64), np.asarray(vectors, np.float64)
    np.testing.assert_allclose(values, expected_values, rtol=tol)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=-1), 1.0, rtol=1e-5)
    # the sign of an eigenvector is arbitrary
    aligned = vectors * np.sign(np.sum(vectors * expected_vectors, axis=-1, keepdims=True))
    np.testing.assert_allclose(aligned, expected_vectors, atol=tol)


@pytest.mark.parametrize("size", [32, 64, 100])
@pytest.mark.parametrize("ratio", [0.5, 0.7])
def test_subspace_iteration_converges_on_a_decaying_spectrum(size, ratio):
    # lambda_2 / lambda_1 = ratio (0.7: as close as a random-weight layer's), lambda_9 / lambda_1 = ratio^8
    spectra = decaying(size, ratio, scale=1e4)
    matrices, top = with_spectrum(spectra)
    values, vectors, converged = subspace_iteration(tf.constant(matrices))
    assert converged.numpy().all()
    assert_same_pair(values.numpy(), vectors.numpy(), spectra[:, 0], top, tol=5e-5)


def test_subspace_iteration_reports_what_it_could_not_find():
    matrices, top = with_spectrum(flat_below_top(64))
    values, vectors, converged = subspace_iteration(tf.constant(matrices))
    assert not converged.numpy().any()
    # and it really had not found the pair (the test is not over-cautious)
    aligned = np.abs(np.sum(vectors.numpy() * top, axis=-1))
    assert (aligned < 1 - 1e-4).all()


def test_top_eigenpair_repairs_only_the_matrices_that_failed(monkeypatch):
    good, good_top = with_spectrum(decaying(64, 0.7, count=3), seed=1)
    bad, bad_top = with_spectrum(flat_below_top(64, count=2), seed=2)
    order = [0, 3, 1, 4, 2]  # interleaved: failures at positions 1 and 3
    matrices = np.concatenate([good, bad])[order]
    expected = np.concatenate([good_top, bad_top])[order]
    expected_values = np.array([1.0, 1.0, 1.0, 1.0, 1.0])
    repaired = []

    def counting(stack):
        repaired.append(stack.shape[0])
        return exact_top_eigenpair(stack)

    monkeypatch.setattr(eigenpair, "exact_top_eigenpair", counting)
    values, vectors = top_eigenpair(tf.constant(matrices))
    assert repaired == [2]
    assert_same_pair(values.numpy(), vectors.numpy(), expected_values, expected, tol=2e-4)


def test_top_eigenpair_of_converged_matrices_never_calls_eigh(monkeypatch):
    matrices, top = with_spectrum(decaying(64, 0.7))
    monkeypatch.setattr(eigenpair, "exact_top_eigenpair", lambda m: pytest.fail("eigh was called"))
    values, vectors = top_eigenpair(tf.constant(matrices))
    assert_same_pair(values.numpy(), vectors.numpy(), np.ones(4), top, tol=5e-5)


@pytest.mark.parametrize("size", [3, 31])
def test_small_matrices_go_straight_to_eigh(size, monkeypatch):
    matrices, top = with_spectrum(flat_below_top(size))
    monkeypatch.setattr(eigenpair, "subspace_iteration", lambda s: pytest.fail("iterated"))
    values, vectors = top_eigenpair(tf.constant(matrices))
    assert_same_pair(values.numpy(), vectors.numpy(), np.ones(4), top, tol=1e-5)


def test_any_batch_shape_and_unknown_sizes():
    spectra = np.concatenate([decaying(40, 0.7, count=3), flat_below_top(40, count=3)])
    matrices, top = with_spectrum(spectra, seed=3)
    spec = tf.TensorSpec((None, None, None, None), tf.float32)
    compiled = tf.function(top_eigenpair, input_signature=[spec])
    values, vectors = compiled(tf.constant(matrices.reshape(2, 3, 40, 40)))
    assert values.shape == (2, 3) and vectors.shape == (2, 3, 40)
    assert_same_pair(values.numpy().ravel(), vectors.numpy().reshape(6, 40), spectra[:, 0], top, tol=2e-4)
    small, small_top = with_spectrum(decaying(5, 0.5, count=2))
    values, vectors = compiled(tf.constant(small[None]))
    assert_same_pair(values.numpy()[0], vectors.numpy()[0], np.ones(2), small_top, tol=1e-5)


def test_zero_and_rank_one_matrices():
    zero = np.zeros((64, 64), np.float32)
    u = np.random.default_rng(4).normal(size=64)
    u /= np.linalg.norm(u)
    rank_one = (7.0 * np.outer(u, u)).astype(np.float32)
    values, vectors = top_eigenpair(tf.constant(np.stack([zero, rank_one])))
    assert np.isfinite(vectors.numpy()).all()
    assert values.numpy()[0] == 0.0
    assert_same_pair(values.numpy()[1:], vectors.numpy()[1:], [7.0], u[None], tol=1e-5)


def test_float64_matrices_stay_float64():
    matrices, top = with_spectrum(decaying(48, 0.7))
    values, vectors = top_eigenpair(tf.constant(matrices.astype(np.float64)))
    assert vectors.dtype == tf.float64
    assert_same_pair(values.numpy(), vectors.numpy(), np.ones(4), top, tol=1e-5)
