"""Components by import path: a suite's model or method ``name`` may be ``module:attr``.

The module is imported from the suite file's folder first, then from ``sys.path``.

* A **model** plug-in is a ``torch.nn.Module`` class mapping one-hot ``(N, 4, L)`` to logits ``(N,)`` or
  ``(N, 1)``, constructed with the entry's ``params`` (plus ``input_length`` when its constructor names
  it); its parameters and defaults are read from the constructor signature.
* A **metric family** plug-in is a :class:`bench.families.Family` (``metrics: [my_family:FAMILY]``) with
  a ``score(interp, ctx)`` and/or ``score_cell(interps, ctx)`` writing ``<its name>/<measure>``.
* A **method** plug-in is a function ``(model, x, params, seed, truth_motifs) -> Interpretation`` that
  declares what it produces, with :func:`method` or with attributes of the same names::

      from bench.plugins import method

      @method(produces=["attributions"], requires=["differentiable"], params={"n_steps": 10})
      def my_saliency(model, x, params, seed, truth_motifs):
          ...
          return Interpretation(attributions=..., hypothetical=...)

An installed package can declare its components as entry points (:data:`ENTRY_POINT_GROUPS`); a suite
then names them by their entry-point name, and they are loaded like a ``module:attr`` plug-in.

The cache keys of every stage that uses a plug-in hold a hash of its module's source file
(:func:`source_hash`), so an edited plug-in is recomputed rather than served from the cache.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib
import inspect
import re
import sys
from pathlib import Path

from .errors import PluginError

#: plug-in methods loaded in this process, by their suite name (``module:attr``)
_LOADED_METHODS: dict = {}
#: plug-in metric families loaded in this process, by their suite name (``module:attr``)
_LOADED_FAMILIES: dict = {}
#: the benchmark's own top-level packages: a user's module of that name would shadow them
RESERVED = ("bench", "models", "simulations")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def is_plugin(name) -> bool:
    """Whether a suite ``name`` is an import path (``module:attr``) rather than a built-in's name."""
    return isinstance(name, str) and ":" in name


def find_method(name: str):
    """The built-in method ``name``, or the plug-in loaded under that name in this process; else None."""
    from .methods import METHODS

    return METHODS.get(name) or _LOADED_METHODS.get(name)


def method(produces, requires=(), params=None, quality_rule=None, validate=None, description=None):
    """Declare a function as a method plug-in: what it produces (a subset of motifs, instances,
    attributions), what it needs from the model (``differentiable``, ``conv_first_layer``,
    ``argminn``), its parameters with defaults, optionally the paper's quality rule for its motifs and
    a ``validate(params)`` raising ValueError. Returns the function itself, with those attributes."""
    from .methods._core import check_produces, check_requires

    produced = check_produces(produces, "@method")
    required = check_requires(requires, "@method")

    def wrap(fn):
        fn.produces, fn.requires, fn.params = produced, required, dict(params or {})
        fn.quality_rule, fn.validate = quality_rule, validate
        if description is not None:
            fn.description = description
        return fn
    return wrap


# --------------------------------------------------------------------------- importing


def split_name(name: str) -> tuple[str, str]:
    """``module:attr`` -> ``(module, attr)``; PluginError for a malformed one."""
    module, sep, attr = name.partition(":")
    if not sep or not _NAME.match(module) or not _NAME.match(attr):
        raise PluginError(f"{name!r} is not a plug-in path: write module:attr (a Python module name, a colon, "
                          f"the name of a class or function in it), e.g. my_models:TinyCNN")
    return module, attr


def module_file(module: str, base) -> Path | None:
    """The file of ``module`` inside folder ``base`` (``a/b.py`` or ``a/b/__init__.py``), or None."""
    if base is None:
        return None
    stem = Path(base).joinpath(*module.split("."))
    for candidate in (stem.with_suffix(".py"), stem / "__init__.py"):
        if candidate.is_file():
            return candidate.resolve()
    return None


