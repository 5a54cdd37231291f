"""What every interpretation method returns (`Interpretation`) and how a method is declared (`Method`)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from simulations import INSTANCE_COLUMNS, Motif, check_instances, empty_instances, write_meme
from simulations.validation import validate_one_hot_shape

from ..products import PRODUCTS

#: what a method may need from a model; `check_requirements` explains a missing one
REQUIREMENTS = ("differentiable", "conv_first_layer", "argminn")


@dataclass
class Interpretation:
    """The output of one interpretation method on one model and one set of sequences.

    Attributes
    ----------
    motifs : list of Motif
        Discovered motifs, each named with the method's own id (``filter_3``, ``pos_pattern_0``).
    instances : pandas.DataFrame
        Calls with columns ``seq, start, end, strand, motif, score`` (0-based, half-open); ``motif``
        names one of ``motifs``.
    attributions : numpy.ndarray (N, 4, L) or None
        Actual contributions: the hypothetical contributions times the one-hot sequence, so only
        the observed base of each position is non-zero.
    hypothetical : numpy.ndarray (N, 4, L) or None
        Hypothetical contributions (what TF-MoDISco consumes).
    runtime_s : float
        Wall time of the method.
    details : dict
        JSON-serializable facts about the run: parameters, library versions, completeness errors
        (keys starting with ``completeness`` are scored as metrics), counts.
    cwms : dict name -> numpy.ndarray (4, W)
        Contribution matrices of motifs that have one (MoDISco patterns).
    """

    motifs: list = field(default_factory=list)
    instances: pd.DataFrame = field(default_factory=empty_instances)
    attributions: np.ndarray | None = None
    hypothetical: np.ndarray | None = None
    runtime_s: float = 0.0
    details: dict = field(default_factory=dict)
    cwms: dict = field(default_factory=dict)

    def __post_init__(self):
        self.instances = normalize_instances(self.instances)
        names = [m.name for m in self.motifs]
        if len(set(names)) != len(names):
            raise ValueError(f"motifs must have unique names, got {names}")
        unknown = set(self.instances["motif"]) - set(names)
        if unknown:
            raise ValueError(f"instances name motifs that are not in motifs: {sorted(unknown)[:5]}")
        for key, arr in (("attributions", self.attributions), ("hypothetical", self.hypothetical)):
            if arr is not None:
                validate_one_hot_shape(arr, key)

    # ------------------------------------------------------------------ persistence

    def save(self, directory) -> Path:
        """Write ``motifs.meme`` (for people and tools), ``motifs.json`` + ``arrays.npz`` (exact
        PFMs, CWMs, attributions), ``instances.parquet`` and ``details.json``."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        write_meme(d / "motifs.meme", self.motifs)
        arrays = {f"pfm/{i}": m.pfm for i, m in enumerate(self.motifs)}
        arrays.update({f"cwm/{k}": np.asarray(v) for k, v in self.cwms.items()})
        if self.attributions is not None:
            arrays["attributions"] = np.asarray(self.attributions)
        if self.hypothetical is not None:
            arrays["hypothetical"] = np.asarray(self.hypothetical)
        np.savez(d / "arrays.npz", **arrays)
        # the MEME text rounds to 6 decimals; names and sources go here so load() is exact
        meta = [{"name": m.name, "source": m.source} for m in self.motifs]
        (d / "motifs.json").write_text(json.dumps(meta, default=_json_default))
        self.instances.to_parquet(d / "instances.parquet", index=False)
        (d / "details.json").write_text(json.dumps({"runtime_s": self.runtime_s, "details": self.details},
                                                   indent=1, default=_json_default))
        return d

    @classmethod
    def load(cls, directory) -> "Interpretation":
        d = Path(directory)
        meta = json.loads((d / "motifs.json").read_text())
        with np.load(d / "arrays.npz") as z:
            arrays = {k: z[k] for k in z.files}
        motifs = [Motif(m["name"], arrays[f"pfm/{i}"], m["source"]) for i, m in enumerate(meta)]
        cwms = {k.removeprefix("cwm/"): v for k, v in arrays.items() if k.startswith("cwm/")}
        info = json.loads((d / "details.json").read_text())
        return cls(motifs=motifs, instances=pd.read_parquet(d / "instances.parquet"),
                   attributions=arrays.get("attributions"), hypothetical=arrays.get("hypothetical"),
                   runtime_s=info["runtime_s"], details=info["details"], cwms=cwms)


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serializable: {type(o).__name__}")


def normalize_instances(df: pd.DataFrame | None) -> pd.DataFrame:
    """An Instances table with exactly the standard columns and dtypes (extra columns dropped)."""
    if df is None or len(df) == 0:
        return empty_instances()
    missing = set(INSTANCE_COLUMNS) - set(df.columns)
    if missing:
        raise ValueError(f"instances lack columns {sorted(missing)}; expected {INSTANCE_COLUMNS}")
    out = pd.DataFrame({
        "seq": df["seq"].astype("int64").to_numpy(), "start": df["start"].astype("int64").to_numpy(),
        "end": df["end"].astype("int64").to_numpy(), "strand": df["strand"].astype(object).to_numpy(),
        "motif": df["motif"].astype(str).astype(object).to_numpy(),
        "score": df["score"].astype("float64").to_numpy(),
    })
    out = out.sort_values(["seq", "start", "end", "motif", "strand"], kind="stable").reset_index(drop=True)
    return check_instances(out)


# ---------------------------------------------------------------------- methods


