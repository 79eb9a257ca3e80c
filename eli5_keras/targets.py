"""What score an explanation explains: small callables shared by every method.

A target turns the model's outputs into ``T`` scores per input. Its per-input data
(class indices, masks) travels into the compiled graph as a tensor, never as a
trace-time constant, so switching classes never retraces.

    labels, scores = target(outputs, data, probabilities)

``outputs`` is the list of model outputs (``(N, ...)`` each); ``data`` the target's
own per-input tensor ``(N, T, ...)`` made by :meth:`Target.encode`; ``probabilities``
tells per output whether it is a softmax/sigmoid probability (as opposed to a logit or
raw value). ``labels`` ``(N, T)`` int32 name what each score is (a class index, an
output unit); ``scores`` ``(N, T)`` are differentiated (gradient methods) or compared
(perturbation methods).

Targets:

* :class:`ClassTarget` - a class of a softmax/sigmoid/linear classifier, by index,
  per input, top class or top-k; a single-unit (sigmoid) output is a binary
  classifier whose class 0 scores ``-logit`` (``1 - p`` as a probability).
* :class:`RegressionTarget` - one unit of a regression output, with a sign.
* :class:`SegmentationTarget` - a class summed over a region of a dense output.
* :class:`DetectionTarget` - reference boxes matched by a detector's boxes: IoU plus
  class score, summed (raw per-anchor outputs decoded inside the target).
* :class:`DRiseTarget` - D-RISE's similarity of reference boxes to their best-matching
  proposals (IoU x objectness x class cosine), averaged over the references.
* :class:`OutputTarget` - any target, on one output of a multi-output model.
* :class:`FunctionTarget` - a user function of the outputs.
* :class:`NegatedTarget` - ``-S`` of another target (counterfactual explanations).

:func:`as_target` turns ``explain()``'s ``targets=``/``top_k=`` into one of these.
"""
from __future__ import annotations

import abc
import copy
from typing import Any, Callable, Hashable, Optional, Sequence, Tuple

import numpy as np
import tensorflow as tf

from . import validation as check
from .boxes import check_box_format, box_iou, to_corners
from .backend.targets import decode_targets, encode_targets, gather_scores

Scores = Tuple[tf.Tensor, tf.Tensor]


class Target(abc.ABC):
    """Selects ``T`` scores per input from the model's outputs."""

    output_index: int = 0
    """The model output this target reads (its final softmax/sigmoid is bypassed when
    explaining logits)."""

    def bind(self, output_shapes: Sequence[tuple], n: int) -> "Target":
        """A copy of this target checked against the model's output shapes (batch axis
        included) for ``n`` inputs, holding what it resolved (e.g. the class code);
        raise ``ValueError`` naming ``targets`` when they do not fit.

        The target itself is never changed, so one user object can serve many calls,
        threads and models at once. Subclasses override :meth:`_bind`, which fills in
        the copy."""
        bound = copy.copy(self)
        bound._bind(output_shapes, n)
        return bound

    def _bind(self, output_shapes: Sequence[tuple], n: int) -> None:
        """Check and resolve on the copy :meth:`bind` made (the default checks nothing)."""

    @property
    @abc.abstractmethod
    def num_targets(self) -> int:
        """``T``, the number of scores per input."""

    @abc.abstractmethod
    def encode(self, n: int) -> np.ndarray:
        """The per-input data, shape ``(n, T, ...)`` (chunked along with the inputs)."""

    @abc.abstractmethod
    def __call__(
        self, outputs: Sequence[tf.Tensor], data: tf.Tensor, probabilities: Sequence[bool]
    ) -> Scores:
        """``(labels (N, T) int32, scores (N, T) float32)``; traceable."""

    def key(self) -> Hashable:
        """What a compiled graph depends on (not the per-input data)."""
        return (type(self).__name__, self.output_index, self.num_targets)

    def pin(self, data: tf.Tensor, labels: tf.Tensor, outputs: Optional[Sequence[tf.Tensor]] = None) -> tf.Tensor:
        """Data that selects, on another forward pass (masked, ablated or perturbed
        copies of the inputs), the scores that ``labels`` named on the clean pass
        (``outputs``: the clean pass's model outputs, for targets read from them).

        Perturbation methods compare ``S(x)`` with ``S(x')`` for the *same* target: a
        target resolved from the outputs ("the top class") must not be re-resolved on
        ``x'``. The default returns ``data`` unchanged (the target does not depend on
        the outputs); traceable.
        """
        return data

    def _output(self, outputs: Sequence[tf.Tensor]) -> tf.Tensor:
        return outputs[self.output_index]


