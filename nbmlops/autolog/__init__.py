"""Automatic logging for ML frameworks (scikit-learn now): params, metrics, datasets and models without calls."""
