"""Components by import path: a suite's model or method ``name`` may be ``module:attr``.

The module is imported from the suite file's folder first, then from ``sys.path``.

* A **model** plug-in is a ``torch.nn.Module`` class mapping one-hot ``(N, 4, L)`` to logits ``(N,)`` or
  ``(N, 1)``, constructed with the entry's ``params`` (plus ``input_length`` when its constructor names
  it); its parameters and defaults are read from the constructor signature.
* A **method** plug-in is a function ``(model, x, params, seed, truth_motifs) -> Interpretation`` that
  declares what it produces, with :func:`method` or with attributes of the same names::

      from bench.plugins import method

      @method(produces=["attributions"], requires=["differentiable"], params={"n_steps": 10})
      def my_saliency(model, x, params, seed, truth_motifs):
          ...
          return Interpretation(attributions=..., hypothetical=...)

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
