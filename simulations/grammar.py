"""The grammar spec: a validated description of what each class of sequences contains.

A spec (YAML or dict) has this shape::

    name: tal_gata_mixture
    length: 500
    background: {model: iid, gc: 0.5}            # or freqs: [A, C, G, T]; or model: markov
    reject_matches: {pvalue: 1.0e-4}             # or {mean_prob: 0.9} (the paper's rule), or false
    motifs:                                      # alias -> source
      TAL1: "TAL1::TCF3"                         # a JASPAR name or matrix id
      GATA1: {jaspar: MA0035.5}
      REST_left: {jaspar: REST, columns: [0, 10]}
      X: {consensus: GATAAG}                     # or {file: m.meme, id: NAME}, or {matrix: [[...]]}
    classes:
      - name: positive
        label: 1
        fraction: 0.5
        configs:
          - name: pair
            weight: 1
            motifs:                              # a chain, placed left to right
              - {motif: TAL1, orientation: random}
              - {motif: GATA1, gap: {min: 4, max: 12}}
            order: fixed                         # or random: the chain may be planted reversed
            position: {mode: center, jitter: 50} # or {mode: uniform} or {mode: fixed, start: 100}
            scatter:                             # independent placements at free positions
              - {motif: GATA1, count: {min: 0, max: 3}}
      - name: negative
        label: 0
        fraction: 0.5
        configs: [{name: background, weight: 1}]
    decoys:                                      # in every class, carrying no label information
      - {motif: X, count: {min: 0, max: 2}}
    splits: {valid: 0.1, test: 0.1}

Gaps are bases between the end of one chain element and the start of the next:
an int, ``{min, max}`` (uniform), ``{values, weights}`` (a spacing preference) or
``{mean, sd}`` (rounded normal, clipped at 0). Counts take the same forms, except the normal.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal, Optional, Union

import numpy as np
from pydantic import (BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError, field_validator,
                      model_validator)

from .motifs import Motif, MotifError, from_consensus, from_matrix, jaspar_motif, read_motif_file
# strict scalars, one-line validation errors, safe YAML: shared with the suite files (simulations.user_files)
from .user_files import Bool, Float, Int, format_validation_error, read_yaml_mapping  # noqa: F401


class SpecError(ValueError):
    """A simulation spec is malformed; the message names the field and what was expected."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------- unions


def _one_of(tags: dict, message: str):
    """A discriminated union: ``tags`` maps a tag to a predicate on the raw value; the first that
    holds picks the one branch validated, so an error names that branch only (no per-branch noise).
    A value no predicate accepts gets ``message``."""
    def pick(v):
        for tag, accepts in tags.items():
            if accepts(v):
                return tag
        return None
    return Discriminator(pick, custom_error_type="invalid_form", custom_error_message=message)


def _is_number(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating, str)) and not isinstance(v, (bool, np.bool_))


def _has_any(*keys):
    def test(v):
        return isinstance(v, dict) and any(k in v for k in keys)
    return test


# --------------------------------------------------------------------------- distributions


class Range(_Strict):
    min: Int = Field(ge=0)
    max: Int = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self):
        if self.max < self.min:
            raise ValueError(f"max ({self.max}) must be >= min ({self.min})")
        return self


class Choice(_Strict):
    values: list[Annotated[Int, Field(ge=0)]] = Field(min_length=1)
    weights: Optional[list[Float]] = None

    @model_validator(mode="after")
    def _weights(self):
        if self.weights is not None:
            if len(self.weights) != len(self.values):
                raise ValueError(
                    f"weights has {len(self.weights)} entries but values has {len(self.values)}"
                )
            _check_weights(self.weights)
        return self


class Normal(_Strict):
    mean: Float = Field(ge=0)
    sd: Float = Field(ge=0)


