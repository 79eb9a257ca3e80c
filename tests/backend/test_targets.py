"""encode_targets (user targets -> (N, T) code) and its decoding in the graph."""
import numpy as np
import pytest
import tensorflow as tf

from eli5_keras.backend.targets import decode_targets, encode_targets, gather_scores


def check_code(code, expected):
    assert isinstance(code, np.ndarray)
    assert code.dtype == np.int32
    np.testing.assert_array_equal(code, np.asarray(expected))


def test_none_is_the_top_class():
    check_code(encode_targets(None, None, 3, 5), [[-1], [-1], [-1]])


@pytest.mark.parametrize("target", [2, np.int64(2), np.array(2)])
def test_int_is_that_class_for_every_input(target):
    check_code(encode_targets(target, None, 3, 5), [[2], [2], [2]])


def test_one_class_per_input():
    check_code(encode_targets([4, 0, 3], None, 3, 5), [[4], [0], [3]])
    check_code(encode_targets(np.array([1, 2], np.uint8), None, 2, 5), [[1], [2]])
    check_code(encode_targets(tf.constant([1, 2]), None, 2, 5), [[1], [2]])


def test_length_one_sequence_broadcasts():
    check_code(encode_targets([3], None, 4, 5), [[3]] * 4)


def test_2d_targets():
    check_code(encode_targets([[0, 1], [2, 3]], None, 2, 5), [[0, 1], [2, 3]])
    check_code(encode_targets([[4, 0, 2]], None, 3, 5), [[4, 0, 2]] * 3)


def test_top_k():
    check_code(encode_targets(None, 3, 2, 5), [[-1, -2, -3]] * 2)
    check_code(encode_targets(None, 5, 1, 5), [[-1, -2, -3, -4, -5]])


def test_targets_and_top_k_together():
    with pytest.raises(ValueError, match="either targets or top_k"):
        encode_targets([1], 2, 1, 5)


@pytest.mark.parametrize(
    "top_k, error, message",
    [
        (0, ValueError, "top_k must be an int >= 1; got 0"),
        (-1, ValueError, "top_k must be an int >= 1; got -1"),
        (1.5, TypeError, "top_k must be an int; got float: 1.5"),
        (True, TypeError, "top_k must be an int; got bool: True"),
        ("2", TypeError, "top_k must be an int; got str: '2'"),
    ],
)
def test_bad_top_k(top_k, error, message):
    with pytest.raises(error, match=message):
        encode_targets(None, top_k, 1, 5)


def test_top_k_larger_than_classes():
    with pytest.raises(ValueError, match="top_k=6 exceeds the model's 5 classes"):
        encode_targets(None, 6, 1, 5)


@pytest.mark.parametrize("targets, bad", [(5, 5), ([0, -1], -1), ([[1, 7]], 7), (-2, -2)])
def test_out_of_range_names_the_range(targets, bad):
    with pytest.raises(ValueError, match=rf"\[0, 5\).*{bad}"):
        encode_targets(targets, None, 2, 5)


@pytest.mark.parametrize("targets", [1.0, [0.0, 1.0], np.array([[1.5]]), ["a"], "1", [None]])
def test_non_integer_targets(targets):
    with pytest.raises(TypeError, match="integer"):
        encode_targets(targets, None, 1, 5)


@pytest.mark.parametrize("targets", [True, False, [True], np.array([False, True])])
def test_bool_targets(targets):
    with pytest.raises(TypeError):
        encode_targets(targets, None, 2, 5)


def test_3d_targets():
    with pytest.raises(ValueError, match="at most 2 dimensions"):
        encode_targets(np.zeros((1, 1, 1), int), None, 1, 5)


@pytest.mark.parametrize("targets", [[1, 2, 3], np.zeros((3, 2), int), np.zeros((2, 0), int)])
def test_wrong_length(targets):
    with pytest.raises(ValueError, match="targets"):
        encode_targets(targets, None, 2, 5)


def test_decode_and_gather_against_numpy():
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(3, 6)).astype(np.float32)
    code = np.array([[-1, 4, -3], [0, -2, -1], [5, 5, -3]], np.int32)  # ranks up to T
    order = np.argsort(-scores, axis=1)
    expected = np.where(code >= 0, code, np.take_along_axis(order, np.clip(-code - 1, 0, 5), axis=1))
    classes = decode_targets(tf.constant(code), tf.constant(scores)).numpy()
    np.testing.assert_array_equal(classes, expected)
    np.testing.assert_array_equal(
        gather_scores(tf.constant(scores), tf.constant(classes)).numpy(),
        np.take_along_axis(scores, expected, axis=1),
    )
