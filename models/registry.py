"""Model names, their parameters and defaults, and construction."""

from __future__ import annotations

import copy

import torch
from torch import nn

from .argminn import ARGMINN, ARGMINN_DEFAULTS
from .baselines import CNN_DEFAULTS, EXPLAINN_DEFAULTS, ExplaiNN, StandardCNN

_MODELS = {
    "argminn": (ARGMINN, ARGMINN_DEFAULTS, {}),
    "cnn": (StandardCNN, CNN_DEFAULTS, {}),
    # same network; the trainer turns on ARGMINN's overlap + L1 regularizer (see `regularized_by_default`)
    "cnn_filterreg": (StandardCNN, CNN_DEFAULTS, {}),
    "cnn_exp": (StandardCNN, CNN_DEFAULTS, {"first_activation": "exp"}),
    "explainn": (ExplaiNN, EXPLAINN_DEFAULTS, {}),
}

#: models whose default training adds the filter-overlap and L1 regularizers (notes §3.5 row 1)
REGULARIZED_BY_DEFAULT = ("argminn", "cnn_filterreg")

_CHOICES = {"key_mode": ("value", "linear"), "stream_init": ("randn", "ones")}


#: plug-in models loaded in this process (``module:attr`` suite names): name -> (class, source file)
_PLUGINS: dict[str, tuple] = {}


def list_models(include_plugins: bool = False) -> dict[str, dict]:
    """Model name → {parameter: default}; with ``include_plugins`` the plug-ins loaded in this process too
    (their defaults read from the constructor signature)."""
    out = {name: copy.deepcopy(defaults) for name, (_, defaults, _) in _MODELS.items()}
    if include_plugins:
        out.update({name: plugin_signature(cls)[0] for name, (cls, _) in _PLUGINS.items()})
    return out


def register_plugin(name: str, cls, source=None) -> None:
    """Make the ``torch.nn.Module`` class ``cls`` buildable as model ``name`` in this process (what
    ``bench.plugins`` does for a suite's ``module:attr``); ``source``: the file it came from."""
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise TypeError(f"model plug-in {name!r} must be a torch.nn.Module class, got {cls!r}")
    plugin_signature(cls)  # refuses a constructor the benchmark cannot call
    _PLUGINS[name] = (cls, None if source is None else str(source))


def plugin_signature(cls) -> tuple[dict, list, bool, bool]:
    """From a plug-in class's constructor: ``(defaults, required, takes_input_length, takes_any)``.

    ``defaults``: keyword parameters with JSON-plain defaults (numbers, strings, bools, None, lists);
    ``required``: parameters without a default (other than ``input_length``); ``takes_input_length``:
    the constructor names ``input_length`` (the benchmark passes the sequence length); ``takes_any``:
    it takes ``**kwargs``.
    """
    import inspect

    try:
        sig = inspect.signature(cls.__init__)
    except (TypeError, ValueError):
        return {}, [], False, True
    defaults, required, takes_len, takes_any = {}, [], False, False
    for i, (pname, p) in enumerate(sig.parameters.items()):
        if i == 0 and pname == "self":
            continue
        if p.kind == p.VAR_KEYWORD:
            takes_any = True
            continue
        if p.kind in (p.VAR_POSITIONAL, p.POSITIONAL_ONLY):
            continue
        if pname == "input_length":
            takes_len = True
            continue
        if p.default is p.empty:
            required.append(pname)
        elif _plain(p.default):
            defaults[pname] = copy.deepcopy(p.default)
    return defaults, required, takes_len, takes_any


def _plain(value) -> bool:
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    return False


def _check_plugin_params(name: str, params: dict) -> dict:
    cls = _PLUGINS[name][0]
    defaults, required, _, takes_any = plugin_signature(cls)
    valid = sorted({*defaults, *required})
    unknown = sorted(set(params) - set(valid))
    if unknown and not takes_any:
        raise ValueError(f"{name}: unknown parameter(s) {unknown}; {cls.__name__}'s constructor takes {valid}")
    missing = [r for r in required if r not in params]
    if missing:
        raise ValueError(f"{name}: {cls.__name__}'s constructor needs {missing}; give them under params")
    if "input_length" in params:
        raise ValueError(f"{name}: input_length is the simulation's sequence length, passed by the benchmark; "
                         f"remove it from params")
    full = {**copy.deepcopy(defaults), **params}
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in full.items()}