#: (what a method's output may hold, :data:`PRODUCTS`, is shared with the metric families' ``needs``: a
#: family scores a method's output when the method declares every product the family needs)
#: the paper's motif-quality rules (``simulations.quality.passes_quality``) a method's motifs can be
#: counted under (``motifs/n_passing_paper_rule``): the rule of the route that produced them in the paper
QUALITY_RULES = ("argminn", "modisco")


@dataclass(frozen=True)
class Method:
    """One interpretation route: its parameters, what it needs, what it produces, and the function
    that runs it.

    ``fn(model, x, params, seed, truth_motifs) -> Interpretation`` receives the defaults merged with
    the caller's params; ``validate(params)`` may raise ValueError on bad values.

    ``produces``: the subset of :data:`PRODUCTS` its output holds (declared once, here; scoring asks
    :meth:`scores` instead of testing names). ``quality_rule``: None, or the paper's motif-quality rule
    (one of :data:`QUALITY_RULES`) its motifs are also counted under. ``source``: for a plug-in, the file
    its function was imported from (its hash enters the cache keys).
    """

    name: str
    fn: Callable
    requires: tuple = ()
    default_params: dict = field(default_factory=dict)
    validate: Callable | None = None
    description: str = ""
    produces: tuple | None = None
    quality_rule: str | None = None
    source: str | None = None

    def __post_init__(self):
        object.__setattr__(self, "produces", check_produces(self.produces, f"method {self.name!r}"))
        object.__setattr__(self, "requires", check_requires(self.requires, f"method {self.name!r}"))
        if self.quality_rule is not None and self.quality_rule not in QUALITY_RULES:
            raise ValueError(f"method {self.name!r}: quality_rule must be None or one of {list(QUALITY_RULES)}, "
                             f"got {self.quality_rule!r}")
        if self.quality_rule is not None and "motifs" not in self.produces:
            raise ValueError(f"method {self.name!r}: a quality_rule applies to motifs, but it does not produce "
                             f"motifs (produces {list(self.produces)})")

    def defaults(self) -> dict:
        return dict(self.default_params)

    def check_params(self, params: dict | None) -> dict:
        """Defaults merged with ``params``; an unknown key raises ValueError listing the valid ones."""
        params = dict(params or {})
        unknown = sorted(set(params) - set(self.default_params))
        if unknown:
            raise ValueError(f"method {self.name!r}: unknown parameter(s) {unknown}; valid parameters are "
                             f"{sorted(self.default_params)}")
        merged = {**self.default_params, **params}
        if self.validate is not None:
            self.validate(merged)
        return merged

    def run(self, model, x, params: dict | None = None, seed: int = 0, truth_motifs=None) -> Interpretation:
        """Interpret ``model`` on one-hot sequences ``x`` (N, 4, L) float32."""
        merged = self.check_params(params)
        x = check_x(x)
        t0 = time.perf_counter()
        interp = self.fn(model, x, merged, int(seed), truth_motifs)
        interp.runtime_s = time.perf_counter() - t0
        interp.details.setdefault("params", merged)
        interp.details.setdefault("seed", int(seed))
        interp.details.setdefault("versions", library_versions())
        interp.details["method"] = self.name
        return interp


def check_produces(produces, where: str = "method") -> tuple:
    """``produces`` as a tuple in :data:`PRODUCTS` order; ValueError for a missing, empty or unknown one."""
    if produces is None:
        raise ValueError(f"{where}: declare what it produces (produces=...), a non-empty subset of {list(PRODUCTS)}")
    if isinstance(produces, str):
        produces = (produces,)
    try:
        given = list(produces)
    except TypeError:
        raise ValueError(f"{where}: produces must be a subset of {list(PRODUCTS)}, got {produces!r}") from None
    unknown = [p for p in given if p not in PRODUCTS]
    if unknown or not given:
        raise ValueError(f"{where}: produces must be a non-empty subset of {list(PRODUCTS)}, got {given!r}")
    return tuple(p for p in PRODUCTS if p in given)


def check_requires(requires, where: str = "method") -> tuple:
    """``requires`` as a tuple of :data:`REQUIREMENTS`; ValueError naming an unknown one."""
    if requires is None:
        return ()
    if isinstance(requires, str):
        requires = (requires,)
    given = tuple(requires)
    unknown = [r for r in given if r not in REQUIREMENTS]
    if unknown:
        raise ValueError(f"{where}: unknown requirement(s) {unknown}; requirements are {list(REQUIREMENTS)}")
    return given


def check_x(x) -> np.ndarray:
    """One-hot float32 ``(N, 4, L)``; raises ValueError naming the shape otherwise."""
    x = validate_one_hot_shape(np.asarray(x), "x", allow_empty=False, one_hot=True)
    return np.ascontiguousarray(x, dtype=np.float32)


def check_requirements(method: Method, model) -> str | None:
    """Why ``model`` cannot be interpreted by ``method`` (a skip reason), or None when it can."""
    import torch

    for req in method.requires:
        if req == "differentiable" and not (isinstance(model, torch.nn.Module)
                                            and next(model.parameters(), None) is not None):
            return f"{method.name} needs a differentiable torch model"
        if req == "conv_first_layer" and not (hasattr(model, "scanner_activations") and hasattr(model, "scanner_width")):
            return f"{method.name} needs a model with a first convolutional layer (scanner_activations)"
        # the CNNs also expose forward_with_interims; attention weights are what make an ARGMINN
        if req == "argminn" and type(model).__name__ != "ARGMINN":
            return f"{method.name} needs an ARGMINN model (got {type(model).__name__})"
    return None


def library_versions() -> dict:
    """Versions of the interpretation libraries, recorded in every result."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("torch", "tangermeme", "captum", "shap", "modisco-lite", "memelite", "numba"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = None
    return out
