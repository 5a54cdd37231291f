"""The suite file: a validated description of a benchmark run, expanded into cells.

A suite (YAML)::

    name: default
    output: runs/default              # results, cache and report go under here
    seeds: [0, 1]
    simulations:
      - preset: spi1_single           # or spec: path.yaml, or spec: {inline grammar}
        n: 4000
        label: spi1                   # optional display name
    models:
      - name: argminn
        params: {num_filters: 8}
        train: {epochs: 10, batches_per_epoch: 50}
        grid: {params.num_filters: [8, 16]}   # Cartesian product over listed values
        zip: {params.filter_width: [10, 15], train.epochs: [10, 20]}   # lists taken together
    methods:
      - name: deeplift_shap
        params: {n_references: 10}
    metrics: [prediction, motifs, instances, attributions, syntax]
    interpret: {split: test, n_sequences: 500, classes: [positive]}
    executor: {kind: local, workers: 2}    # or kind: ray, address: auto

Validation is complete before anything runs: unknown keys, simulations, models,
methods, metrics and parameters are errors that list what is valid.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import itertools
import json
import re
from pathlib import Path
from typing import Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from simulations.user_files import Int, format_validation_error, read_yaml_mapping

from .errors import SuiteError  # noqa: F401  (re-exported: ``from bench.suite import SuiteError`` keeps working)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SimulationEntry(_Strict):
    preset: Optional[str] = None
    spec: Optional[Union[str, dict[str, Any]]] = None
    n: Int = Field(gt=0)
    label: Optional[str] = None

    @model_validator(mode="after")
    def _one_source(self):
        if (self.preset is None) == (self.spec is None):
            raise ValueError("give exactly one of preset or spec")
        return self


class ComponentEntry(_Strict):
    name: str
    params: dict[str, Any] = Field(default_factory=dict)
    grid: dict[str, list] = Field(default_factory=dict)
    zip: dict[str, list] = Field(default_factory=dict)
    label: Optional[str] = None


class ModelEntry(ComponentEntry):
    train: dict[str, Any] = Field(default_factory=dict)


class MethodEntry(ComponentEntry):
    pass


class InterpretConfig(_Strict):
    split: Literal["train", "valid", "test"] = "test"
    n_sequences: Int = Field(default=500, gt=0)
    # "auto": the positive classes plus any class holding a motif no positive holds (a repressor);
    # "all": every class; or a list of class names (bench.registry.interpreted_classes)
    classes: Union[Literal["auto", "all"], list[str]] = "auto"


class ExecutorConfig(_Strict):
    kind: Literal["local", "ray", "serial"] = "local"
    workers: Optional[Int] = Field(default=None, gt=0)
    address: Optional[str] = None
    # where every stage that runs a model runs it (training, interpretation, scoring): "auto" is a GPU where
    # there is one (each local worker its own, round robin; Ray tasks ask for their share), else the CPU
    device: str = "auto"

    @field_validator("device")
    @classmethod
    def _known_device(cls, v):
        if v not in ("auto", "cpu", "cuda") and not re.fullmatch(r"cuda:\d+", v):
            raise ValueError(f"must be 'auto', 'cpu', 'cuda' or 'cuda:<index>', got {v!r}")
        return v


class SuiteModel(_Strict):
    name: str
    description: str = ""
    output: str = "runs"
    seeds: list[Int] = Field(default_factory=lambda: [0], min_length=1)
    simulations: list[SimulationEntry] = Field(min_length=1)
    models: list[ModelEntry] = Field(min_length=1)
    methods: list[MethodEntry] = Field(default_factory=list)
    metrics: Optional[list[str]] = None
    interpret: InterpretConfig = Field(default_factory=InterpretConfig)
    executor: ExecutorConfig = Field(default_factory=ExecutorConfig)

    @field_validator("seeds")
    @classmethod
    def _distinct_seeds(cls, seeds):
        # a repeated seed repeats its cells: every result row would be written twice
        dupes = sorted({s for s in seeds if seeds.count(s) > 1})
        if dupes:
            raise ValueError(f"each seed must appear once; {', '.join(map(str, dupes))} "
                             f"{'appears' if len(dupes) == 1 else 'appear'} more than once in {list(seeds)} "
                             f"(its cells would run twice and every result row be written twice)")
        return seeds


# --------------------------------------------------------------------------- expanded suite


def canonical(obj) -> str:
    """A canonical JSON string: sorted keys, no whitespace (for hashing)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def stable_hash(*parts, length: int = 16) -> str:
    return hashlib.sha256(canonical(parts).encode()).hexdigest()[:length]


