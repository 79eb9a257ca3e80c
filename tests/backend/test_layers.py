"""Choosing the layer to explain: automatically, by index, name, path or instance."""
import keras
import numpy as np
import pytest

from eli5_keras.backend.layers import (
    auto_layer,
    iter_paths,
    output_shape,
    path_name,
    resolve_layer,
)

L = keras.layers


@pytest.fixture(scope="module")
def twin_model():
    """Two nested backbones, 'left' and 'right', each with a layer named 'conv'."""
    keras.utils.set_random_seed(0)

    def backbone(name):
        inp = keras.Input((8, 8, 2))
        return keras.Model(inp, L.Conv2D(3, 3, name="conv")(inp), name=name)

    inp = keras.Input((8, 8, 2))
    a = L.GlobalAveragePooling2D(name="gap_a")(backbone("left")(inp))
    b = L.GlobalAveragePooling2D(name="gap_b")(backbone("right")(inp))
    out = L.Dense(2, activation="softmax", name="head")(L.Concatenate()([a, b]))
    return keras.Model(inp, out, name="twin_model")


def test_auto_skips_pooling_dense_and_containers(seq_model, func_model, nested_model):
    assert auto_layer(seq_model) == (seq_model.get_layer("conv2"),)  # not gap, not dense
    assert auto_layer(func_model) == (func_model.get_layer("f_conv2"),)  # not the max pooling
    backbone = nested_model.get_layer("backbone")
    assert auto_layer(nested_model) == (backbone, backbone.get_layer("b_conv2"))  # descended
    assert resolve_layer(nested_model, None) == auto_layer(nested_model)


def test_auto_skips_layers_with_a_1x1_grid():
    inp = keras.Input((6, 6, 1))
    h = L.Conv2D(2, 3, name="grid")(inp)  # 4x4
    h = L.Conv2D(2, 4, name="point")(h)  # 1x1
    model = keras.Model(inp, L.Dense(2)(L.Flatten()(h)))
    assert path_name(auto_layer(model)) == "grid"


@pytest.mark.parametrize(
    "moving", [lambda: L.ZeroPadding2D(1), lambda: L.Cropping2D(1), lambda: L.Dropout(0.5), lambda: L.Identity()]
)
def test_auto_skips_layers_that_only_pad_crop_or_pass_pixels(moving):
    inp = keras.Input((6, 6, 1))
    h = moving()(L.Conv2D(2, 3, name="grid")(inp))
    model = keras.Model(inp, L.Dense(2)(L.GlobalAveragePooling2D()(h)))
    assert path_name(auto_layer(model)) == "grid"


def test_auto_on_a_small_mobilenet_is_not_a_padding_layer():
    """At 32 px the last spatial output before the 1x1 grids is block 13's padding."""
    model = keras.applications.MobileNetV2(weights=None, input_shape=(32, 32, 3))
    chosen = auto_layer(model)[-1]
    assert not isinstance(chosen, L.ZeroPadding2D)
    assert chosen.name == "block_13_expand_relu" and output_shape(chosen)[1:3] == (2, 2)


def test_auto_without_spatial_layer(dense_model):
    with pytest.raises(ValueError, match="suitable target layer.*dense_model"):
        auto_layer(dense_model)


def test_iter_paths_expands_nested_models_after_the_container(nested_model):
    names = [path_name(p) for p in iter_paths(nested_model)]
    assert names == [
        nested_model.layers[0].name,  # the input layer
        "backbone",
        f"backbone/{nested_model.get_layer('backbone').layers[0].name}",
        "backbone/b_conv1",
        "backbone/b_conv2",
        "n_gap",
        "n_dense",
    ]


def test_output_shape(seq_model):
    assert output_shape(seq_model.get_layer("conv2")) == (None, 6, 6, 6)
    assert output_shape(seq_model.get_layer("dense")) == (None, 5)
    assert output_shape(L.Dense(2)) is None  # never called


def test_by_index(seq_model):
    assert resolve_layer(seq_model, 1) == (seq_model.layers[1],)
    assert resolve_layer(seq_model, -1) == (seq_model.get_layer("dense"),)
    assert resolve_layer(seq_model, np.int64(0)) == (seq_model.layers[0],)


@pytest.mark.parametrize("index", [4, 100, -5])
def test_index_out_of_range(seq_model, index):
    with pytest.raises(ValueError, match=rf"layer index {index} is out of range.*-4\.\.3"):
        resolve_layer(seq_model, index)