def _check_output_index(index: Any, output_shapes: Sequence[tuple]) -> int:
    return check.index(
        "output_index", index, len(output_shapes),
        f" (the model's outputs have shapes {[tuple(s) for s in output_shapes]})",
    )


class ClassTarget(Target):
    """Class scores of a classifier output ``(N, K)``.

    Parameters
    ----------
    classes : None, int, sequence of N ints, or (N, T) int array
        None: each input's top class; int: that class for every input; 1-D: one
        class per input; 2-D: T classes per input.
    top_k : int, optional
        The k highest-scoring classes of each input (with ``classes=None``).
    output_index : int
        Which model output holds the class scores.

    A single-unit output ``(N, 1)`` is a binary classifier: class 1 scores the unit
    itself, class 0 its opposite (``-z`` for a logit, ``1 - p`` for a probability), and
    the top class is 1 when ``z > 0`` (``p > 0.5``). Softmax over one unit would be the
    constant 1 (tf-keras-vis #78); this rule is pytorch-grad-cam's
    ``BinaryClassifierOutputTarget``.
    """

    def __init__(self, classes: Any = None, top_k: Optional[int] = None, output_index: int = 0) -> None:
        self.classes = classes
        self.top_k = top_k
        self.output_index = output_index
        self._code: Optional[np.ndarray] = None
        self.binary = False

    def _bind(self, output_shapes: Sequence[tuple], n: int) -> None:
        self.output_index = _check_output_index(self.output_index, output_shapes)
        shape = tuple(output_shapes[self.output_index])
        if len(shape) != 2 or shape[-1] is None:
            raise ValueError(
                f"class targets need a (batch, classes) output, but model output {self.output_index} "
                f"has shape {shape}. Use RegressionTarget, SegmentationTarget or FunctionTarget "
                "(eli5_keras.targets), or pick the classifier with output_index=."
            )
        self.binary = shape[-1] == 1
        self._code = encode_targets(self.classes, self.top_k, n, 2 if self.binary else shape[-1])

    @property
    def num_targets(self) -> int:
        if self.top_k is not None:
            return int(self.top_k)
        return 1 if self._code is None else self._code.shape[1]

    def encode(self, n: int) -> np.ndarray:
        if self._code is None or len(self._code) != n:
            raise RuntimeError("ClassTarget.encode() before bind() for this number of inputs.")
        return self._code

    def key(self) -> Hashable:
        return ("class", self.output_index, self.num_targets, self.binary)

    def pin(self, data, labels, outputs=None):
        """The resolved class indices (``>= 0``): "top class" codes become classes."""
        return tf.cast(labels, data.dtype)

    def __call__(self, outputs, data, probabilities):
        scores = self._output(outputs)
        if self.binary:
            unit = scores[:, 0]
            negative = 1.0 - unit if probabilities[self.output_index] else -unit
            scores = tf.stack([negative, unit], axis=1)
        labels = decode_targets(data, scores)
        return labels, gather_scores(scores, labels)


class RegressionTarget(Target):
    """``sign * output[:, unit]`` of a regression output (units flattened).

    Parameters
    ----------
    unit : int
        Which unit of the (flattened) output; 0 for a single-value regressor.
    sign : +1 or -1
        -1 explains what pushes the value down.
    output_index : int
    """

    def __init__(self, unit: int = 0, sign: int = 1, output_index: int = 0) -> None:
        if sign not in (1, -1):
            raise ValueError(f"sign must be +1 or -1; got {sign!r}.")
        self.unit, self.sign, self.output_index = unit, sign, output_index

    def _bind(self, output_shapes, n):
        self.output_index = _check_output_index(self.output_index, output_shapes)
        size = int(np.prod([d for d in output_shapes[self.output_index][1:]]))
        if not 0 <= self.unit < size:
            raise ValueError(f"unit={self.unit} is out of range for an output of {size} values.")

    @property
    def num_targets(self) -> int:
        return 1

    def encode(self, n):
        return np.full((n, 1), self.unit, np.int32)

    def key(self):
        return ("regression", self.output_index, self.sign)

    def __call__(self, outputs, data, probabilities):
        flat = tf.reshape(self._output(outputs), [tf.shape(data)[0], -1])
        return data, self.sign * gather_scores(flat, data)


