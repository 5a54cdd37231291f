"""ARGMINN-Bench: the harness (CLI, suites, runner, methods, metrics, report)."""
