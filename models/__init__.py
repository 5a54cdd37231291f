"""Models: ARGMINN and the standard-CNN baselines."""