class SegmentationTarget(Target):
    """``sum over the region of output[n, ..., class]`` for a dense output ``(N, *s, K)``.

    Parameters
    ----------
    class_index : int
        The explained class (the channel of the output).
    mask : array (*s) or (N, *s), optional
        Region to sum over (weights, usually 0/1). None: the pixels whose predicted
        class (argmax over K) is ``class_index`` (pytorch-grad-cam's
        ``SemanticSegmentationTarget`` with the predicted mask), predicted on the
        clean input: perturbation methods score their copies over that same region.
    output_index : int
    """

    def __init__(self, class_index: int, mask: Any = None, output_index: int = 0) -> None:
        self.class_index, self.output_index = int(class_index), output_index
        self.mask = None if mask is None else np.asarray(mask, np.float32)
        self._spatial: tuple = ()

    def _bind(self, output_shapes, n):
        self.output_index = _check_output_index(self.output_index, output_shapes)
        shape = tuple(output_shapes[self.output_index])
        if len(shape) < 3:
            raise ValueError(
                f"SegmentationTarget needs a dense output (batch, *spatial, classes); got model output "
                f"{self.output_index} with shape {shape}."
            )
        if not 0 <= self.class_index < shape[-1]:
            raise ValueError(f"class_index={self.class_index} is out of range for {shape[-1]} classes.")
        self._spatial = shape[1:-1]
        if self.mask is not None:
            expected = tuple(d for d in self._spatial)
            got = self.mask.shape[-len(expected):] if self.mask.ndim >= len(expected) else self.mask.shape
            if any(e is not None and e != g for e, g in zip(expected, got)) or self.mask.ndim not in (
                len(expected), len(expected) + 1
            ):
                raise ValueError(f"mask has shape {self.mask.shape}; expected {expected} or (N, *{expected}).")
            if self.mask.ndim == len(expected) + 1 and len(self.mask) not in (1, n):
                raise ValueError(f"mask has {len(self.mask)} masks for {n} inputs.")

    @property
    def num_targets(self):
        return 1

    def encode(self, n):
        if self.mask is None:
            return np.full((n, 1), -1.0, np.float32)  # rank 2: "use the predicted region"
        mask = self.mask if self.mask.ndim == len(self._spatial) + 1 else self.mask[None]
        return np.ascontiguousarray(np.broadcast_to(mask[:, None], (n, 1) + mask.shape[1:]), np.float32)

    def key(self):
        return ("segmentation", self.output_index, self.class_index, self.mask is None)

    def _predicted_region(self, outputs: Sequence[tf.Tensor]) -> tf.Tensor:
        out = self._output(outputs)
        return tf.cast(tf.equal(tf.argmax(out, axis=-1), self.class_index), out.dtype)

    def pin(self, data, labels, outputs=None):
        """The predicted region of the clean pass ``(N, 1, *s)`` when ``mask`` is None."""
        if self.mask is not None or outputs is None:
            return data
        return tf.cast(self._predicted_region(outputs), data.dtype)[:, None]

    def __call__(self, outputs, data, probabilities):
        out = self._output(outputs)
        channel = out[..., self.class_index]
        if data.shape.rank == 2:  # not pinned, no mask: the region this pass predicts
            region = self._predicted_region(outputs)
        else:  # the mask, or the region pinned to the clean pass
            region = tf.cast(data[:, 0], out.dtype)
        axes = list(range(1, channel.shape.rank))
        score = tf.reduce_sum(channel * tf.stop_gradient(region), axis=axes)
        labels = tf.fill([tf.shape(out)[0], 1], self.class_index)
        return labels, score[:, None]