def derive_seed(*identity) -> int:
    """A seed from a cell's identity, so adding a cell changes no other cell's seed."""
    return int(stable_hash(*identity, length=8), 16) % (2**31 - 1)


class Component:
    """A concrete model or method: name, label, parameters (and training config for models)."""

    def __init__(self, name: str, params: dict, train: Optional[dict] = None, label: Optional[str] = None,
                 base: Optional[str] = None):
        self.name = name
        self.params = params
        self.train = train
        self.label = label or name
        # the suite file's folder: where a plug-in's ``module:attr`` is imported from first (not part of the
        # identity: a suite moved elsewhere names the same components)
        self.base = base

    def identity(self) -> dict:
        out = {"name": self.name, "params": self.params}
        if self.train is not None:
            out["train"] = self.train
        return out

    def __repr__(self):
        return f"Component({self.label})"


class SimulationCase:
    def __init__(self, label: str, spec: dict, n: int):
        self.label = label
        self.spec = spec
        self.n = n

    def identity(self) -> dict:
        return {"spec": self.spec, "n": self.n}


class Suite:
    """A validated, expanded suite: concrete simulations, models, methods and seeds."""

    def __init__(self, raw: SuiteModel, simulations, models, methods, metrics, source: Optional[Path]):
        self.raw = raw
        self.name = raw.name
        self.simulations: list[SimulationCase] = simulations
        self.models: list[Component] = models
        self.methods: list[Component] = methods
        self.metrics: list[str] = metrics
        #: where the suite's metric-family plug-ins (``module:attr`` in ``metrics``) are imported from
        self.metrics_base = str((source.parent if source is not None else Path.cwd()).resolve())
        self.seeds = list(raw.seeds)
        self.source = source
        self.selection: dict = {}  # what :meth:`select` kept, recorded in the provenance
        base = source.parent if source is not None else Path.cwd()
        out = Path(raw.output)
        self.output = out if out.is_absolute() else (base / out)

    @property
    def hash(self) -> str:
        return stable_hash(self.raw.model_dump(mode="json"))

    def select(self, simulations=None, models=None, methods=None) -> "Suite":
        """Keep only the named simulations, models and methods (labels); ``None`` keeps all.

        Each is a list of labels or one comma-separated string (see :func:`split_labels`: commas inside
        a grid label's ``[...]``, and labels that themselves hold commas, are kept whole).
        For running a large suite in parts: the stage caches are keyed by content, so a later run of
        the whole suite reuses every dataset, model and interpretation a selection computed.
        Raises :class:`SuiteError` for a label the suite does not have, or for an empty selection.
        """
        for field_name, wanted in (("simulations", simulations), ("models", models), ("methods", methods)):
            if wanted is None:
                continue
            items = getattr(self, field_name)
            labels = [item.label for item in items]
            if isinstance(wanted, str):
                wanted = split_labels(wanted, labels)
            wanted = list(wanted)
            if not wanted:
                raise SuiteError(f"--{field_name}: no labels given (it would run nothing); name some of: "
                                 f"{', '.join(labels)}")
            unknown = [w for w in wanted if w not in labels]
            if unknown:
                hint = ""
                close = difflib.get_close_matches(unknown[0], labels, n=3, cutoff=0.6)
                if close:
                    hint = f". Did you mean {', '.join(close)}?"
                raise SuiteError(f"--{field_name}: {', '.join(map(repr, unknown))} not in suite "
                                 f"{self.name!r}; it has: {', '.join(labels)}{hint}")
            setattr(self, field_name, [item for item in items if item.label in wanted])
            self.selection[field_name] = list(wanted)
        return self

    def cells(self):
        """Every (simulation, model, seed) triple, in a stable order."""
        for sim in self.simulations:
            for model in self.models:
                for seed in self.seeds:
                    yield sim, model, seed


