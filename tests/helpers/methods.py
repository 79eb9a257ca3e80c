"""The explanation methods as the tests see them: families and options read from the
registry (``eli5_keras.methods.REGISTRY``), so a new method is swept by every generic
test without a test edit, and two tiny input-gradient methods whose maps a test can
recompute with a tape."""
import inspect

import tensorflow as tf

from eli5_keras import methods
from eli5_keras.methods.base import GradientCAM, Method, MethodOutput, sum_over_blocks
from eli5_keras.methods.input_gradients import InputGradientMethod

# Small values by option name, for sweeps that check shapes and plumbing, not numbers
# (each method's defaults are tested in its own file): applied to whichever of these
# options a method's ``__init__`` takes.
FAST_VALUES = dict(steps=4, masks=8, samples=2, window=4, stride=4, seed=0, grid=2, designs=2)


def names():
    """Every registered method name, sorted."""
    return methods.available()


def option_names(name):
    """The options (keyword arguments of ``__init__``) method ``name`` takes."""
    params = inspect.signature(methods.REGISTRY[name].__init__).parameters.values()
    return [p.name for p in params if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def fast_options(name):
    """:data:`FAST_VALUES` for the options method ``name`` takes."""
    return {option: FAST_VALUES[option] for option in option_names(name) if option in FAST_VALUES}


def without_options():
    """Methods whose ``__init__`` takes no option."""
    return [name for name in names() if not option_names(name)]


def gradient_cams():
    """The CAM methods computed from a layer's activations and gradients
    (:class:`~eli5_keras.methods.base.GradientCAM`)."""
    return [name for name in names() if issubclass(methods.REGISTRY[name], GradientCAM)]


def one_pass_layer_methods():
    """Methods at a layer whose map comes from one forward pass serving every target,
    with no expanded work (Eigen-CAM, CAM; not Score-CAM's or Ablation-CAM's copies)."""
    return [
        name
        for name, cls in sorted(methods.REGISTRY.items())
        if cls.uses_layer and not cls.per_target_work and cls.expansion is Method.expansion
    ]


def input_gradient_methods():
    """Methods differentiating the model input (:class:`InputGradientMethod`)."""
    return [name for name in names() if issubclass(methods.REGISTRY[name], InputGradientMethod)]


def maps_are_input_gradients(name, **options):
    """The method's maps (with its default base, for wrappers) are per-pixel gradients
    of each target's score to the input: maps at the input, one backward pass per
    target (not perturbations, whose one forward pass serves every target)."""
    method = methods.get(name, **options)
    return (not method.uses_layer or method.maps_at_input) and method.per_target_work


class InputGradient(Method):
    """Test base: the target's input gradient summed over channels, ``(N, T, *S)``;
    extras["score"] the differentiated score."""

    name = "input_gradient_test"
    title = "Input gradient"
    summary = "test method"
    uses_layer = False
    signed = True

    def compute(self, context, inputs, data, block):
        grads, fwd = context.probe.input_gradients(inputs, data, context.input_index)
        return MethodOutput(tf.reduce_sum(grads, axis=-1), fwd.labels, fwd.reported, {"score": fwd.scores})


class ScaledGradient(Method):
    """Test base with an expansion: mean over k = 1..steps of the input gradient at
    ``x * k / steps`` (summed over channels), computed in blocks of ``block`` steps."""

    name = "scaled_gradient_test"
    title = "Scaled gradient"
    summary = "test method"
    uses_layer = False
    signed = True

    def __init__(self, steps: int = 3) -> None:
        self.steps = steps

    def expansion(self, context):
        return self.steps

    def compute(self, context, inputs, data, block):
        x = inputs[context.input_index]
        n, t = tf.shape(x)[0], tf.shape(data)[1]

        def gradients(start, size):
            alphas = tf.cast(start + 1 + tf.range(size), tf.float32) / self.steps
            shape = tf.concat([[1, size], tf.ones([x.shape.rank - 1], tf.int32)], 0)
            scaled = x[:, None] * tf.reshape(alphas, shape)
            scaled = tf.reshape(scaled, tf.concat([[n * size], tf.shape(x)[1:]], 0))
            batch = [scaled if i == context.input_index else tf.repeat(v, size, 0) for i, v in enumerate(inputs)]
            grads, _ = context.probe.input_gradients(batch, tf.repeat(data, size, axis=0), context.input_index)
            grads = tf.reshape(tf.reduce_sum(grads, axis=-1), tf.concat([[n, size, t], tf.shape(x)[1:-1]], 0))
            return tf.ensure_shape(tf.reduce_sum(grads, axis=1), initial.shape)

        fwd = context.probe.forward(inputs, data)
        initial = tf.zeros(tf.concat([[n, t], tf.shape(x)[1:-1]], 0))
        maps = sum_over_blocks(gradients, self.steps, block, initial) / self.steps
        return MethodOutput(maps, fwd.labels, fwd.reported)
