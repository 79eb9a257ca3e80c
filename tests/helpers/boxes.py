"""The detection box scores written plainly in numpy, for the tests' references, and
D-RISE's toy proposals and references."""
import numpy as np

# proposals (x1, y1, x2, y2, objectness, 2 class scores); the last row is padding
PREDICTIONS = np.array(
    [
        [0, 0, 10, 10, 0.5, 0.6, 0.8],  # IoU 1 with r0, cosine 0.6: 0.3
        [0, 0, 10, 5, 0.9, 1.0, 0.0],  # IoU 0.5 with r0, cosine 1: 0.45 (r0's best)
        [20, 20, 30, 25, 1.0, 0.0, 1.0],  # IoU 0.5 with r1, cosine 1: 0.5 (r1's best)
        [0, 0, 0, 0, 0, 0, 0],
    ],
    np.float32,
)
REFERENCES = np.array(
    [[0, 0, 10, 10, 1, 1, 0], [20, 20, 30, 30, 1, 0, 1], [0, 0, 0, 0, 0, 0, 0]], np.float32
)  # the third is padding: not in the mean


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


def drise_score(predictions, references, objectness=True, classes=True, epsilon=0.0):
    """D-RISE's similarity (Petsiuk et al. 2021) of one input, with loops, in float64:
    rows ``(x1, y1, x2, y2, objectness, class scores...)``; all-zero rows are padding.
    ``s(r, p) = IoU * O_p * cos(C_r, C_p)`` (``epsilon`` added to the union and to the
    cosine's denominator), ``S = mean_r max_p s(r, p)``, 0 without predictions or
    references."""
    predictions = [np.asarray(p, np.float64) for p in predictions if np.any(np.asarray(p) != 0)]
    references = [np.asarray(r, np.float64) for r in references if np.any(np.asarray(r) != 0)]
    if not predictions or not references:
        return 0.0
    total = 0.0
    for r in references:
        best = -np.inf
        for p in predictions:
            inter = max(0, min(p[2], r[2]) - max(p[0], r[0])) * max(0, min(p[3], r[3]) - max(p[1], r[1]))
            union = (p[2] - p[0]) * (p[3] - p[1]) + (r[2] - r[0]) * (r[3] - r[1]) - inter
            s = inter / (union + epsilon) if union + epsilon > 0 else 0.0
            if objectness:
                s *= p[4]
            if classes:
                norms = np.linalg.norm(p[5:]) * np.linalg.norm(r[5:])
                s *= np.dot(p[5:], r[5:]) / (norms + epsilon) if norms + epsilon > 0 else 0.0
            best = max(best, s)
        total += best
    return total / len(references)
