"""The detection box score written plainly in numpy, for the tests' references."""
import numpy as np


def box_score(boxes, scores, references, labels, threshold=0.5):
    """pytorch-grad-cam's box score of one input, with loops: for each reference box (yxyx,
    label >= 0), each prediction (box, class scores) whose argmax class is the
    reference's label and whose IoU with it is >= ``threshold`` adds IoU + its score for
    that label."""
    total = 0.0
    for r, c in zip(references, labels):
        if c < 0:
            continue
        for b, s in zip(boxes, scores):
            inter = max(0, min(b[2], r[2]) - max(b[0], r[0])) * max(0, min(b[3], r[3]) - max(b[1], r[1]))
            union = (b[2] - b[0]) * (b[3] - b[1]) + (r[2] - r[0]) * (r[3] - r[1]) - inter
            iou = inter / union if union > 0 else 0.0
            if np.argmax(s) == c and iou >= threshold:
                total += iou + s[c]
    return float(total)