class DetectionTarget(Target):
    """Reference boxes as a detector finds them: pytorch-grad-cam's box score.

    For reference box ``r`` with label ``c_r`` and predictions ``p`` (boxes ``b_p``,
    class scores ``s_p``, predicted label ``argmax_k s_pk``)::

        S = sum_r sum_{p : label_p = c_r, IoU(b_p, r) >= iou_threshold} IoU(b_p, r) + s_{p, c_r}

    (pytorch-grad-cam's ``FasterRCNNBoxScoreTarget``; it reads post-NMS detections and
    keeps each reference's best match, which NMS makes the only one in most cases; on
    raw per-anchor outputs every matching anchor counts). The selection is not
    differentiated; IoU and score are, so gradient methods see both the box and the
    class evidence. One score per input (``T = 1``) whose label is the first
    reference's.

    Parameters
    ----------
    boxes : array (B, 4) or (N, B, 4)
        Reference boxes in pixels, in ``box_format``; the same for every input or one
        set per input.
    labels : array (B,) or (N, B) of ints
        Their classes; a negative label pads a shorter set (that box is ignored).
    iou_threshold : float in [0, 1]
    box_format : str
        Format of the reference boxes and of the predicted (decoded) boxes:
        ``yxyx``, ``xyxy``, ``xywh``, ``center_xywh`` or ``center_yxhw``.
    decoder : callable, optional
        Raw box output ``(N, A, 4)`` -> boxes ``(N, A, 4)`` in ``box_format``, traceable:
        for detectors whose ``model(x)`` gives box deltas per anchor
        (:func:`eli5_keras.boxes.retinanet_decoder` for KerasHub's RetinaNet). None: the
        box output holds boxes already.
    from_logits : bool, optional
        Apply a sigmoid to the class output (RetinaNet's and D-FINE's class logits).
        None: when that output is not a softmax/sigmoid probability.
    boxes_output, scores_output : int
        The model outputs with the boxes ``(N, A, 4)`` and the class scores
        ``(N, A, K)``. A model returning a dict has its outputs in key order: KerasHub's
        RetinaNet gives ``bbox_regression`` (0) and ``cls_logits`` (1).
    """

    def __init__(
        self,
        boxes: Any,
        labels: Any,
        iou_threshold: float = 0.5,
        box_format: str = "yxyx",
        decoder: Optional[Callable[[tf.Tensor], tf.Tensor]] = None,
        from_logits: Optional[bool] = None,
        boxes_output: int = 0,
        scores_output: int = 1,
    ) -> None:
        self.boxes = np.asarray(boxes, np.float32)
        self.labels = np.asarray(labels)
        if self.boxes.ndim not in (2, 3) or self.boxes.shape[-1] != 4:
            raise ValueError(f"boxes must have shape (B, 4) or (N, B, 4); got {self.boxes.shape}.")
        if not np.issubdtype(self.labels.dtype, np.integer) or self.labels.shape != self.boxes.shape[:-1]:
            raise ValueError(
                f"labels must be ints of shape {self.boxes.shape[:-1]} (one per box); got "
                f"{self.labels.dtype} of shape {self.labels.shape}."
            )
        if not np.all(np.isfinite(self.boxes)):
            raise ValueError("boxes must be finite.")
        self.iou_threshold = check.real("iou_threshold", iou_threshold, 0.0, 1.0)
        self.box_format = check_box_format("box_format", box_format)
        if decoder is not None and not callable(decoder):
            raise TypeError(f"decoder must be a callable (N, A, 4) -> (N, A, 4); got {type(decoder).__name__}.")
        self.decoder = decoder
        self.from_logits = None if from_logits is None else check.boolean("from_logits", from_logits)
        self.boxes_output, self.scores_output = boxes_output, scores_output
        self.output_index = scores_output

    def _bind(self, output_shapes, n):
        self.boxes_output = _check_output_index(self.boxes_output, output_shapes)
        self.scores_output = _check_output_index(self.scores_output, output_shapes)
        self.output_index = self.scores_output
        boxes, scores = (tuple(output_shapes[i]) for i in (self.boxes_output, self.scores_output))
        if len(boxes) != 3 or boxes[-1] != 4 or len(scores) != 3:
            raise ValueError(
                f"DetectionTarget needs a box output (N, A, 4) and a class score output (N, A, K); got "
                f"output {self.boxes_output} with shape {boxes} and output {self.scores_output} with shape "
                f"{scores}. Pick them with boxes_output= and scores_output=."
            )
        if self.boxes.ndim == 3 and len(self.boxes) not in (1, n):
            raise ValueError(f"boxes has {len(self.boxes)} sets of boxes for {n} inputs.")
        if scores[-1] is not None and np.any(self.labels >= scores[-1]):
            wrong = sorted(set(self.labels[self.labels >= scores[-1]].tolist()))
            raise ValueError(f"labels {wrong} are out of range for {scores[-1]} classes.")

    @property
    def num_targets(self):
        return 1

    def encode(self, n):
        boxes = self.boxes if self.boxes.ndim == 3 else self.boxes[None]
        labels = self.labels if self.labels.ndim == 2 else self.labels[None]
        data = np.concatenate([boxes, labels[..., None].astype(np.float32)], axis=-1)
        return np.ascontiguousarray(np.broadcast_to(data[:, None], (n, 1) + data.shape[1:]), np.float32)

    def key(self):
        return (
            "detection", self.boxes_output, self.scores_output, self.boxes.shape[-2], self.iou_threshold,
            self.box_format, id(self.decoder), self.from_logits,
        )

    def __call__(self, outputs, data, probabilities):
        raw = tf.cast(outputs[self.boxes_output], tf.float32)
        predicted = to_corners(self.decoder(raw) if self.decoder is not None else raw, self.box_format)
        scores = tf.cast(outputs[self.scores_output], tf.float32)
        logits = self.from_logits if self.from_logits is not None else not probabilities[self.scores_output]
        scores = tf.sigmoid(scores) if logits else scores
        references = to_corners(data[:, 0, :, :4], self.box_format)  # (N, B, 4)
        labels = tf.cast(data[:, 0, :, 4], tf.int32)  # (N, B)
        iou = box_iou(predicted, references)  # (N, A, B)
        predicted_labels = tf.argmax(scores, axis=-1, output_type=tf.int32)  # (N, A)
        matched = (
            (iou >= self.iou_threshold)
            & tf.equal(predicted_labels[:, :, None], labels[:, None, :])
            & (labels >= 0)[:, None, :]
        )
        class_scores = tf.gather(scores, tf.maximum(labels, 0), axis=2, batch_dims=1)  # (N, A, B)
        score = tf.reduce_sum(tf.where(matched, iou + class_scores, 0.0), axis=[1, 2])
        return labels[:, :1], score[:, None]


