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


def list_models() -> dict[str, dict]:
    """Model name → {parameter: default}."""
    return {name: copy.deepcopy(defaults) for name, (_, defaults, _) in _MODELS.items()}


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
    if name not in _MODELS:
        raise ValueError(f"unknown model {name!r}; available models: {sorted(_MODELS)}")
    if not isinstance(params, dict):
        raise ValueError(f"params must be a dict, got {type(params).__name__}")
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
        One of :func:`list_models`.
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
    cls, _, fixed = _MODELS[name]
    kwargs = {**full, **fixed}
    if seed is None:
        model = cls(input_length, **kwargs)
    else:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seed))
            model = cls(input_length, **kwargs)
    model.model_name = name
    model.model_params = full
    return model


def probabilities(logits: torch.Tensor) -> torch.Tensor:
    """Sigmoid of logits (the reference's output)."""
    return torch.sigmoid(logits)
