"""Vectorised statistics shared by the analyses: correlations, bootstrap, multiple testing."""
