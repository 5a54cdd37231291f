"""Interpretation methods, one module each."""
