"""The harness's error classes, in a module of their own so that every other module can import them
without importing each other (``bench.suite`` and ``bench.registry`` both raise :class:`SuiteError`)."""

from __future__ import annotations


class SuiteError(ValueError):
    """A suite file is malformed; the message names the field and the valid alternatives."""


class PluginError(SuiteError):
    """A ``module:attr`` plug-in cannot be imported or is not the kind of object it must be (one line:
    what was looked up, where, and what was wrong)."""