_NON_NEGATIVE = Annotated[Int, Field(ge=0)]
_DIST_TAGS = {"int": _is_number,
              "Range": lambda v: isinstance(v, Range) or _has_any("min", "max")(v),
              "Choice": lambda v: isinstance(v, Choice) or _has_any("values", "weights")(v),
              "Normal": lambda v: isinstance(v, Normal) or _has_any("mean", "sd")(v)}
IntDist = Annotated[
    Union[Annotated[_NON_NEGATIVE, Tag("int")], Annotated[Range, Tag("Range")], Annotated[Choice, Tag("Choice")],
          Annotated[Normal, Tag("Normal")]],
    _one_of(_DIST_TAGS, "expected an integer >= 0, {min, max}, {values, weights} or {mean, sd}")]
CountDist = Annotated[
    Union[Annotated[_NON_NEGATIVE, Tag("int")], Annotated[Range, Tag("Range")], Annotated[Choice, Tag("Choice")]],
    _one_of({k: v for k, v in _DIST_TAGS.items() if k != "Normal"},
            "expected an integer >= 0, {min, max} or {values, weights}")]


def _check_weights(weights):
    w = np.asarray(weights, dtype=float)
    if np.any(~np.isfinite(w)) or np.any(w < 0):
        raise ValueError(f"weights must be finite and non-negative, got {list(weights)}")
    if w.sum() <= 0:
        raise ValueError("weights must not all be zero")


def dist_bounds(d) -> tuple[int, int]:
    """Smallest and largest value a distribution can draw (normals: mean ± 4 sd)."""
    if isinstance(d, int):
        return d, d
    if isinstance(d, Range):
        return d.min, d.max
    if isinstance(d, Choice):
        return min(d.values), max(d.values)
    return max(0, int(np.floor(d.mean - 4 * d.sd))), int(np.ceil(d.mean + 4 * d.sd))


def sample_dist(d, n: int, rng: np.random.Generator) -> np.ndarray:
    """Draw ``n`` integers from a gap or count distribution."""
    if isinstance(d, int):
        return np.full(n, d, dtype=np.int64)
    if isinstance(d, Range):
        return rng.integers(d.min, d.max + 1, size=n)
    if isinstance(d, Choice):
        p = None
        if d.weights is not None:
            p = np.asarray(d.weights, dtype=float) / np.sum(d.weights)
        return rng.choice(np.asarray(d.values, dtype=np.int64), size=n, p=p)
    lo, hi = dist_bounds(d)
    return np.clip(np.rint(rng.normal(d.mean, d.sd, size=n)), lo, hi).astype(np.int64)


# --------------------------------------------------------------------------- spec blocks


Orientation = Literal["+", "-", "random"]


class ChainElement(_Strict):
    motif: str
    gap: IntDist = 0
    orientation: Orientation = "+"
    functional: Bool = True
    role: Optional[str] = None


class ScatterElement(_Strict):
    motif: str
    count: CountDist = 1
    orientation: Orientation = "random"
    functional: Bool = True
    role: Optional[str] = None


class Position(_Strict):
    mode: Literal["center", "uniform", "fixed"] = "center"
    jitter: Int = Field(default=50, ge=0)
    start: Optional[Int] = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _fixed_needs_start(self):
        if self.mode == "fixed" and self.start is None:
            raise ValueError("mode 'fixed' needs a start")
        return self


class Config(_Strict):
    name: str
    weight: Float = Field(default=1.0, ge=0)
    motifs: list[ChainElement] = Field(default_factory=list)
    order: Literal["fixed", "random"] = "fixed"
    position: Position = Field(default_factory=Position)
    scatter: list[ScatterElement] = Field(default_factory=list)


class ClassSpec(_Strict):
    name: str
    label: Annotated[Union[Annotated[Float, Tag("float")], Annotated[list[Float], Tag("list")]],
                     _one_of({"float": _is_number, "list": lambda v: isinstance(v, (list, tuple))},
                             "expected a number (0 or 1) or a list of numbers (one per task)")]
    fraction: Float = Field(gt=0)
    configs: list[Config] = Field(min_length=1)

    @field_validator("configs")
    @classmethod
    def _config_weights(cls, configs):
        _check_weights([c.weight for c in configs])
        names = [c.name for c in configs]
        if len(set(names)) != len(names):
            raise ValueError(f"config names must be unique within a class, got {names}")
        return configs


