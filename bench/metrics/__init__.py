"""Metrics scored against the planted truth, one module per family."""
