"""Xplique's ``Tasks`` (``xplique.Tasks``, Xplique 2.0.2 ``commons/operators_operations.py``):
the operator names, what ``operator=`` accepts, and the engine target each task's
``targets`` become.

===============================  ==================================  =================================
task (``Tasks.X``, string)       targets                             engine target (score per input)
===============================  ==================================  =================================
CLASSIFICATION, REGRESSION       the model output's shape, (N, K)    ``sum(f(x) * y)``
SEMANTIC_SEGMENTATION            (N, h, w, c_out) masks              ``sum(f(x) * y) / count_nonzero(y)``
OBJECT_DETECTION (and the        (N, 5 + nc) or (N, R, 5 + nc)       D-RISE: :class:`~eli5_keras.targets.DRiseTarget`
``_BOX_POSITION`` / ``_BOX_PROBA``                                    (IoU, objectness, class cosine;
/ ``_BOX_CLASS`` variants)                                           ``epsilon=1e-4``, xyxy)
===============================  ==================================  =================================
"""
from __future__ import annotations

import enum
from typing import Any, Callable, Union

import numpy as np
import tensorflow as tf

from ...targets import DRiseTarget, Target
from .operator_target import OperatorTarget

XPLIQUE_EPSILON = 1e-4
"""Xplique's ``_EPSILON`` (``utils_functions/object_detection``): added to the IoU's union
and to the class cosine's denominator."""


class Tasks(enum.Enum):
    """Xplique's tasks, each an operator ``g(f, x, y) -> (N,)``: pass a member (or its
    name, ``Tasks.from_string``'s strings) as ``operator=``; ``Tasks.X(model, inputs,
    targets)`` computes the operator eagerly, as Xplique's ``Tasks.X`` does."""

    CLASSIFICATION = "classification"
    REGRESSION = "regression"
    SEMANTIC_SEGMENTATION = "semantic segmentation"
    OBJECT_DETECTION = "object detection"
    OBJECT_DETECTION_BOX_POSITION = "object detection box position"
    OBJECT_DETECTION_BOX_PROBA = "object detection box proba"
    OBJECT_DETECTION_BOX_CLASS = "object detection box class"

    @staticmethod
    def from_string(operator_name: str) -> "Tasks":
        """The task named ``operator_name`` (Xplique's strings, e.g. ``"object detection box
        class"``); ``ValueError`` naming ``operator`` for any other string."""
        for task in Tasks:
            if task.value == operator_name:
                return task
        names = [task.value for task in Tasks]
        raise ValueError(f"operator must be one of {names} (Xplique's Tasks) or a callable g(f, x, y); "
                         f"got {operator_name!r}.")

    @property
    def detection(self) -> bool:
        return self.name.startswith("OBJECT_DETECTION")

    @property
    def needs_targets(self) -> bool:
        """No default targets: the mask or the boxes to explain must be given."""
        return self.detection or self is Tasks.SEMANTIC_SEGMENTATION

    def target(self, targets: np.ndarray) -> Target:
        """The engine target scoring ``targets`` (``(N, ...)``, float32) for this task."""
        if self.detection:
            return DRiseTarget(
                detection_references(targets), box_format="xyxy", epsilon=XPLIQUE_EPSILON,
                objectness=self in (Tasks.OBJECT_DETECTION, Tasks.OBJECT_DETECTION_BOX_PROBA),
                class_similarity=self in (Tasks.OBJECT_DETECTION, Tasks.OBJECT_DETECTION_BOX_CLASS),
            )
        if self is Tasks.SEMANTIC_SEGMENTATION:
            return OperatorTarget(segmentation_masks(targets), nonzero_mean=True)
        return OperatorTarget(targets)

    def __call__(self, model: Callable, inputs: Any, targets: Any) -> tf.Tensor:
        """The operator's scores ``(N,)`` on ``model(inputs)`` (eager)."""
        outputs = tf.convert_to_tensor(model(inputs))
        y = np.asarray(targets, np.float32)
        target = self.target(y).bind([tuple(outputs.shape)], len(y))
        _, scores = target([outputs], tf.constant(target.encode(len(y))), [False])
        return scores[:, 0]


def detection_references(targets: np.ndarray) -> np.ndarray:
    """Xplique's detection ``targets`` ``(N, 5 + nc)`` (one box per input) or
    ``(N, R, 5 + nc)`` as ``(N, R, 5 + nc)`` references."""
    if targets.ndim == 2:
        return targets[:, None]
    if targets.ndim == 3:
        return targets
    raise ValueError(f"targets for object detection must have shape (N, 4 + 1 + nc) or (N, nb_boxes, 4 + 1 + nc); "
                     f"got {targets.shape}.")


def segmentation_masks(targets: np.ndarray) -> np.ndarray:
    """Semantic segmentation ``targets``, checked: each input's mask has a nonzero value
    (Xplique divides by their count: 0 / 0 there)."""
    empty = np.flatnonzero(~np.any(targets.reshape(len(targets), -1) != 0, axis=1))
    if targets.ndim < 3 or len(empty):
        got = f"shape {targets.shape}" if targets.ndim < 3 else f"an all-zero mask for inputs {empty.tolist()}"
        raise ValueError(f"targets for semantic segmentation must be masks (N, h, w, c_out) with a nonzero value "
                         f"each (the score divides by their count); got {got}.")
    return targets


# Xplique's own operators, by module and qualified name (``xplique.Tasks`` has no enum
# members: its attributes are these functions).
XPLIQUE_OPERATORS = {
    ("xplique.commons.operators", "predictions_operator"): Tasks.CLASSIFICATION,
    ("xplique.commons.operators", "semantic_segmentation_operator"): Tasks.SEMANTIC_SEGMENTATION,
    ("xplique.commons.operators", "object_detection_operator"): Tasks.OBJECT_DETECTION,
    **{("xplique.commons.operators_operations", f"Tasks.{name}"): Tasks[name]
       for name in ("OBJECT_DETECTION_BOX_POSITION", "OBJECT_DETECTION_BOX_PROBA", "OBJECT_DETECTION_BOX_CLASS")},
}


def resolve_operator(operator: Any) -> Union[Tasks, Callable]:
    """``operator=`` as a :class:`Tasks` member or a callable ``g(f, x, y)``: None is
    classification; strings are Xplique's task names; Xplique's own ``Tasks`` attributes
    are recognised by module and name (without importing Xplique)."""
    if operator is None:
        return Tasks.CLASSIFICATION
    if isinstance(operator, Tasks):
        return operator
    if isinstance(operator, str):
        return Tasks.from_string(operator)
    key = (getattr(operator, "__module__", None), getattr(operator, "__qualname__", None))
    if key in XPLIQUE_OPERATORS:
        return XPLIQUE_OPERATORS[key]
    if callable(operator):
        return operator
    raise TypeError(f"operator must be a Tasks member, a task name or a callable g(f, x, y); "
                    f"got {type(operator).__name__}: {operator!r}.")


def operator_target(operator: Union[Tasks, Callable], targets: np.ndarray) -> Target:
    """The engine target of a resolved ``operator`` on ``targets``."""
    if isinstance(operator, Tasks):
        return operator.target(targets)
    return OperatorTarget(targets, operator)