class Background(_Strict):
    model: Literal["iid", "markov"] = "iid"
    gc: Optional[Float] = None
    freqs: Optional[list[Float]] = None
    cpg_ratio: Optional[Float] = Field(default=None, ge=0)
    transitions: Optional[list[list[Float]]] = None

    @field_validator("gc")
    @classmethod
    def _gc_range(cls, v):
        if v is not None and not 0 <= v <= 1:
            raise ValueError(f"GC content must be within [0, 1], got {v}")
        return v

    @model_validator(mode="after")
    def _one_composition(self):
        given = [k for k in ("gc", "freqs", "transitions") if getattr(self, k) is not None]
        if len(given) > 1:
            raise ValueError(f"give one of gc, freqs, transitions, not {given}")
        if self.freqs is not None:
            f = np.asarray(self.freqs, dtype=float)
            if f.shape != (4,) or np.any(f < 0) or not np.isclose(f.sum(), 1.0, atol=1e-6):
                raise ValueError(f"freqs must be 4 non-negative numbers (A, C, G, T) summing to 1, got {self.freqs}")
        if self.transitions is not None:
            if self.model != "markov":
                raise ValueError("transitions need model: markov")
            t = np.asarray(self.transitions, dtype=float)
            if t.shape != (4, 4) or np.any(t < 0) or not np.allclose(t.sum(axis=1), 1.0, atol=1e-6):
                raise ValueError("transitions must be a 4x4 matrix (rows A, C, G, T) of non-negative rows summing to 1")
        if self.cpg_ratio is not None and self.model != "markov":
            raise ValueError("cpg_ratio needs model: markov")
        return self


class Rejection(_Strict):
    pvalue: Optional[Float] = Field(default=None, gt=0, lt=1)
    mean_prob: Optional[Float] = Field(default=None, gt=0, le=1)
    max_rounds: Int = Field(default=100, ge=1)

    @model_validator(mode="after")
    def _one_rule(self):
        if (self.pvalue is None) == (self.mean_prob is None):
            raise ValueError("give exactly one of pvalue (log-odds p-value) or mean_prob (the paper's rule)")
        return self


class MotifSource(_Strict):
    jaspar: Optional[str] = None
    release: Optional[str] = None
    file: Optional[str] = None
    id: Optional[str] = None
    consensus: Optional[str] = None
    matrix: Optional[list[list[Float]]] = None
    columns: Optional[tuple[Int, Int]] = None
    reverse_complement: Bool = False

    @model_validator(mode="after")
    def _one_source(self):
        given = [k for k in ("jaspar", "file", "consensus", "matrix") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"a motif needs exactly one of jaspar, file, consensus, matrix; got {given or 'none'}")
        return self


class Splits(_Strict):
    valid: Float = Field(default=0.1, ge=0, lt=1)
    test: Float = Field(default=0.1, ge=0, lt=1)

    @model_validator(mode="after")
    def _sum(self):
        if self.valid + self.test >= 1:
            raise ValueError("valid + test must be below 1")
        return self


