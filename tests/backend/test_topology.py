"""Keras graph topology on small real models: container kinds, walk order, producing
paths, what follows and what feeds a layer, sub-layers of custom layers."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from eli5_keras.backend.topology import (
    Step,
    activation_name,
    call_inference,
    container_kind,
    downstream,
    model_inputs,
    operations,
    predecessors,
    producing_path,
    run_graph,
    successors,
    tracked_sublayers,
    walk,
)

L = keras.layers


def names(paths):
    return ["/".join(op.name for op in path) for path in paths]


def steps(found):
    """``(layer name or "model output i", names of the stack)`` per step."""
    return [(step.name, [c.name for c in step.stack]) for step in found]


def relu_op(model):
    """The ``keras.ops.relu`` node of a functional model."""
    (op,) = [op for op in model.operations if not isinstance(op, L.Layer)]
    return op


# -- models ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sequential():
    return keras.Sequential(
        [keras.Input((8, 8, 3)), L.Conv2D(2, 3, name="c1"), L.ReLU(name="r"), L.GlobalAveragePooling2D(name="gap"),
         L.Dense(3, name="d")],
        name="seq",
    )


@pytest.fixture(scope="module")
def chain():
    """A Sequential model without an Input: no functional graph, a plain chain."""
    return keras.Sequential(
        [L.Conv2D(2, 3, name="c1"), L.ReLU(name="r"), L.GlobalAveragePooling2D(name="gap"), L.Dense(3, name="d")],
        name="chain",
    )


@pytest.fixture(scope="module")
def branching():
    """c1 -> relu op -> a -> (b1, b2) -> add -> gap -> dense."""
    x = keras.Input((8, 8, 3), name="image")
    h = keras.ops.relu(L.Conv2D(4, 3, name="c1")(x))
    a = L.Activation("linear", name="a")(h)
    added = L.Add(name="add")([L.Conv2D(2, 1, name="b1")(a), L.Conv2D(2, 1, name="b2")(a)])
    out = L.Dense(3, activation="softmax", name="dense")(L.GlobalAveragePooling2D(name="gap")(added))
    return keras.Model(x, out, name="branching")


@pytest.fixture(scope="module")
def nested():
    """A functional backbone used as a layer of a functional model."""
    bx = keras.Input((8, 8, 3), name="b_in")
    backbone = keras.Model(bx, L.ReLU(name="feat")(L.Conv2D(2, 3, name="conv")(bx)), name="backbone")
    x = keras.Input((8, 8, 3), name="image")
    out = L.Dense(3, name="head")(L.GlobalAveragePooling2D(name="gap")(backbone(x)))
    return keras.Model(x, out, name="outer")


class SubclassedChain(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.conv = L.Conv2D(2, 3, name="s_conv")
        self.gap = L.GlobalAveragePooling2D(name="s_gap")
        self.dense = L.Dense(3, name="s_dense")

    def call(self, x):
        return self.dense(self.gap(self.conv(x)))


@pytest.fixture(scope="module")
def subclassed():
    model = SubclassedChain(name="sub")
    model(np.zeros((1, 8, 8, 3), np.float32))
    return model


class Block(L.Layer):
    """A custom layer holding sub-layers as attributes, in a list and in a dict."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.norm = L.LayerNormalization(name="norm")
        self.mlp = [L.Dense(8, name="fc1"), L.Dense(4, name="fc2")]
        self.skip = {"proj": L.Dense(4, name="proj")}
        self.scale = 2.0

    def call(self, x):
        h = self.norm(x)
        for layer in self.mlp:
            h = layer(h)
        return h + self.skip["proj"](x)


@pytest.fixture(scope="module")
def with_block():
    x = keras.Input((5, 4), name="tokens")
    out = L.Dense(2, name="head")(L.GlobalAveragePooling1D(name="pool")(Block(name="block")(x)))
    return keras.Model(x, out, name="with_block")


@pytest.fixture(scope="module")
def multi_output():
    """Outputs: Dense "a", Dense "b", and the conv's own output."""
    x = keras.Input((8, 8, 3), name="image")
    c = L.Conv2D(2, 3, name="c1")(x)
    pooled = L.GlobalAveragePooling2D(name="gap")(c)
    return keras.Model(x, [L.Dense(3, name="a")(pooled), L.Dense(1, name="b")(pooled), c], name="multi")


# -- kinds and walks -------------------------------------------------------------------


