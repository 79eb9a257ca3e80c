"""eli5's Keras API (``eli5.keras`` + image formatting), kept name for name."""