class DRiseTarget(Target):
    """D-RISE's detection similarity (Petsiuk et al. 2021, "Black-box Explanation of Object
    Detectors via Saliency Maps", CVPR, eq. 1-2), as Xplique's ``object_detection_operator``.

    The model output ``(N, P, 4 + 1 + K)`` gives per proposal ``p`` its box corners ``L_p``,
    its objectness ``O_p`` and its class scores ``C_p`` (``K`` values, soft). Each reference
    ``r`` has the same layout (its objectness is not read: D-RISE takes it as 1)::

        s(r, p) = IoU(L_r, L_p) * O_p * (C_r . C_p) / (||C_r|| ||C_p|| + epsilon)
        S       = mean_r max_p s(r, p)

    with ``IoU = |L_r ∩ L_p| / (|L_r ∪ L_p| + epsilon)`` (:func:`eli5_keras.boxes.box_iou`).
    Rows that are all zero are padding, on both sides (Xplique's masks for zero-padded
    batches): left out of the max and of the mean; ``S = 0`` when no reference or no
    prediction is left. ``objectness=False`` drops ``O_p``, ``class_similarity=False`` the
    cosine (Xplique's ``Tasks.OBJECT_DETECTION_BOX_POSITION`` / ``_BOX_PROBA`` / ``_BOX_CLASS``).
    The max (the matching) selects a proposal; its IoU, objectness and class scores are
    differentiated, so gradient methods see the box, the objectness and the class evidence.
    Perturbation methods compare ``S`` of each perturbed copy against the same references
    (D-RISE's weights). One score per input (``T = 1``), labelled with the first reference's
    class (``argmax C_r``).

    Parameters
    ----------
    references : array (4 + 1 + K,), (R, 4 + 1 + K) or (N, R, 4 + 1 + K)
        The boxes to explain: the same for every input, or one set per input (all-zero rows
        pad shorter sets).
    box_format : str
        Format of the four box values, of the references and of the model's boxes:
        ``xyxy`` (Xplique's ``(x1, y1, x2, y2)``), ``yxyx``, ``xywh``, ``center_xywh`` or
        ``center_yxhw``.
    objectness, class_similarity : bool
        Include ``O_p``; include the cosine of the class scores.
    epsilon : float
        Added to the IoU's union and to the cosine's denominator. 0 (the paper): no term
        (``0 / 0 = 0``); Xplique adds 1e-4 to both.
    output_index : int
        The model output with the proposals.
    """

    def __init__(
        self,
        references: Any,
        box_format: str = "xyxy",
        objectness: bool = True,
        class_similarity: bool = True,
        epsilon: float = 0.0,
        output_index: int = 0,
    ) -> None:
        refs = np.asarray(references, np.float32)
        if refs.ndim == 1:
            refs = refs[None]
        if refs.ndim not in (2, 3) or refs.shape[-1] < 5:
            raise ValueError(
                f"references must have shape (4 + 1 + K,), (R, 4 + 1 + K) or (N, R, 4 + 1 + K) (box, objectness, "
                f"class scores); got {np.shape(references)}."
            )
        if not np.all(np.isfinite(refs)):
            raise ValueError("references must be finite.")
        self.references = refs
        self.box_format = check_box_format("box_format", box_format)
        self.objectness = check.boolean("objectness", objectness)
        self.class_similarity = check.boolean("class_similarity", class_similarity)
        self.epsilon = check.real("epsilon", epsilon, 0.0)
        self.output_index = output_index

    def _bind(self, output_shapes, n):
        self.output_index = _check_output_index(self.output_index, output_shapes)
        shape = tuple(output_shapes[self.output_index])
        width = self.references.shape[-1]
        if len(shape) != 3 or shape[-1] not in (None, width):
            raise ValueError(
                f"targets: the references have {width} values per box (4 + 1 + K), so DRiseTarget needs proposals "
                f"(N, P, {width}); model output {self.output_index} has shape {shape}."
            )
        if self.references.ndim == 3 and len(self.references) not in (1, n):
            raise ValueError(f"targets: references has {len(self.references)} sets of boxes for {n} inputs.")

    @property
    def num_targets(self):
        return 1

    def encode(self, n):
        refs = self.references if self.references.ndim == 3 else self.references[None]
        return np.ascontiguousarray(np.broadcast_to(refs[:, None], (n, 1) + refs.shape[1:]), np.float32)

    def key(self):
        return ("drise", self.output_index, self.box_format, self.objectness, self.class_similarity, self.epsilon)

    def _corners(self, boxes: tf.Tensor) -> tf.Tensor:
        return boxes if self.box_format in ("xyxy", "yxyx") else to_corners(boxes, self.box_format)

    def __call__(self, outputs, data, probabilities):
        predictions = tf.cast(self._output(outputs), tf.float32)  # (N, P, D)
        references = data[:, 0]  # (N, R, D)
        kept = tf.reduce_any(tf.not_equal(predictions, 0), axis=-1)  # (N, P): not padding
        kept_refs = tf.reduce_any(tf.not_equal(references, 0), axis=-1)  # (N, R)
        pairs = box_iou(self._corners(references[..., :4]), self._corners(predictions[..., :4]), self.epsilon)
        if self.objectness:
            pairs = pairs * predictions[:, None, :, 4]
        if self.class_similarity:
            classes, ref_classes = predictions[..., 5:], references[..., 5:]
            dot = tf.linalg.matmul(ref_classes, classes, transpose_b=True)  # (N, R, P)
            norms = _norm(classes)[:, None, :] * _norm(ref_classes)[:, :, None]
            pairs = pairs * (dot / (norms + self.epsilon) if self.epsilon else tf.math.divide_no_nan(dot, norms))
        best = tf.reduce_max(tf.where(kept[:, None, :], pairs, -np.inf), axis=2)  # (N, R): the matching
        counted = kept_refs & tf.reduce_any(kept, axis=1, keepdims=True)
        total = tf.reduce_sum(tf.where(counted, best, 0.0), axis=1)
        score = tf.math.divide_no_nan(total, tf.reduce_sum(tf.cast(counted, tf.float32), axis=1))
        if self.references.shape[-1] > 5:
            labels = tf.argmax(references[:, :1, 5:], axis=-1, output_type=tf.int32)
        else:  # no class scores
            labels = tf.zeros_like(kept_refs[:, :1], tf.int32)
        return labels, score[:, None]


