"""Numeric constants shared across methods, normalisation and the eli5 API, each defined once."""

EPSILON = 1e-7
"""Added to a denominator that can be 0: every per-map min-max normalisation, RISE's
mask coverage, Ablation-CAM's score, XGrad-CAM's activation sums (pytorch-grad-cam's
value) and eli5's ``L / (max + epsilon)`` (``keras.backend.epsilon()``)."""

ROUNDING_RESOLUTION = 1e-6
"""Relative size of float32 rounding after a network's worth of operations: two
computations of one value (e.g. the same input at two batch positions) can differ by
about this fraction of it. VarGrad reads a variance below ``(ROUNDING_RESOLUTION *
mean)^2`` as rounding noise, i.e. 0."""

FULLGRAD_PSI_EPSILON = 1e-6
"""Denominator guard of FullGrad's per-sample min-max in ``psi`` (the reference's ``eps``)."""