def split_labels(text: str, labels=()) -> list[str]:
    """Split a comma-separated list of labels as the suite prints them.

    Where several comma-separated pieces together spell one of ``labels`` (a grid label such as
    ``cnn[epochs=1,lr=0.1]``, or a label that holds a comma), they are kept together, the longest
    match first; an unknown label keeps the commas inside its brackets (so an error can show it
    whole). Surrounding spaces and empty pieces are dropped.
    """
    tokens = text.split(",")
    known = {label.strip(): label for label in labels}
    out, i = [], 0
    while i < len(tokens):
        for j in range(len(tokens), i, -1):
            joined = ",".join(tokens[i:j]).strip()
            if joined in known:
                out.append(known[joined])
                i = j
                break
        else:
            j, depth = i, 0
            while j < len(tokens):  # an unknown label: up to the comma where its brackets close
                depth += tokens[j].count("[") - tokens[j].count("]")
                j += 1
                if depth <= 0:
                    break
            piece = ",".join(tokens[i:j]).strip()
            if piece:
                out.append(piece)
            i = j
    return out


# --------------------------------------------------------------------------- loading


def load_suite(path_or_dict) -> Suite:
    """Read and validate a suite file (or dict) completely; raises :class:`SuiteError`."""
    source = None
    if isinstance(path_or_dict, (str, Path)):
        source = Path(path_or_dict)
        data = read_yaml_mapping(source, "suite", SuiteError, "name, simulations, models, ...")
    else:
        data = copy.deepcopy(path_or_dict)
    try:
        raw = SuiteModel.model_validate(data)
    except ValidationError as exc:
        raise SuiteError(format_validation_error(exc, "suite")) from None
    from . import registry

    base = source.parent if source is not None else Path.cwd()
    simulations = _expand_simulations(raw, base)
    models = []
    for i, entry in enumerate(raw.models):
        for comp in _expand(entry, f"models[{i}]", has_train=True, base=base):
            registry.check_model(comp, f"models[{i}]")
            models.append(comp)
    methods = []
    for i, entry in enumerate(raw.methods):
        for comp in _expand(entry, f"methods[{i}]", has_train=False, base=base):
            registry.check_method(comp, f"methods[{i}]")
            methods.append(comp)
    metrics = registry.check_metrics(raw.metrics, base)
    _check_unique([m.label for m in models], "models")
    _check_unique([m.label for m in methods], "methods")
    _check_unique([s.label for s in simulations], "simulations")
    _check_interpret_classes(raw.interpret.classes, simulations)
    _check_negative_control_widths(raw, simulations)
    return Suite(raw, simulations, models, methods, metrics, source)


def _check_interpret_classes(classes, simulations):
    """A list of classes must name classes every simulation's grammar has (else every method of the
    cell would fail on an empty selection, far from the typo)."""
    if not isinstance(classes, list):
        return  # "auto" or "all" (the field's own validation refuses anything else)
    if not classes:
        raise SuiteError("interpret.classes: the list is empty; name classes of the grammar, or give 'auto' "
                         "or 'all'")
    for sim in simulations:
        names = [str(c["name"]) for c in sim.spec["classes"]]
        unknown = [c for c in classes if c not in names]
        if unknown:
            close = difflib.get_close_matches(unknown[0], names, n=3, cutoff=0.7)
            hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
            also = (" (interpret.classes applies to every simulation; 'auto' or 'all' suit simulations whose "
                    "classes differ)") if len(simulations) > 1 else ""
            raise SuiteError(f"interpret.classes: {', '.join(map(repr, unknown))} "
                             f"{'is not a class' if len(unknown) == 1 else 'are not classes'} of simulation "
                             f"{sim.label!r}, whose classes are {names}.{hint}{also}")


def _plants_functional_motifs(spec: dict) -> bool:
    for cls in spec["classes"]:
        for cfg in cls["configs"]:
            if cfg.get("weight", 1) > 0 and any(e.get("functional", True)
                                                for e in [*cfg.get("motifs", []), *cfg.get("scatter", [])]):
                return True
    return False


def _check_negative_control_widths(raw: SuiteModel, simulations):
    """negative_control draws one random motif per planted motif, of its width; its ``widths`` parameter
    is the fallback for direct calls without planted motifs. In a suite whose simulations all plant
    motifs, a given ``widths`` would be ignored: refuse it rather than ignore it."""
    if not all(_plants_functional_motifs(sim.spec) for sim in simulations):
        return
    for i, entry in enumerate(raw.methods):
        given = "widths" in entry.params or "params.widths" in entry.grid or "params.widths" in entry.zip
        if entry.name == "negative_control" and given:
            raise SuiteError(f"methods[{i}].params.widths: negative_control takes one random motif per planted "
                             f"motif, of that motif's width, so widths would be ignored in this suite (every "
                             f"simulation plants motifs); remove it")