def _file_hash(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


_IMPORTED: dict = {}  # module name -> (file, hash) this module imported it at


def import_module(module: str, base=None):
    """Import ``module`` from folder ``base`` first, then ``sys.path``; a module file edited since it was
    imported here is imported again. PluginError (one line) where it cannot be imported."""
    top = module.split(".")[0]
    path = module_file(module, base)
    if top in RESERVED:
        where = f" ({path})" if path else ""
        raise PluginError(f"plug-in module {module!r}{where} has the name of the benchmark's own package {top!r}; "
                          f"rename the file (e.g. my_{top}.py) and write my_{top}:... in the suite")
    added = False
    if path is not None:
        loaded = sys.modules.get(module)
        current = (str(path), _file_hash(path))
        if loaded is not None and _IMPORTED.get(module) != current:
            for key in [k for k in sys.modules if k == module or k.startswith(module + ".")]:
                del sys.modules[key]
        root = str(Path(base).resolve())
        if root not in sys.path:
            sys.path.insert(0, root)
            added = True
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and (exc.name == module or module.startswith(exc.name + ".")):
            looked = f"no {module.replace('.', '/')}.py in {Path(base).resolve()} and " if base is not None else ""
            raise PluginError(f"cannot import plug-in module {module!r}: {looked}none on sys.path") from None
        raise PluginError(f"plug-in module {module!r} failed to import: {type(exc).__name__}: {exc}") from None
    except Exception as exc:  # a syntax error or any error the module raises at import
        raise PluginError(f"plug-in module {module!r} failed to import: {type(exc).__name__}: {exc}") from None
    finally:
        if added:
            sys.path.remove(str(Path(base).resolve()))
    if path is not None:
        _IMPORTED[module] = (str(path), _file_hash(path))
    return mod


def resolve(name: str, base=None):
    """``(object, source file or None)`` for a suite ``module:attr``."""
    module, attr = split_name(name)
    mod = import_module(module, base)
    obj = mod
    for part in attr.split("."):
        if not hasattr(obj, part):
            public = [a for a in dir(mod) if not a.startswith("_")]
            close = difflib.get_close_matches(part, public, n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise PluginError(f"plug-in module {module!r} ({getattr(mod, '__file__', '?')}) has no attribute "
                              f"{attr!r}{hint}")
        obj = getattr(obj, part)
    source = getattr(mod, "__file__", None)
    return obj, (str(Path(source).resolve()) if source else None)


def source_hash(source) -> str:
    """Hash of a plug-in's module file (what its cache keys hold); ``"-"`` without a file."""
    return _file_hash(source) if source and Path(source).is_file() else "-"


# --------------------------------------------------------------------------- models and methods


def load_model(name: str, base=None):
    """Import the model plug-in ``name`` and register it with ``models``; returns its source file."""
    import torch

    import models.registry as mreg

    obj, source = resolve(name, base)
    if not (isinstance(obj, type) and issubclass(obj, torch.nn.Module)):
        kind = "a class" if isinstance(obj, type) else f"a {type(obj).__name__}"
        raise PluginError(f"model plug-in {name!r} is {kind}, not a torch.nn.Module class (a model plug-in is a "
                          f"torch.nn.Module subclass mapping (N, 4, L) one-hot to (N,) or (N, 1) logits)")
    mreg.register_plugin(name, obj, source)
    return source


def load_method(name: str, base=None):
    """Import the method plug-in ``name``: a :class:`~bench.methods.Method`, or a function declared
    with :func:`method` (or the same attributes); registers and returns the Method."""
    import dataclasses

    from .methods import Method

    obj, source = resolve(name, base)
    if isinstance(obj, Method):
        m = dataclasses.replace(obj, name=name, source=source)
    else:
        if isinstance(obj, type) or not callable(obj):
            raise PluginError(f"method plug-in {name!r} is a {type(obj).__name__}, not a function "
                              f"(model, x, params, seed, truth_motifs) -> Interpretation")
        try:
            inspect.signature(obj).bind(None, None, {}, 0, [])
        except TypeError:
            raise PluginError(f"method plug-in {name!r} must take (model, x, params, seed, truth_motifs); its "
                              f"signature is {inspect.signature(obj)}") from None
        except ValueError:  # no signature to read (a builtin): let the call tell
            pass
        if getattr(obj, "produces", None) is None:
            raise PluginError(f"method plug-in {name!r} does not declare what it produces: decorate it with "
                              f"@bench.plugins.method(produces=[...]) (a subset of motifs, instances, "
                              f"attributions), or set its produces attribute")
        params = dict(getattr(obj, "params", None) or getattr(obj, "default_params", None) or {})
        try:
            m = Method(name, obj, tuple(getattr(obj, "requires", ()) or ()), params,
                       getattr(obj, "validate", None),
                       getattr(obj, "description", None) or (inspect.getdoc(obj) or "").split("\n")[0],
                       produces=obj.produces, quality_rule=getattr(obj, "quality_rule", None), source=source)
        except ValueError as exc:
            raise PluginError(f"method plug-in {name!r}: {exc}") from None
    _LOADED_METHODS[name] = m
    return m


# --------------------------------------------------------------------------- installed packages

#: the entry-point groups an installed package declares its components under (``pyproject.toml``:
#: ``[project.entry-points."argminn_bench.models"] my_cnn = "my_pkg.models:MyCNN"``)
ENTRY_POINT_GROUPS = {"models": "argminn_bench.models", "methods": "argminn_bench.methods",
                      "metrics": "argminn_bench.metrics"}


def installed(kind: str) -> dict:
    """``{name: "module:attr"}`` of the components installed packages declare for ``kind`` (``models``,
    ``methods`` or ``metrics``) as entry points."""
    from importlib import metadata

    return {ep.name: ep.value for ep in metadata.entry_points(group=ENTRY_POINT_GROUPS[kind])}


def resolve_installed(kind: str, name, builtin) -> str:
    """``name`` as a suite means it: a built-in's name (``builtin``) or a ``module:attr`` path stays as it is;
    the name of a component an installed package declares becomes that entry point's ``module:attr``."""
    if not isinstance(name, str) or is_plugin(name) or name in builtin:
        return name
    return installed(kind).get(name, name)


def load_family(name: str, base=None):
    """Import the metric-family plug-in ``name``: a :class:`bench.families.Family` (``module:FAMILY``);
    registers and returns it (its ``source`` set to the module's file)."""
    import dataclasses

    from .families import FAMILIES, Family

    obj, source = resolve(name, base)
    if not isinstance(obj, Family):
        raise PluginError(f"metric family plug-in {name!r} is a {type(obj).__name__}, not a "
                          f"bench.families.Family (declare FAMILY = Family(name=..., needs=..., score=...))")
    if obj.name in FAMILIES:
        raise PluginError(f"metric family plug-in {name!r} is named {obj.name!r}, a built-in family's name; "
                          f"give it a name of its own")
    if obj.score is None and obj.score_cell is None:
        raise PluginError(f"metric family plug-in {name!r} has no scorer: set score (per interpretation) "
                          f"or score_cell (per cell)")
    family = dataclasses.replace(obj, source=source)
    _LOADED_FAMILIES[name] = family
    return family


def find_family(name: str):
    """The metric-family plug-in loaded under the suite name ``name`` in this process, else None."""
    return _LOADED_FAMILIES.get(name)


def component_source(component):
    """The source file of a plug-in component (loading it where needed); None for a built-in."""
    if not is_plugin(component.name):
        return None
    base = getattr(component, "base", None)
    if getattr(component, "train", None) is not None:  # a model entry
        return load_model(component.name, base)
    return load_method(component.name, base).source


def plugin_hashes(*components) -> dict:
    """``{name: source hash}`` of the plug-ins among ``components`` (empty for built-ins only): what the
    cache keys add, so that built-in keys are what they were."""
    out = {}
    for c in components:
        if is_plugin(c.name):
            out[c.name] = source_hash(component_source(c))
    return out


# --------------------------------------------------------------------------- contract checks


class CheckReport:
    """The outcome of :func:`check`: what was checked, and one message per failure."""

    def __init__(self, name: str, kind: str):
        self.name, self.kind = name, kind
        self.passed: list[str] = []
        self.failures: list[str] = []

    @property
    def ok(self) -> bool:
        return not self.failures

    def expect(self, condition: bool, what: str, failure: str) -> bool:
        (self.passed.append(what) if condition else self.failures.append(failure))
        return bool(condition)

    def lines(self) -> list[str]:
        out = [f"ok    {p}" for p in self.passed] + [f"FAIL  {f}" for f in self.failures]
        verdict = "passes every check" if self.ok else f"fails {len(self.failures)} check(s)"
        return out + [f"{self.kind} {self.name}: {verdict}"]


def random_one_hot(n: int, length: int, seed: int = 0):
    import numpy as np

    codes = np.random.default_rng(seed).integers(0, 4, size=(n, length))
    return (codes[:, None, :] == np.arange(4)[None, :, None]).astype(np.float32)


_PROBABILITY_MODULES = ("Sigmoid", "Softmax", "Softmax2d", "LogSigmoid", "LogSoftmax")


def _last_leaf(net):
    leaves = [m for m in net.modules() if not list(m.children())]
    return leaves[-1] if leaves else None


def check(name: str, base=None, params: dict | None = None, length: int = 100, n: int = 8) -> CheckReport:
    """The contract checks on the plug-in ``module:attr`` (a model class or a method function), as
    ``sklearn``'s ``check_estimator``: raises PluginError only where it cannot be imported."""
    import torch

    obj, _ = resolve(name, base)
    if isinstance(obj, type) and issubclass(obj, torch.nn.Module):
        return check_model_plugin(name, base, params or {}, length, n)
    return check_method_plugin(name, base, params or {}, length, n)


def check_model_plugin(name, base=None, params=None, length: int = 100, n: int = 8) -> CheckReport:
    import numpy as np
    import torch

    import models

    rep = CheckReport(name, "model")
    try:
        load_model(name, base)
        full = models.check_model_params(name, dict(params or {}))
        model = models.build_model(name, full, input_length=length, seed=0).eval()
    except Exception as exc:
        rep.failures.append(f"cannot build it with params {params or {}} and input_length {length}: "
                            f"{type(exc).__name__}: {exc}")
        return rep
    rep.passed.append(f"builds with params {full} (input_length {length})")
    x = random_one_hot(n, length)
    xt = torch.from_numpy(x)
    try:
        with torch.no_grad():
            raw = model.net(xt)
    except Exception as exc:
        rep.failures.append(f"forward fails on a one-hot batch of shape {tuple(xt.shape)}: {type(exc).__name__}: {exc}")
        return rep
    shape_ok = isinstance(raw, torch.Tensor) and tuple(raw.shape) in ((n,), (n, 1))
    got = tuple(raw.shape) if isinstance(raw, torch.Tensor) else type(raw).__name__
    if not rep.expect(shape_ok, f"maps (N, 4, L) = {tuple(xt.shape)} to {got}",
                      f"output shape: (N, 4, L) = {tuple(xt.shape)} must map to logits ({n},) or ({n}, 1), got {got}"):
        return rep
    out = raw.detach().reshape(-1).double().numpy()
    rep.expect(bool(np.all(np.isfinite(out))), "outputs are finite", "outputs hold NaN or infinity on a random batch")
    last = _last_leaf(model.net)
    try:
        src = inspect.getsource(type(model.net).forward)
    except (OSError, TypeError):
        src = ""
    squashed = (last is not None and type(last).__name__ in _PROBABILITY_MODULES) or bool(
        re.search(r"\b(sigmoid|softmax)\s*\(", src))
    in_unit = bool(np.all((out >= 0) & (out <= 1)))
    rep.expect(not (in_unit and squashed), "outputs are logits (not squashed into [0, 1])",
               f"logits: every output of a random batch lies in [0, 1] and the network ends in a "
               f"{type(last).__name__ if last is not None and type(last).__name__ in _PROBABILITY_MODULES else 'sigmoid/softmax'}"
               f": it returns probabilities; return the logits (the loss and the attributions take the "
               f"pre-sigmoid value)")
    again = models.build_model(name, full, input_length=length, seed=0).eval()
    with torch.no_grad():
        same_init = torch.equal(model(xt), again(xt))
        same_call = torch.equal(model(xt), model(xt))
    rep.expect(same_init, "the same seed builds the same network",
               "determinism: two builds under the same seed give different outputs (initialize with torch's RNG only)")
    rep.expect(same_call, "eval-mode forward is deterministic",
               "determinism: two eval-mode forward passes on the same batch differ (randomness in forward?)")
    xg = xt.clone().requires_grad_(True)
    try:
        model(xg).sum().backward()
        grad_ok = xg.grad is not None and bool(torch.isfinite(xg.grad).all()) and bool(xg.grad.abs().sum() > 0)
    except Exception:
        grad_ok = False
    rep.expect(grad_ok, "gradients reach the input", "differentiable: no (finite, non-zero) gradient reaches the input")
    from .methods.attribution import attribute, check_deeplift_compatible

    try:
        check_deeplift_compatible(model, x)
        compatible = True
        rep.passed.append("every nonlinearity has a DeepLIFT rule (" + ", ".join(sorted(
            {type(m).__name__ for m in model.modules() if not list(m.children())})) + ")")
    except ValueError as exc:
        compatible = False
        rep.failures.append(f"DeepLIFT: {exc}")
    if compatible and grad_ok:
        try:
            _, _, err = attribute(model, x[:4], "deeplift_shap", n_references=2, seed=0)
            worst = float(np.nanmax(err))
            rep.expect(worst < 1e-3, f"DeepLiftSHAP is complete (max error {worst:.1e})",
                       f"DeepLIFT: attributions do not sum to the logit difference (max error {worst:.3g}): a "
                       f"module or operation without a DeepLIFT rule")
        except Exception as exc:
            rep.failures.append(f"DeepLIFT: DeepLiftSHAP fails on the model: {type(exc).__name__}: {exc}")
    return rep


def check_method_plugin(name, base=None, params=None, length: int = 100, n: int = 6) -> CheckReport:
    import numpy as np

    import models
    from simulations import Motif

    from .methods import Interpretation, check_requirements

    rep = CheckReport(name, "method")
    try:
        m = load_method(name, base)
        merged = m.check_params(params)
    except (PluginError, ValueError) as exc:
        rep.failures.append(str(exc))
        return rep
    rep.passed.append(f"declares produces {list(m.produces)}, requires {list(m.requires)}, params {merged}")
    model = models.build_model("cnn", {}, input_length=length, seed=0).eval()
    reason = check_requirements(m, model)
    if reason:  # a route for ARGMINN only, say: check it on an ARGMINN
        model = models.build_model("argminn", {}, input_length=length, seed=0).eval()
        reason = check_requirements(m, model)
    if reason:
        rep.failures.append(f"requirements: neither the paper CNN nor ARGMINN meets them: {reason}")
        return rep
    x = random_one_hot(n, length)
    rng = np.random.default_rng(0)
    truth = [Motif("M", rng.dirichlet(np.ones(4), size=8).T)]
    runs = []
    for attempt in range(2):
        try:
            runs.append(m.fn(model, x.copy(), dict(merged), 0, truth))
        except Exception as exc:
            rep.failures.append(f"Interpretation: the call raised {type(exc).__name__}: {exc}")
            return rep
    interp = runs[0]
    if not rep.expect(isinstance(interp, Interpretation), "returns an Interpretation",
                      f"Interpretation: it must return bench.methods.Interpretation, got {type(interp).__name__}"):
        return rep
    for key in ("attributions", "hypothetical"):
        arr = getattr(interp, key)
        if arr is None:
            if key == "attributions":
                rep.expect("attributions" not in m.produces, "declares no attributions and returns none",
                           "Interpretation: it declares attributions but returns attributions=None")
            continue
        shape = tuple(np.shape(arr))
        if rep.expect(shape == x.shape, f"{key} have the input's shape {x.shape}",
                      f"Interpretation: {key} must have the input's shape (N, 4, L) = {x.shape}, got {shape}"):
            rep.expect(bool(np.all(np.isfinite(arr))), f"{key} are finite", f"Interpretation: {key} hold NaN or infinity")
    if interp.attributions is not None:
        rep.expect("attributions" in m.produces, "returns the attributions it declares",
                   "Interpretation: it returns attributions but does not declare them (add 'attributions' to produces)")
    has_calls = bool(interp.motifs) or len(interp.instances) > 0
    if has_calls:
        rep.expect("motifs" in m.produces, "returns the motifs it declares",
                   "Interpretation: it returns motifs or instances but does not declare motifs in produces")
    bad = [mo.name for mo in interp.motifs if not (isinstance(mo, Motif) and np.shape(mo.pfm)[0] == 4)]
    rep.expect(not bad, "motifs are Motifs with (4, W) matrices",
               f"Interpretation: motifs {bad[:5]} are not simulations.Motif with a (4, W) matrix")
    inst = interp.instances
    if len(inst):
        inside = ((inst["seq"] >= 0) & (inst["seq"] < n) & (inst["start"] >= 0) & (inst["end"] <= length)
                  & (inst["start"] < inst["end"]))
        rep.expect(bool(inside.all()), "instances lie inside the sequences",
                   f"Interpretation: {int((~inside).sum())} instance(s) lie outside the {n} sequences of "
                   f"{length} bp (seq in [0, N), 0 <= start < end <= L)")
    other = runs[1]
    same = isinstance(other, Interpretation) and (
        (interp.attributions is None) == (other.attributions is None)
        and (interp.attributions is None or np.array_equal(interp.attributions, other.attributions))
        and interp.instances.equals(other.instances))
    rep.expect(same, "the same seed gives the same output",
               "determinism: two calls with the same seed return different attributions or instances (derive "
               "every random draw from the seed argument)")
    return rep
