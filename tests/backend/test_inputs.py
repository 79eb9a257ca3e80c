"""prepare_inputs: user inputs checked and converted against the model's inputs."""
import keras
import numpy as np
import pytest
import tensorflow as tf

import eli5_keras as eli5
from eli5_keras.backend.inputs import model_input_shapes, prepare_inputs, spatial_input_index

from helpers.data import SIZE, images

L = keras.layers


def test_numpy_tensor_and_nested_list_are_the_same(seq_model):
    x = images(2)
    (from_numpy,) = prepare_inputs(seq_model, x)
    (from_tensor,) = prepare_inputs(seq_model, tf.constant(x))
    (from_list,) = prepare_inputs(seq_model, x.tolist())
    (from_list_of_one,) = prepare_inputs(seq_model, [x])
    for arr in (from_numpy, from_tensor, from_list, from_list_of_one):
        assert isinstance(arr, np.ndarray) and arr.dtype == np.float32 and arr.shape == x.shape
        np.testing.assert_array_equal(arr, x)


def test_float64_is_cast_to_the_model_dtype(seq_model):
    x = images(1).astype(np.float64)
    (arr,) = prepare_inputs(seq_model, x)
    assert arr.dtype == np.float32
    np.testing.assert_array_equal(arr, x.astype(np.float32))


def test_single_example_is_batched(seq_model):
    x = images(1)[0]
    (arr,) = prepare_inputs(seq_model, x)
    assert arr.shape == (1, SIZE, SIZE, 3)
    np.testing.assert_array_equal(arr[0], x)
    with pytest.raises(ValueError, match="doc has shape"):
        prepare_inputs(seq_model, x, name="doc", allow_unbatched=False)


@pytest.mark.parametrize("shape", [(2, 10, SIZE, 3), (2, SIZE, SIZE, 1), (2, SIZE, SIZE), (2, 1, SIZE, SIZE, 3)])
def test_wrong_shape_message_has_expected_and_got(seq_model, shape):
    with pytest.raises(ValueError) as info:
        prepare_inputs(seq_model, np.zeros(shape, np.float32))
    message = str(info.value)
    assert str((None, SIZE, SIZE, 3)) in message
    assert f"has shape {shape}" in message  # the shape as given, even when it lacks a batch axis


def test_wrong_shape_got_is_the_user_shape(seq_model):
    with pytest.raises(ValueError, match=r"inputs has shape \(2, 10, 12, 3\).*expects \(None, 12, 12, 3\)"):
        prepare_inputs(seq_model, np.zeros((2, 10, SIZE, 3)))


def test_free_dimensions_accept_any_size(variable_model):
    for size in (5, 17):
        (arr,) = prepare_inputs(variable_model, images(1, size=size))
        assert arr.shape == (1, size, size, 3)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values(seq_model, bad):
    x = images(2)
    x[1, 3, 4, 2] = bad
    with pytest.raises(ValueError, match="1 NaN or infinite"):
        prepare_inputs(seq_model, x)
    with pytest.raises(ValueError, match="NaN or infinite"):
        eli5.explain(seq_model, x)


def test_uint8_image_is_cast_and_explained_like_the_float_image(seq_model):
    rng = np.random.default_rng(0)
    x8 = rng.integers(0, 256, size=(2, SIZE, SIZE, 3), dtype=np.uint8)
    (arr,) = prepare_inputs(seq_model, x8)
    assert arr.dtype == np.float32
    np.testing.assert_array_equal(arr, x8.astype(np.float32))
    as_int = eli5.explain(seq_model, x8, top_k=2)
    as_float = eli5.explain(seq_model, x8.astype(np.float32), top_k=2)
    np.testing.assert_array_equal(as_int.targets, as_float.targets)
    np.testing.assert_allclose(as_int.maps, as_float.maps, rtol=1e-6, atol=1e-6)


def test_bool_input_is_cast(seq_model):
    (arr,) = prepare_inputs(seq_model, np.ones((1, SIZE, SIZE, 3), bool))
    assert arr.dtype == np.float32 and np.all(arr == 1.0)


