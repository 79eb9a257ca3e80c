"""Names of the parts of an explanation that ``format_as_html(show=...)`` can show (eli5's)."""

WEIGHTS = ("transition_features", "targets", "feature_importances", "decision_tree")
"""The explanation's content: for image, volume and signal explanations, the maps ('targets')."""
INFO = ("method", "description")
"""The method line (method, layer, model) and the description text."""
ALL = INFO + WEIGHTS
