"""Numeric constants shared across methods, normalisation and the eli5 API, each defined once."""

EPSILON = 1e-7
"""Added to a denominator that can be 0: every per-map min-max normalisation, RISE's
mask coverage, Ablation-CAM's score, XGrad-CAM's activation sums (pytorch-grad-cam's
value) and eli5's ``L / (max + epsilon)`` (``keras.backend.epsilon()``)."""

FULLGRAD_PSI_EPSILON = 1e-6
"""Denominator guard of FullGrad's per-sample min-max in ``psi`` (the reference's ``eps``)."""