def test_multi_input_as_list_and_dict(multi_input_model):
    x, v = images(2), np.ones((2, 4), np.float32)
    as_list = prepare_inputs(multi_input_model, [x, v])
    as_tuple = prepare_inputs(multi_input_model, (x, v))
    as_dict = prepare_inputs(multi_input_model, {"vector": v, "image": x})
    for arrays in (as_list, as_tuple, as_dict):
        assert len(arrays) == 2
        np.testing.assert_array_equal(arrays[0], x)
        np.testing.assert_array_equal(arrays[1], v)


def test_multi_input_single_example_is_batched(multi_input_model):
    x, v = images(1)[0], np.ones(4, np.float32)
    arrays = prepare_inputs(multi_input_model, [x, v])
    assert [a.shape for a in arrays] == [(1, SIZE, SIZE, 3), (1, 4)]


@pytest.mark.parametrize(
    "make",
    [
        lambda x, v: x,
        lambda x, v: [x],
        lambda x, v: [x, v, v],
        lambda x, v: {"image": x},
    ],
)
def test_multi_input_wrong_number_of_inputs(multi_input_model, make):
    x, v = images(2), np.ones((2, 4), np.float32)
    with pytest.raises(ValueError, match="2 inputs|missing entries"):
        prepare_inputs(multi_input_model, make(x, v))


def test_multi_input_unequal_batch_sizes(multi_input_model):
    with pytest.raises(ValueError, match=r"same batch size; got \[2, 3\]"):
        prepare_inputs(multi_input_model, [images(2), np.ones((3, 4), np.float32)])


def test_multi_input_label_names_the_input(multi_input_model):
    with pytest.raises(ValueError, match=r"inputs\[1\] has shape \(2, 5\)"):
        prepare_inputs(multi_input_model, [images(2), np.ones((2, 5), np.float32)])


def test_single_input_dict(seq_model):
    (arr,) = prepare_inputs(seq_model, {"anything": images(1)})
    assert arr.shape == (1, SIZE, SIZE, 3)
    with pytest.raises(ValueError, match="one input"):
        prepare_inputs(seq_model, {"a": images(1), "b": images(1)})


def test_empty_batch(seq_model):
    with pytest.raises(ValueError, match="empty batch"):
        prepare_inputs(seq_model, np.zeros((0, SIZE, SIZE, 3), np.float32))


@pytest.mark.parametrize(
    "bad",
    [
        np.full((1, SIZE, SIZE, 3), "a"),
        np.empty((1, SIZE, SIZE, 3), dtype=object),
        [[["a"]]],
    ],
)
def test_non_numeric(seq_model, bad):
    with pytest.raises(TypeError, match="numeric"):
        prepare_inputs(seq_model, bad)


def test_ragged_list_is_a_type_error(seq_model):
    with pytest.raises(TypeError, match="array-like"):
        prepare_inputs(seq_model, [[1.0, 2.0], [3.0]])


@pytest.fixture(scope="module")
def token_model():
    inp = keras.Input((6,), dtype="int32")
    out = L.Dense(2)(L.Flatten()(L.Embedding(10, 3)(inp)))
    return keras.Model(inp, out)


def test_integer_model_input_stays_integer(token_model):
    (arr,) = prepare_inputs(token_model, np.arange(6, dtype=np.int64))
    assert arr.dtype == np.int32 and arr.shape == (1, 6)
    (arr,) = prepare_inputs(token_model, np.arange(6, dtype=np.float64))
    assert arr.dtype == np.int32
    np.testing.assert_array_equal(arr[0], np.arange(6))
    with pytest.raises(ValueError, match="fractional"):
        prepare_inputs(token_model, np.full(6, 1.5))


def test_model_input_shapes_and_spatial_input_index(multi_input_model):
    assert model_input_shapes(multi_input_model) == [(None, SIZE, SIZE, 3), (None, 4)]
    assert spatial_input_index(multi_input_model, 4) == 0
    assert spatial_input_index(multi_input_model, 2) == 1
    with pytest.raises(ValueError, match="1 spatial axes.*rank 3"):
        spatial_input_index(multi_input_model, 3)