class Spec(_Strict):
    name: str = "simulation"
    description: str = ""
    length: Int = Field(default=500, gt=0)
    background: Background = Field(default_factory=Background)
    reject_matches: Annotated[
        Union[Annotated[Rejection, Tag("Rejection")], Annotated[Literal[False], Tag("bool")]],
        _one_of({"Rejection": lambda v: isinstance(v, (dict, Rejection)), "bool": lambda v: v is False},
                "expected {pvalue: p}, {mean_prob: q} or false")] = Field(
        default_factory=lambda: Rejection(pvalue=1e-4))
    motifs: dict[str, Annotated[
        Union[Annotated[str, Tag("str")], Annotated[MotifSource, Tag("MotifSource")]],
        _one_of({"str": lambda v: isinstance(v, str), "MotifSource": lambda v: isinstance(v, (dict, MotifSource))},
                "expected a JASPAR name or matrix id, or {jaspar | file | consensus | matrix: ...}")]] = Field(
        min_length=1)
    classes: list[ClassSpec] = Field(min_length=1)
    decoys: list[ScatterElement] = Field(default_factory=list)
    splits: Splits = Field(default_factory=Splits)

    @model_validator(mode="after")
    def _consistent(self):
        names = [c.name for c in self.classes]
        if len(set(names)) != len(names):
            raise ValueError(f"class names must be unique, got {names}")
        label_shapes = {np.shape(c.label) for c in self.classes}
        if len(label_shapes) > 1:
            raise ValueError(f"every class label must have the same shape, got {sorted(label_shapes)}")
        bg = self.background
        if isinstance(self.reject_matches, Rejection) and self.reject_matches.pvalue is not None:
            freqs = bg.freqs if bg.freqs is not None else (
                None if bg.gc is None else [(1 - bg.gc) / 2, bg.gc / 2, bg.gc / 2, (1 - bg.gc) / 2])
            absent = [b for b, f in zip("ACGT", freqs or ()) if f <= 0]
            if absent:
                given = f"gc {bg.gc}" if bg.gc is not None else f"freqs {bg.freqs}"
                # the log-odds p-values need every base: without this the simulator dies with numpy's
                # "array is too big"
                raise ValueError(f"reject_matches.pvalue needs every base in the background, but background "
                                 f"{given} gives {', '.join(absent)} probability 0; use a gc within (0, 1), "
                                 f"reject_matches: {{mean_prob: ...}} or reject_matches: false")
        return self


# --------------------------------------------------------------------------- validation


def load_spec_file(path) -> dict:
    data = read_yaml_mapping(path, "spec", SpecError, "name, length, motifs, classes, ...")
    data.setdefault("_base_dir", str(Path(path).parent.resolve()))
    return data


def parse_spec(spec) -> "ResolvedSpec":
    """Validate a spec (dict, path, or preset name) and resolve its motifs.

    Raises
    ------
    SpecError
        On any malformed field, naming it and what was expected, before anything is simulated.
    """
    if isinstance(spec, ResolvedSpec):
        return spec
    if isinstance(spec, (str, Path)):
        from .presets import preset_path

        p = Path(spec)
        spec = load_spec_file(p if p.exists() or p.suffix in {".yaml", ".yml"} else preset_path(str(spec)))
    if not isinstance(spec, dict):
        raise SpecError(f"a spec is a dict, a YAML path or a preset name, got {type(spec).__name__}")
    spec = dict(spec)
    base_dir = Path(spec.pop("_base_dir", "."))
    try:
        parsed = Spec.model_validate(spec)
    except ValidationError as exc:
        raise SpecError(format_validation_error(exc, "simulation spec")) from None
    motifs, files = _resolve_motifs(parsed, base_dir)
    if files:
        # relative motif files are recorded as the absolute paths they were read from, so that the
        # canonical spec (what a suite caches and simulates later, from any working folder) reads
        # the same files
        parsed = parsed.model_copy(update={"motifs": {**parsed.motifs, **files}})
    _check_references(parsed, motifs)
    _check_fit(parsed, motifs)
    return ResolvedSpec(parsed, motifs)


class ResolvedSpec:
    """A validated spec with its motifs loaded."""

    def __init__(self, spec: Spec, motifs: dict[str, Motif]):
        self.spec = spec
        self.motifs = motifs

    def to_dict(self) -> dict:
        """Plain data, suitable for YAML (sources recorded as given)."""
        return self.spec.model_dump(mode="json")