def test_container_kinds(sequential, chain, branching, nested, subclassed):
    assert container_kind(sequential) == "graph"
    assert container_kind(chain) == "chain"
    assert container_kind(branching) == "graph"
    assert container_kind(nested) == "graph" and container_kind(nested.get_layer("backbone")) == "graph"
    assert container_kind(subclassed) == "opaque"


def test_walk_is_in_execution_order_with_nested_models_after_their_container(nested):
    assert names(walk(nested)) == [
        "image", "backbone", "backbone/b_in", "backbone/conv", "backbone/feat", "gap", "head",
    ]
    backbone = nested.get_layer("backbone")
    assert names(walk(backbone, prefix=(nested,))) == ["outer/b_in", "outer/conv", "outer/feat"]


def test_walk_of_a_functional_model_includes_its_ops_nodes(branching):
    walked = [path[-1] for path in walk(branching)]
    assert walked == operations(branching)
    assert [op for op in walked if not isinstance(op, L.Layer)] == [relu_op(branching)]
    assert [op.name for op in walked if isinstance(op, L.Layer)] == [layer.name for layer in branching.layers]
    assert walked.index(branching.get_layer("c1")) < walked.index(branching.get_layer("add"))


def test_walk_of_sequential_chain_and_subclassed_models_lists_their_layers(sequential, chain, subclassed):
    assert names(walk(sequential)) == ["c1", "r", "gap", "d"]
    assert names(walk(chain)) == ["c1", "r", "gap", "d"]
    assert names(walk(subclassed)) == ["s_conv", "s_gap", "s_dense"]


def test_custom_layers_are_leaves_of_the_walk_and_list_their_tracked_sublayers(with_block, branching):
    block = with_block.get_layer("block")
    assert names(walk(with_block)) == ["tokens", "block", "pool", "head"]
    assert [layer.name for layer in tracked_sublayers(block)] == ["norm", "fc1", "fc2", "proj"]
    assert tracked_sublayers(with_block.get_layer("head")) == []
    assert tracked_sublayers(relu_op(branching)) == []
    # the paths the runner reaches by intercepting the block's sub-layer calls
    assert names(walk(with_block, into_layers=True)) == [
        "tokens", "block", "block/norm", "block/fc1", "block/fc2", "block/proj", "pool", "head"
    ]


# -- producing paths -------------------------------------------------------------------


def test_producing_paths(sequential, chain, nested, subclassed, multi_output):
    assert names([producing_path(sequential, 0)]) == ["d"]
    assert names([producing_path(chain, 0)]) == ["d"]
    assert names([producing_path(nested, 0)]) == ["head"]
    assert names([producing_path(subclassed, 0)]) == ["s_dense"]
    assert names(producing_path(multi_output, i) for i in range(3)) == ["a", "b", "c1"]


def test_producing_path_descends_into_a_nested_model_producing_the_output(nested):
    backbone = nested.get_layer("backbone")
    x = keras.Input((8, 8, 3))
    model = keras.Model(x, backbone(x))
    assert names([producing_path(model, 0)]) == ["backbone/feat"]


# -- what follows, what feeds ------------------------------------------------------------


def test_successors_and_predecessors_in_a_sequential_model(sequential, chain):
    for model in (sequential, chain):
        stack = (model,)
        assert steps(successors(stack, model.get_layer("r"))) == [("gap", [model.name])]
        assert steps(successors(stack, model.get_layer("d"))) == [("model output 0", [model.name])]
        assert steps(predecessors(stack, model.get_layer("gap"))) == [("r", [model.name])]
        assert steps(predecessors(stack, model.get_layer("c1"))) == [("model input 0", [model.name])]


def test_successors_and_predecessors_at_a_branch(branching):
    stack = (branching,)
    assert sorted(steps(successors(stack, branching.get_layer("a")))) == [("b1", ["branching"]), ("b2", ["branching"])]
    assert steps(predecessors(stack, branching.get_layer("add"))) == [("b1", ["branching"]), ("b2", ["branching"])]
    assert [step.layer for step in predecessors(stack, branching.get_layer("a"))] == [relu_op(branching)]
    assert [step.layer for step in successors(stack, branching.get_layer("c1"))] == [relu_op(branching)]
    assert steps(successors(stack, branching.get_layer("dense"))) == [("model output 0", ["branching"])]
    assert steps(predecessors(stack, branching.get_layer("c1"))) == [("model input 0", ["branching"])]