def _check_unique(labels, where):
    dupes = sorted({x for x in labels if labels.count(x) > 1})
    if dupes:
        raise SuiteError(f"{where}: labels must be unique, {dupes} appear twice; give each a distinct label")


def _expand_simulations(raw: SuiteModel, base: Path) -> list[SimulationCase]:
    from simulations import SpecError, list_presets, load_preset, parse_spec
    from simulations.grammar import load_spec_file

    cases = []
    for i, entry in enumerate(raw.simulations):
        where = f"simulations[{i}]"
        if entry.preset is not None:
            if entry.preset not in list_presets():
                close = difflib.get_close_matches(entry.preset, list_presets(), n=3, cutoff=0.6)
                hint = f". Did you mean {', '.join(close)}?" if close else ""
                raise SuiteError(f"{where}.preset: unknown simulation {entry.preset!r}; presets are {list_presets()}"
                                 + hint)
            spec = load_preset(entry.preset)
        elif isinstance(entry.spec, str):
            p = Path(entry.spec)
            p = p if p.is_absolute() else base / p
            try:
                spec = load_spec_file(p)
            except SpecError as exc:
                raise SuiteError(f"{where}.spec: {exc}") from None
        else:
            spec = dict(entry.spec)
            # relative motif files in an inline spec are beside the suite file, as for a `spec:` file
            spec.setdefault("_base_dir", str(base.resolve()))
        try:
            resolved = parse_spec(spec)
        except SpecError as exc:
            raise SuiteError(f"{where}: {exc}") from None
        canonical_spec = resolved.to_dict()
        for j, cls in enumerate(canonical_spec["classes"]):
            if cls["label"] not in (0, 1):  # also refuses a list of labels (several tasks)
                raise SuiteError(f"{where}: classes[{j}] ({cls['name']!r}) has label {cls['label']!r}; the "
                                 f"benchmark's models are single-task binary classifiers, so every class needs "
                                 f"label 0 or 1")
        cases.append(SimulationCase(entry.label or canonical_spec["name"], canonical_spec, entry.n))
    return cases


def _set_path(target: dict, dotted: str, value, where: str, has_train: bool):
    head, _, rest = dotted.partition(".")
    if head not in ({"params", "train"} if has_train else {"params"}) or not rest:
        valid = "params.<name>" + (" or train.<name>" if has_train else "")
        raise SuiteError(f"{where}: grid/zip key {dotted!r} must be {valid}")
    target.setdefault(head, {})[rest] = value


def _installed_name(name: str, has_train: bool) -> str:
    """A component an installed package declares (an entry point) by its ``module:attr``; else ``name``."""
    from .plugins import resolve_installed

    if has_train:
        import models

        return resolve_installed("models", name, models.list_models())
    from .methods import METHODS

    return resolve_installed("methods", name, METHODS)


def _expand(entry: ComponentEntry, where: str, has_train: bool, base: Optional[Path] = None) -> list[Component]:
    name = _installed_name(entry.name, has_train)
    lengths = {k: len(v) for k, v in entry.zip.items()}
    if len(set(lengths.values())) > 1:
        raise SuiteError(f"{where}.zip: lists must have one length, got {lengths}")
    for k, v in {**entry.grid, **entry.zip}.items():
        if len(v) == 0:
            raise SuiteError(f"{where}: {k!r} lists no values")
    grid_keys = list(entry.grid)
    zip_rows = list(zip(*entry.zip.values())) if entry.zip else [()]
    out = []
    for combo in itertools.product(*entry.grid.values()):
        for zrow in zip_rows:
            spec = {"params": dict(entry.params)}
            if has_train:
                spec["train"] = dict(getattr(entry, "train", {}))
            for k, v in zip(grid_keys, combo):
                _set_path(spec, k, v, where, has_train)
            for k, v in zip(entry.zip, zrow):
                _set_path(spec, k, v, where, has_train)
            varied = {k: v for k, v in zip(grid_keys, combo)}
            varied.update(dict(zip(entry.zip, zrow)))
            label = entry.label or entry.name
            if varied:
                label += "[" + ",".join(f"{k.split('.', 1)[1]}={v}" for k, v in varied.items()) + "]"
            out.append(Component(name, spec["params"], spec.get("train") if has_train else None, label,
                                 base=None if base is None else str(Path(base).resolve())))
    return out