def _resolve_motifs(spec: Spec, base_dir: Path) -> tuple[dict[str, Motif], dict[str, "MotifSource"]]:
    """The motifs by alias, and the file sources whose relative path was made absolute."""
    motifs, files = {}, {}
    for alias, source in spec.motifs.items():
        where = f"motifs.{alias}"
        try:
            if isinstance(source, str):
                source = MotifSource(jaspar=source)
            if source.jaspar is not None:
                kwargs = {"release": source.release} if source.release else {}
                m = jaspar_motif(source.jaspar, **kwargs)
            elif source.file is not None:
                path = Path(source.file)
                if not path.is_absolute():
                    path = base_dir / path
                    files[alias] = source.model_copy(update={"file": os.path.abspath(path)})
                found = read_motif_file(path)
                key = source.id or alias
                if key not in found:
                    alt = {m.source.get("alt_name"): k for k, m in found.items()}
                    if key in alt:
                        key = alt[key]
                    else:
                        raise MotifError(
                            f"motif file {str(path)!r} has no motif {key!r}; it has {sorted(found)[:20]}"
                        )
                m = found[key]
            elif source.consensus is not None:
                m = from_consensus(alias, source.consensus)
            else:
                m = from_matrix(alias, source.matrix, {"matrix": True})
            if source.columns is not None:
                m = m.sliced(*source.columns)
            if source.reverse_complement:
                m = m.reverse_complement()
        except MotifError as exc:
            raise SpecError(f"{where}: {exc}") from None
        motifs[alias] = m.renamed(alias)
    return motifs, files


def _check_references(spec: Spec, motifs: dict):
    known = sorted(motifs)
    for ci, cls in enumerate(spec.classes):
        for gi, cfg in enumerate(cls.configs):
            for kind, elems in (("motifs", cfg.motifs), ("scatter", cfg.scatter)):
                for ei, el in enumerate(elems):
                    if el.motif not in motifs:
                        raise SpecError(
                            f"classes[{ci}].configs[{gi}].{kind}[{ei}].motif: unknown motif {el.motif!r}; "
                            f"declare it under motifs (declared: {known})" + _did_you_mean(el.motif, known)
                        )
    for di, el in enumerate(spec.decoys):
        if el.motif not in motifs:
            raise SpecError(f"decoys[{di}].motif: unknown motif {el.motif!r}; declared: {known}"
                            + _did_you_mean(el.motif, known))


def _did_you_mean(name: str, known) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.6)
    return f". Did you mean {', '.join(map(repr, close))}?" if close else ""


def _check_fit(spec: Spec, motifs: dict):
    length = spec.length
    decoy_max = sum(dist_bounds(d.count)[1] * motifs[d.motif].width for d in spec.decoys)
    for ci, cls in enumerate(spec.classes):
        for gi, cfg in enumerate(cls.configs):
            where = f"classes[{ci}].configs[{gi}] ({cls.name}/{cfg.name})"
            chain_max = sum(motifs[e.motif].width for e in cfg.motifs)
            chain_max += sum(dist_bounds(e.gap)[1] for e in cfg.motifs[1:])
            if chain_max > length:
                raise SpecError(
                    f"{where}: its motifs and largest gaps need {chain_max} bp but length is {length}"
                )
            if cfg.position.mode == "fixed" and cfg.position.start + chain_max > length:
                raise SpecError(
                    f"{where}.position.start: a chain of up to {chain_max} bp starting at "
                    f"{cfg.position.start} does not fit in length {length}"
                )
            scatter_max = sum(dist_bounds(e.count)[1] * motifs[e.motif].width for e in cfg.scatter)
            scattered = scatter_max + decoy_max
            # random placement needs slack: scattered motifs may fill at most half of what the chain leaves
            if scattered and scattered > (length - chain_max) // 2:
                raise SpecError(
                    f"{where}: up to {scattered} bp of scattered motifs and decoys cannot be placed "
                    f"without overlap beside a {chain_max} bp chain in length {length}; keep them within "
                    f"{(length - chain_max) // 2} bp"
                )