def _norm(x: tf.Tensor) -> tf.Tensor:
    """Euclidean norm over the last axis whose gradient is 0 (not NaN) at the zero vector."""
    return tf.sqrt(tf.maximum(tf.reduce_sum(x * x, axis=-1), np.finfo(np.float32).tiny))


class OutputTarget(Target):
    """Another target applied to output ``output_index`` of a multi-output model."""

    def __init__(self, output_index: int, target: Optional[Target] = None) -> None:
        # A copy: the user's target keeps its own output_index.
        self.inner = copy.copy(target) if target is not None else ClassTarget()
        self.inner.output_index = output_index
        self.output_index = output_index

    def _bind(self, output_shapes, n):
        self.inner = self.inner.bind(output_shapes, n)

    @property
    def num_targets(self):
        return self.inner.num_targets

    def encode(self, n):
        return self.inner.encode(n)

    def key(self):
        return ("output", self.inner.key())

    def pin(self, data, labels, outputs=None):
        return self.inner.pin(data, labels, outputs)

    def __call__(self, outputs, data, probabilities):
        return self.inner(outputs, data, probabilities)


class FunctionTarget(Target):
    """A user function of the model outputs: ``fn(outputs) -> (N,)`` or ``(N, T)``.

    ``outputs`` is the model's output tensor (a list for a multi-output model), with
    a final softmax/sigmoid bypassed when explaining logits. ``num_targets`` must say
    how many columns ``fn`` returns when it returns ``(N, T)``.
    """

    def __init__(self, fn: Callable[[Any], tf.Tensor], num_targets: int = 1) -> None:
        if not callable(fn):
            raise TypeError(f"FunctionTarget needs a callable; got {type(fn).__name__}.")
        self.fn, self._t = fn, int(num_targets)
        self.output_index = 0
        self._multi = False

    def _bind(self, output_shapes, n):
        self._multi = len(output_shapes) > 1

    @property
    def num_targets(self):
        return self._t

    def encode(self, n):
        return np.tile(np.arange(self._t, dtype=np.int32), (n, 1))

    def key(self):
        return ("function", id(self.fn), self._t)

    def __call__(self, outputs, data, probabilities):
        scores = self.fn(list(outputs) if self._multi else outputs[0])
        scores = tf.convert_to_tensor(scores)
        if scores.shape.rank == 1:
            scores = scores[:, None]
        if scores.shape.rank != 2 or (scores.shape[1] is not None and scores.shape[1] != self._t):
            raise ValueError(
                f"the target function must return shape (N,) or (N, {self._t}); got {tuple(scores.shape)}."
            )
        return data, tf.cast(scores, tf.float32)