def test_successors_and_predecessors_cross_nested_models(nested):
    backbone = nested.get_layer("backbone")
    inner = (nested, backbone)
    assert steps(successors(inner, backbone.get_layer("feat"))) == [("gap", ["outer"])]
    assert steps(successors(inner, backbone.get_layer("conv"))) == [("feat", ["outer", "backbone"])]
    assert steps(predecessors((nested,), nested.get_layer("gap"))) == [("feat", ["outer", "backbone"])]
    assert steps(predecessors(inner, backbone.get_layer("conv"))) == [("model input 0", ["outer"])]
    assert steps(successors((nested,), nested.get_layer("image"))) == [("conv", ["outer", "backbone"])]


def test_successors_and_predecessors_cross_a_nested_chain():
    pre = L.Conv2D(3, 1, name="pre")
    inner = keras.Sequential([L.ReLU(name="i1"), L.ReLU(name="i2")], name="inner_chain")
    outer = keras.Sequential([pre, inner, L.Flatten(name="post")], name="outer_chain")
    assert container_kind(outer) == container_kind(inner) == "chain"
    assert steps(successors((outer,), pre)) == [("i1", ["outer_chain", "inner_chain"])]
    assert steps(successors((outer, inner), inner.get_layer("i2"))) == [("post", ["outer_chain"])]
    assert steps(predecessors((outer,), outer.get_layer("post"))) == [("i2", ["outer_chain", "inner_chain"])]
    assert steps(predecessors((outer, inner), inner.get_layer("i1"))) == [("pre", ["outer_chain"])]
    assert steps(predecessors((outer,), pre)) == [("model input 0", ["outer_chain"])]


def test_successors_and_predecessors_of_a_subclassed_model_replayed_as_a_chain(subclassed):
    stack = (subclassed,)
    assert steps(successors(stack, subclassed.conv)) == [("s_gap", ["sub"])]
    assert steps(predecessors(stack, subclassed.dense)) == [("s_gap", ["sub"])]


def test_successors_of_a_layer_that_is_also_a_model_output(multi_output):
    stack = (multi_output,)
    c1 = multi_output.get_layer("c1")
    assert steps(successors(stack, c1)) == [("gap", ["multi"]), ("model output 2", ["multi"])]
    # Layers at the same depth of the graph come in Keras' node order.
    assert sorted(steps(successors(stack, multi_output.get_layer("gap")))) == [("a", ["multi"]), ("b", ["multi"])]
    assert steps(successors(stack, multi_output.get_layer("b"))) == [("model output 1", ["multi"])]
    assert steps(predecessors(stack, multi_output.get_layer("b"))) == [("gap", ["multi"])]


def test_downstream_goes_through_passthrough_layers(branching):
    (gap,) = successors((branching,), branching.get_layer("add"))
    found = downstream(gap, lambda layer: layer is None, lambda layer: isinstance(layer, L.Dense))
    assert found == [Step(None, (branching,), 0)]
    assert downstream(found[0], lambda layer: True, lambda layer: True) == []


# -- running and naming ----------------------------------------------------------------


def test_run_graph_calls_every_operation_once_and_matches_the_model(nested):
    x = tf.constant(np.random.default_rng(0).normal(size=(2, 8, 8, 3)).astype(np.float32))
    called = []

    def operation_fn(op):
        called.append(op.name)
        return op

    out = run_graph(nested, [x], operation_fn)
    np.testing.assert_allclose(np.asarray(out), np.asarray(nested(x)), rtol=1e-6)
    assert called == ["backbone", "gap", "head"]


def test_call_inference_runs_in_inference_mode():
    x = tf.ones((4, 10))
    np.testing.assert_array_equal(call_inference(L.Dropout(0.9), (x,), {}), x)


def test_activation_names(branching):
    assert activation_name(L.Dense(2, activation="relu")) == "relu"
    assert activation_name(L.Activation("softmax")) == "softmax"
    assert activation_name(keras.activations.sigmoid) == "sigmoid"
    assert activation_name(L.Dense(2)) == "linear"
    assert activation_name(L.Flatten()) == ""
    assert activation_name(relu_op(branching)) == ""
    assert activation_name(None) == ""


def test_model_inputs_of_a_subclassed_model(subclassed):
    (spec,) = model_inputs(subclassed)
    assert tuple(spec.shape) == (None, 8, 8, 3)
