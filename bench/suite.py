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
import hashlib
import itertools
import json
from pathlib import Path
from typing import Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from simulations.grammar import format_validation_error, read_yaml_mapping


class SuiteError(ValueError):
    """A suite file is malformed; the message names the field and the valid alternatives."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SimulationEntry(_Strict):
    preset: Optional[str] = None
    spec: Optional[Union[str, dict[str, Any]]] = None
    n: int = Field(gt=0)
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
    n_sequences: int = Field(default=500, gt=0)
    # "auto": the positive classes plus any class holding a motif no positive holds (a repressor);
    # "all": every class; or a list of class names (bench.registry.interpreted_classes)
    classes: Union[Literal["auto", "all"], list[str]] = "auto"


class ExecutorConfig(_Strict):
    kind: Literal["local", "ray", "serial"] = "local"
    workers: Optional[int] = Field(default=None, gt=0)
    address: Optional[str] = None


class SuiteModel(_Strict):
    name: str
    description: str = ""
    output: str = "runs"
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    simulations: list[SimulationEntry] = Field(min_length=1)
    models: list[ModelEntry] = Field(min_length=1)
    methods: list[MethodEntry] = Field(default_factory=list)
    metrics: Optional[list[str]] = None
    interpret: InterpretConfig = Field(default_factory=InterpretConfig)
    executor: ExecutorConfig = Field(default_factory=ExecutorConfig)


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

    def __init__(self, name: str, params: dict, train: Optional[dict] = None, label: Optional[str] = None):
        self.name = name
        self.params = params
        self.train = train
        self.label = label or name

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

        For running a large suite in parts: the stage caches are keyed by content, so a later run of
        the whole suite reuses every dataset, model and interpretation a selection computed.
        Raises :class:`SuiteError` for a label the suite does not have.
        """
        for field_name, wanted in (("simulations", simulations), ("models", models), ("methods", methods)):
            if wanted is None:
                continue
            items = getattr(self, field_name)
            labels = [item.label for item in items]
            unknown = [w for w in wanted if w not in labels]
            if unknown:
                raise SuiteError(f"--{field_name}: {', '.join(map(repr, unknown))} not in suite "
                                 f"{self.name!r}; it has: {', '.join(labels)}")
            setattr(self, field_name, [item for item in items if item.label in wanted])
            self.selection[field_name] = list(wanted)
        return self

    def cells(self):
        """Every (simulation, model, seed) triple, in a stable order."""
        for sim in self.simulations:
            for model in self.models:
                for seed in self.seeds:
                    yield sim, model, seed


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
        for comp in _expand(entry, f"models[{i}]", has_train=True):
            registry.check_model(comp, f"models[{i}]")
            models.append(comp)
    methods = []
    for i, entry in enumerate(raw.methods):
        for comp in _expand(entry, f"methods[{i}]", has_train=False):
            registry.check_method(comp, f"methods[{i}]")
            methods.append(comp)
    metrics = registry.check_metrics(raw.metrics)
    _check_unique([m.label for m in models], "models")
    _check_unique([m.label for m in methods], "methods")
    _check_unique([s.label for s in simulations], "simulations")
    return Suite(raw, simulations, models, methods, metrics, source)


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
                raise SuiteError(f"{where}.preset: unknown simulation {entry.preset!r}; presets are {list_presets()}")
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


def _expand(entry: ComponentEntry, where: str, has_train: bool) -> list[Component]:
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
            out.append(Component(entry.name, spec["params"], spec.get("train") if has_train else None, label))
    return out
