"""Session fixtures: the shared tiny Keras models (built once, never changed by a test)
and their pieces for the references. The builders and references live in
:mod:`helpers` (``tests/helpers/``), which tests import as ``from helpers.x import ...``;
a test that deletes or otherwise owns a model calls the builder itself."""
import os

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"

import pytest  # noqa: E402

# the shared checks in helpers/ assert like tests do: pytest explains their failures
pytest.register_assert_rewrite("helpers")

from helpers import models, reference, vit  # noqa: E402


def _shared(builder):
    """A session fixture named after ``builder``, returning the model it builds."""

    def fixture():
        return builder()

    fixture.__doc__ = builder.__doc__
    return pytest.fixture(scope="session", name=builder.__name__)(fixture)


simple_seq = _shared(models.simple_seq)
seq_model = _shared(models.seq_model)
func_model = _shared(models.func_model)
nested_model = _shared(models.nested_model)
multi_input_model = _shared(models.multi_input_model)
variable_model = _shared(models.variable_model)
sigmoid_model = _shared(models.sigmoid_model)
dense_model = _shared(models.dense_model)
signal_model = _shared(models.signal_model)
volume_model = _shared(models.volume_model)
binary_model = _shared(models.binary_model)
regression_model = _shared(models.regression_model)
segmentation_model = _shared(models.segmentation_model)
multi_output_model = _shared(models.multi_output_model)
negative_evidence_model = _shared(models.negative_evidence_model)
trained_vit = _shared(vit.trained_vit)
kerashub_vit = _shared(vit.kerashub_vit)


def _kerashub(name):
    """A session fixture for the KerasHub model ``helpers.kerashub.<name>`` (keras_hub
    imported only by the tests that use one)."""

    def fixture():
        from helpers import kerashub

        return getattr(kerashub, name)()

    return pytest.fixture(scope="session", name=name)(fixture)


resnet_classifier = _kerashub("resnet_classifier")
efficientnet_classifier = _kerashub("efficientnet_classifier")
deeplab_segmenter = _kerashub("deeplab_segmenter")
segformer_segmenter = _kerashub("segformer_segmenter")
retinanet_detector = _kerashub("retinanet_detector")


@pytest.fixture(scope="session")
def seq_parts(seq_model):
    """(features, logits head, probability head) of ``seq_model``, built by hand."""
    return reference.seq_parts(seq_model)


@pytest.fixture(scope="session")
def func_parts(func_model):
    """(features, logits head, probability head) of ``func_model``, built by hand."""
    return reference.func_parts(func_model)


@pytest.fixture(scope="session")
def nested_parts(nested_model):
    """(features, logits head) of ``nested_model``, built by hand."""
    return reference.nested_parts(nested_model)