class PluginModel(nn.Module):
    """A plug-in network as the benchmark runs it: logits always ``(N, 1)`` (the plug-in may return
    ``(N,)``), and the first-layer hooks of the read-outs passed through when the network has them."""

    _PASSED = ("scanner_activations", "scanner_width", "scanner_weight")

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x):
        out = self.net(x)
        if not isinstance(out, torch.Tensor):
            raise TypeError(f"{type(self.net).__name__}.forward must return a tensor of logits, got "
                            f"{type(out).__name__}")
        if out.dim() == 1 and out.shape[0] == x.shape[0]:
            return out[:, None]
        if out.dim() == 2 and out.shape == (x.shape[0], 1):
            return out
        raise ValueError(f"{type(self.net).__name__}.forward must map (N, 4, L) to logits (N,) or (N, 1); got "
                         f"{tuple(out.shape)} for input {tuple(x.shape)}")

    def __getattr__(self, name):
        try:
            return super().__getattr__(name)
        except AttributeError:
            if name in PluginModel._PASSED:
                return getattr(super().__getattr__("net"), name)
            raise


def _check_value(name: str, key: str, value, default) -> None:
    if key in _CHOICES:
        if value not in _CHOICES[key]:
            raise ValueError(f"{name}: parameter {key!r} must be one of {list(_CHOICES[key])}, got {value!r}")
    elif isinstance(default, bool):
        if not isinstance(value, bool):
            raise ValueError(f"{name}: parameter {key!r} must be a bool, got {value!r}")
    elif isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}: parameter {key!r} must be a positive int, got {value!r}")
    elif isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
            raise ValueError(f"{name}: parameter {key!r} must be a number in [0, 1), got {value!r}")
    elif isinstance(default, list):
        if (not isinstance(value, (list, tuple)) or not value
                or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in value)):
            raise ValueError(f"{name}: parameter {key!r} must be a non-empty list of positive ints, got {value!r}")


def check_model_params(name: str, params: dict) -> dict:
    """Validate ``params`` for model ``name``; returns the full parameter dict (defaults filled in).

    Raises
    ------
    ValueError
        Unknown model, unknown parameter (the message lists the valid ones), or a bad value.
    """
    if name not in _MODELS and name not in _PLUGINS:
        raise ValueError(f"unknown model {name!r}; available models: {sorted(_MODELS)}")
    if not isinstance(params, dict):
        raise ValueError(f"params must be a dict, got {type(params).__name__}")
    if name in _PLUGINS:
        return _check_plugin_params(name, params)
    defaults = _MODELS[name][1]
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        raise ValueError(f"{name}: unknown parameter(s) {unknown}; valid parameters: {sorted(defaults)}")
    full = {**copy.deepcopy(defaults), **params}
    for key, value in full.items():
        _check_value(name, key, value, defaults[key])
    if name == "argminn" and full["hidden_dim"] % full["num_heads"]:
        raise ValueError(f"argminn: hidden_dim ({full['hidden_dim']}) must be divisible by "
                         f"num_heads ({full['num_heads']})")
    if name == "argminn" and full["pos_enc_dim"] % 2:
        raise ValueError(f"argminn: pos_enc_dim must be even, got {full['pos_enc_dim']}")
    if name.startswith("cnn") and len(full["conv_widths"]) != len(full["conv_filters"]):
        raise ValueError(f"{name}: conv_widths and conv_filters must have equal length")
    return full


def build_model(name: str, params: dict, input_length: int, seed: int | None = 0) -> nn.Module:
    """Build a model with deterministic initialization.

    Parameters
    ----------
    name : str
        One of :func:`list_models`, or a plug-in registered with :func:`register_plugin` (built as
        :class:`PluginModel` around the class constructed with ``params``, plus ``input_length`` when
        its constructor names it).
    params : dict
        Parameter overrides (see :func:`check_model_params`).
    input_length : int
        Sequence length L of the (N, 4, L) input.
    seed : int or None
        Seed for the initial weights (0 by default, so a model spec alone fixes the init);
        None uses the global torch RNG. The global RNG state is left unchanged.

    Returns
    -------
    torch.nn.Module
        Maps (N, 4, L) to logits (N, 1); has ``scanner_activations`` and ``scanner_width``.
    """
    full = check_model_params(name, params)
    if isinstance(input_length, bool) or not isinstance(input_length, int) or input_length < 1:
        raise ValueError(f"input_length must be a positive int, got {input_length!r}")
    if name in _PLUGINS:
        cls = _PLUGINS[name][0]
        kwargs = dict(full)
        if plugin_signature(cls)[2]:
            kwargs["input_length"] = input_length

        def make():
            return PluginModel(cls(**kwargs))
    else:
        cls, _, fixed = _MODELS[name]
        kwargs = {**full, **fixed}

        def make():
            return cls(input_length, **kwargs)
    if seed is None:
        model = make()
    else:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seed))
            model = make()
    model.model_name = name
    model.model_params = full
    return model


def probabilities(logits: torch.Tensor) -> torch.Tensor:
    """Sigmoid of logits (the reference's output)."""
    return torch.sigmoid(logits)
