"""Score a cell's interpretations with the metric families (:mod:`bench.families`).

The runner calls :func:`score_interpretation` once per method and :func:`score_cross_method` once per
cell; each runs the scorers of the families the suite lists (built-in or plug-in) and returns
``{metric_name: value}`` (or ``(value, detail)``), where names are ``family/measure`` so the report
can group them. Which family scores which method is asked of the declarations: a family's ``needs``
against the method's ``produces``, never a method's name.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .families import FAMILIES, Family, ScoringContext


def _declared_method(method, method_name: str):
    """The :class:`~bench.methods.Method` whose output is scored: ``method`` itself, else the built-in
    or loaded plug-in named ``method_name``; None for a name that is neither (a direct call)."""
    if method is not None:
        return method
    if not method_name:
        return None
    from .plugins import find_method

    return find_method(method_name)


def families_of(metrics) -> list[Family]:
    """The :class:`Family` declarations of a suite's ``metrics`` (built-in names and loaded plug-ins),
    in the suite's order."""
    from .plugins import find_family

    out = []
    for name in metrics:
        family = FAMILIES.get(name) or find_family(name)
        if family is None:
            raise ValueError(f"unknown metric family {name!r}; families are {list(FAMILIES)}")
        out.append(family)
    return out


def _checked(family: Family, scores: dict) -> dict:
    """A plug-in scorer's output, refused when it writes outside its own family (built-ins are tested)."""
    if family.source is None:
        return scores
    for key in scores:
        if not (str(key).startswith(family.name + "/") or key == f"per_sequence/{family.name}"):
            raise ValueError(f"metric family {family.name!r} wrote {key!r}: its measures must be named "
                             f"'{family.name}/<measure>'")
    return scores


def score_interpretation(interp, ds, truth: pd.DataFrame, x: np.ndarray, metrics: list,
                         method_name: str = "", model=None, seed: int = 0, method=None) -> dict:
    """One method's interpretation against the truth of the interpreted sequences.

    Each family in ``metrics`` with a per-interpretation scorer scores the interpretation only when the
    method declares what the family needs (``Method.produces`` against ``Family.needs``): an
    attribution-only route has no motifs to score, so it gets no motif rows (rather than recall 0). An
    undeclared method (a direct call without a known name) is scored on whatever it holds. ``method``:
    the :class:`~bench.methods.Method` (else it is looked up by ``method_name``). ``model``: the trained
    model the interpretation explains (families that check maps against it, e.g. ``faithfulness``);
    ``seed``: the seed of those checks.
    """
    declared = _declared_method(method, method_name)
    produces = None if declared is None else declared.produces
    ctx = ScoringContext(ds=ds, truth=truth, x=x, metrics=tuple(metrics), model=model, seed=seed, method=declared)
    out = {}
    for family in families_of(metrics):
        if family.score is not None and family.applies_to(produces):
            out.update(_checked(family, family.score(interp, ctx)))
    # what the method reports about itself (an attribution engine's completeness), whatever is scored
    for key, value in (interp.details or {}).items():
        if key.startswith("completeness") and isinstance(value, (int, float)):
            out[f"completeness/{key.removeprefix('completeness_')}"] = float(value)
    return out


def score_cross_method(interps: dict, ds, truth, x, metrics: list, model=None, seed: int = 0,
                       null_references: int = 10) -> dict:
    """The cell-level scorers of the families in ``metrics`` over all of a cell's interpretations
    (``{label: Interpretation}``); ``seed`` and ``null_references``: the reference re-draws of nulls."""
    ctx = ScoringContext(ds=ds, truth=truth, x=x, metrics=tuple(metrics), model=model, seed=seed,
                         null_references=null_references)
    out = {}
    for family in families_of(metrics):
        if family.score_cell is not None:
            out.update(_checked(family, family.score_cell(interps, ctx)))
    return out
