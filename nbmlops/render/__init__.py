"""Rendering for notebooks and reports: HTML of runs and messages, figures and widget bundles."""