@pytest.mark.parametrize("layer", [2.5, True, object(), b"conv1", [], ["conv1"]])
def test_wrong_type(seq_model, layer):
    with pytest.raises(TypeError, match="Invalid layer"):
        resolve_layer(seq_model, layer)


def test_by_name_top_level_and_nested(nested_model):
    backbone = nested_model.get_layer("backbone")
    assert resolve_layer(nested_model, "n_gap") == (nested_model.get_layer("n_gap"),)
    assert resolve_layer(nested_model, "backbone") == (backbone,)
    assert resolve_layer(nested_model, "b_conv1") == (backbone, backbone.get_layer("b_conv1"))


def test_unknown_name(nested_model):
    with pytest.raises(ValueError, match="No such layer: 'nope'.*'backbone'"):
        resolve_layer(nested_model, "nope")


def test_ambiguous_name(twin_model):
    with pytest.raises(ValueError, match="ambiguous") as info:
        resolve_layer(twin_model, "conv")
    assert "left/conv" in str(info.value) and "right/conv" in str(info.value)


def test_path_resolves_each_part(twin_model):
    right = twin_model.get_layer("right")
    assert resolve_layer(twin_model, "right/conv") == (right, right.get_layer("conv"))
    assert path_name(resolve_layer(twin_model, "left/conv")) == "left/conv"


def test_path_with_a_bad_part_names_the_available_layers(nested_model):
    with pytest.raises(ValueError, match="no layer named 'nope' in 'backbone'") as info:
        resolve_layer(nested_model, "backbone/nope")
    assert "b_conv1" in str(info.value) and "b_conv2" in str(info.value)
    with pytest.raises(ValueError, match="no layer named 'nope' in 'nested_model'") as info:
        resolve_layer(nested_model, "nope/b_conv1")
    assert "backbone" in str(info.value) and "n_dense" in str(info.value)
    with pytest.raises(ValueError, match="'n_gap' is neither a model nor a custom layer"):
        resolve_layer(nested_model, "n_gap/x")


def test_top_level_name_wins_over_nested_one():
    inp = keras.Input((6, 6, 1))
    inner = keras.Model(inp, L.Conv2D(2, 3, name="same")(inp), name="inner")
    outer_in = keras.Input((6, 6, 1))
    top = L.Conv2D(2, 3, padding="same", name="same")
    model = keras.Model(outer_in, L.Flatten()(inner(top(outer_in))))
    assert resolve_layer(model, "same") == (top,)
    assert resolve_layer(model, "inner/same") == (inner, inner.get_layer("same"))


def test_instance_from_a_nested_model_gets_its_full_path(nested_model):
    backbone = nested_model.get_layer("backbone")
    conv = backbone.get_layer("b_conv2")
    assert resolve_layer(nested_model, conv) == (backbone, conv)
    assert resolve_layer(nested_model, [backbone, conv]) == (backbone, conv)
    assert resolve_layer(nested_model, [conv]) == (backbone, conv)


def test_instance_not_in_the_model(seq_model, nested_model):
    with pytest.raises(ValueError, match="'conv1' is not part of model 'nested_model'"):
        resolve_layer(nested_model, seq_model.get_layer("conv1"))


def test_sequence_that_is_not_a_path(nested_model):
    conv = nested_model.get_layer("backbone").get_layer("b_conv2")
    with pytest.raises(ValueError, match="is not a path"):
        resolve_layer(nested_model, [nested_model.get_layer("n_gap"), conv])


def test_choosing_a_layer_changes_nothing(nested_model, twin_model):
    for model in (nested_model, twin_model):
        layers = list(model.layers)
        nested = {p[-1].name: list(p[-1].layers) for p in iter_paths(model) if isinstance(p[-1], keras.Model)}
        weights = [w.copy() for w in model.get_weights()]
        for spec in (None, 0, -1, "right/conv" if model is twin_model else "b_conv1", model.layers[1]):
            resolve_layer(model, spec)
        for spec in ("nope", "x/y", 99):
            with pytest.raises(ValueError):
                resolve_layer(model, spec)
        assert len(model.layers) == len(layers) and all(a is b for a, b in zip(model.layers, layers))
        for p in iter_paths(model):
            if isinstance(p[-1], keras.Model):
                assert list(p[-1].layers) == nested[p[-1].name]
        assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), weights))
