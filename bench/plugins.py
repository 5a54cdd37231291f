"""Components by import path (``module:attr``): a user's own models and interpretation methods.

Filled in below; :func:`find_method` is the one lookup scoring and the registry share.
"""

from __future__ import annotations

#: plug-in methods loaded in this process, by their suite name (``module:attr``)
_LOADED_METHODS: dict = {}


def is_plugin(name: str) -> bool:
    """Whether a suite ``name`` is an import path (``module:attr``) rather than a built-in's name."""
    return isinstance(name, str) and ":" in name


def find_method(name: str):
    """The built-in method ``name``, or the plug-in loaded under that name in this process; else None."""
    from .methods import METHODS

    return METHODS.get(name) or _LOADED_METHODS.get(name)
