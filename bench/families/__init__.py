"""Metric families: each declared once, in its own module of this package; every list is derived.

A family module holds one :class:`Family` named ``FAMILY``: its name, what a method's output must hold
for it to be scored (``needs``), whether it re-runs the models (``opt_in``: scored only when a suite
lists it), the measures the report's figure leads with (``headline``), the measures a paired verdict
can be computed on (``paired``), and the scorers. Dropping a module in this folder adds a family to
``python -m bench list``, to suite validation and to scoring; a suite can also name a family of its
own by import path (``metrics: [my_family:FAMILY]``, see :mod:`bench.plugins`).

Scorers
-------
``score(interp, ctx)``
    One method's :class:`~bench.methods.Interpretation` of the cell's interpreted sequences, for
    each method that produces every product in ``needs``.
``score_cell(interps, ctx)``
    All interpretations of the cell (``{label: Interpretation}``), once per cell.

Both receive a :class:`ScoringContext` and return ``{"<family>/<measure>": value}`` (a value may be
``(value, detail)``; NaN marks an undefined value). A family without scorers (``prediction``,
``syntax``, ``consistency``) is computed by the runner stage named in its ``computed_in``.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

# what a method's output may hold: a family's needs are some of them
from ..products import PRODUCTS

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Family:
    """One metric family's declaration.

    Parameters
    ----------
    name : str
        Lower-case identifier; every measure it writes is named ``<name>/<measure>``.
    description : str
        One line for ``python -m bench list metrics``.
    needs : tuple of str
        Products (:data:`PRODUCTS`) a method must declare for ``score`` to run on its output.
    opt_in : bool
        True for a family that runs the models again: a suite without ``metrics:`` leaves it out.
    headline : tuple of str or None
        Measures (without the family prefix) the report's figure shows; None: all of them.
    paired : dict
        ``"<name>/<measure>" -> (components row, numerator weights, denominator weights, higher is
        better)``: how a paired verdict recomputes the measure from per-sequence components (components
        row None: one value per trained model). See :mod:`bench.verdicts`.
    score, score_cell : callable or None
        See the module docstring.
    computed_in : str
        For a family without scorers, the runner stage that computes it (documentation).
    order : int
        Position in listings and in the default ``metrics``.
    source : str or None
        For a plug-in, the file it was imported from.
    """

    name: str
    description: str
    needs: tuple = ()
    opt_in: bool = False
    headline: tuple | None = ()
    paired: dict = field(default_factory=dict)
    score: Callable | None = None
    score_cell: Callable | None = None
    computed_in: str = ""
    order: int = 100
    source: str | None = None

    def __post_init__(self):
        where = f"metric family {self.name!r}"
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise ValueError(f"{where}: name must be a lower-case identifier (letters, digits, _), got {self.name!r}")
        needs = tuple(self.needs)
        bad = [p for p in needs if p not in PRODUCTS]
        if bad:
            raise ValueError(f"{where}: needs must be a subset of {list(PRODUCTS)}, got {list(needs)}")
        object.__setattr__(self, "needs", needs)
        for hook in ("score", "score_cell"):
            if getattr(self, hook) is not None and not callable(getattr(self, hook)):
                raise ValueError(f"{where}: {hook} must be a function or None")
        if self.score is not None and not needs:
            raise ValueError(f"{where}: a per-interpretation score needs at least one product (needs)")
        for measure in self.paired:
            if not str(measure).startswith(self.name + "/"):
                raise ValueError(f"{where}: paired measure {measure!r} must start with {self.name + '/'!r}")
        if self.headline is not None:
            object.__setattr__(self, "headline", tuple(self.headline))

    def applies_to(self, produces) -> bool:
        """Whether a method producing ``produces`` (None: undeclared, scored on what it holds) is scored."""
        return bool(self.needs) and (produces is None or all(p in produces for p in self.needs))


@dataclass
class ScoringContext:
    """What a scorer may read about the cell.

    ds : the :class:`simulations.SimulatedDataset`; truth : the planted (and background-match) instances
    of the interpreted sequences, renumbered 0 .. N-1; x : (N, 4, L) float32 one-hot of those sequences;
    metrics : the families the suite scores; model : the trained model (None in a direct call without
    one); seed : this scorer's seed; method : the :class:`~bench.methods.Method` (None when undeclared);
    null_references : DeepLiftSHAP's shuffles in this suite (for re-drawn nulls).
    """

    ds: object
    truth: pd.DataFrame
    x: np.ndarray
    metrics: tuple = ()
    model: object = None
    seed: int = 0
    method: object = None
    null_references: int = 10

    @property
    def true_motifs(self) -> list:
        return functional_motifs(self.ds)


def functional_motifs(ds) -> list:
    """The motifs that carry label information (every grammar motif that is not only a decoy)."""
    inst = ds.instances
    names = sorted(set(inst.loc[inst.functional, "motif"]))
    return [ds.motifs[n] for n in names if n in ds.motifs]


def components_detail(frame: pd.DataFrame) -> str:
    """Per-sequence components as compact JSON (one list per column), for the paired bootstrap."""
    out = {}
    for col in frame.columns:
        v = frame[col].to_numpy(np.float64)
        if np.all(np.isnan(v)):
            continue
        if np.all(np.isnan(v) | (v == np.round(v))):
            out[col] = [int(a) for a in np.nan_to_num(v)]
        else:
            out[col] = [round(float(a), 5) for a in np.nan_to_num(v)]
    return json.dumps(out, separators=(",", ":"))


def route_maps(interps: dict):
    """``(DeepLiftSHAP, Integrated Gradients)`` among a cell's interpretations (by the method each ran;
    the first of each), None for one that is absent or holds no maps; IG is None when DeepLiftSHAP is."""
    by_name = {}
    for label, interp in interps.items():
        by_name.setdefault(interp.details.get("method", label), interp)
    a, b = by_name.get("deeplift_shap"), by_name.get("integrated_gradients")
    if a is None or a.attributions is None:
        return None, None
    return a, (b if b is not None and b.attributions is not None else None)


# --------------------------------------------------------------------------- discovery


def _discover() -> dict:
    found = []
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        family = getattr(module, "FAMILY", None)
        if not isinstance(family, Family):
            raise TypeError(f"{module.__name__} must define FAMILY = Family(...)")
        if family.name != info.name:
            raise ValueError(f"{module.__name__}: FAMILY.name must be its module's name {info.name!r}, "
                             f"got {family.name!r}")
        found.append(family)
    return {f.name: f for f in sorted(found, key=lambda f: (f.order, f.name))}


#: every built-in family, by name, in listing order
FAMILIES: dict[str, Family] = _discover()
METRIC_FAMILIES = tuple(FAMILIES)
#: the families that run the models again, scored only when a suite lists them
RERUN_FAMILIES = tuple(n for n, f in FAMILIES.items() if f.opt_in)
#: the families a suite without ``metrics:`` scores
DEFAULT_METRIC_FAMILIES = tuple(n for n, f in FAMILIES.items() if not f.opt_in)
#: which products each per-interpretation family scores
FAMILY_NEEDS = {n: f.needs for n, f in FAMILIES.items() if f.needs}


def paired_measures() -> dict:
    """Every built-in family's ``paired`` declarations, merged (measure -> spec)."""
    out = {}
    for f in FAMILIES.values():
        out.update(f.paired)
    return out


def headline_measures() -> dict:
    """Family name -> the measures its report figure shows (None: all)."""
    return {n: (list(f.headline) if f.headline is not None else None) for n, f in FAMILIES.items()}