class NegatedTarget(OutputTarget):
    """The opposite score ``-S`` of another target: a gradient method then explains
    what pushes ``S`` down (Grad-CAM's counterfactual explanations, Selvaraju et al.
    2017, section 5.2: negated gradients), a perturbation method what raises it when
    removed. ``explain(..., counterfactual=True)`` wraps its target in this. Labels
    (e.g. the top class) are still chosen on the original scores."""

    def __init__(self, target: Target) -> None:
        if not isinstance(target, Target):
            raise TypeError(f"NegatedTarget wraps a Target; got {type(target).__name__}.")
        super().__init__(target.output_index, target)

    def key(self):
        return ("negated", self.inner.key())

    def __call__(self, outputs, data, probabilities):
        labels, scores = self.inner(outputs, data, probabilities)
        return labels, -scores


def as_target(targets: Any = None, top_k: Optional[int] = None, output_index: int = 0) -> Target:
    """``explain()``'s ``targets``/``top_k``/``output_index`` as a :class:`Target`.

    A Target is used as it is; any other callable becomes a :class:`FunctionTarget`;
    None, ints and int arrays become a :class:`ClassTarget`.
    """
    check.exclusive("targets", targets, "top_k", top_k)
    if isinstance(targets, Target):
        return targets
    if callable(targets) and not hasattr(targets, "shape"):
        return FunctionTarget(targets)
    return ClassTarget(targets, top_k=top_k, output_index=output_index)
