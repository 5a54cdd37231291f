"""Save and load trained models with their provenance (safe loading: ``weights_only=True``)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import torch
from torch import nn

from .registry import build_model, check_model_params

FORMAT_VERSION = 1


def _normalize_spec(spec: dict, name: str = "spec") -> dict:
    if not isinstance(spec, dict) or set(spec) != {"name", "params", "input_length"}:
        raise ValueError(f"{name} must be a dict with exactly the keys name, params, input_length; got {spec!r}")
    full = check_model_params(spec["name"], dict(spec["params"]))
    # defaults filled in, so {"params": {}} and the explicit defaults compare equal
    return json.loads(json.dumps({"name": spec["name"], "params": full, "input_length": int(spec["input_length"])}))


def save_model(path, model: nn.Module, spec: dict, provenance: dict) -> Path:
    """Write weights, spec and provenance to one file, atomically.

    Parameters
    ----------
    path : str or Path
    model : torch.nn.Module
        Built by ``build_model(**spec)``.
    spec : dict
        ``{"name", "params", "input_length"}``.
    provenance : dict
        JSON-serializable (dataset fingerprint, seed, train config, history, test metrics, ...).
    """
    spec = _normalize_spec(spec)
    try:
        prov = json.dumps(provenance, sort_keys=True, allow_nan=True)
    except TypeError as err:
        raise ValueError(f"provenance must be JSON-serializable: {err}") from err
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    # the spec must build a model with exactly these tensors; checked now rather than at load time
    probe = build_model(spec["name"], spec["params"], spec["input_length"]).state_dict()
    if set(probe) != set(state) or any(probe[k].shape != state[k].shape for k in state):
        raise ValueError(f"model does not match spec {spec}: its parameters differ from build_model(spec)")
    payload = {"format_version": FORMAT_VERSION, "spec": json.dumps(spec, sort_keys=True),
               "provenance": prov, "state_dict": state}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    os.close(fd)
    from simulations.dataset import current_umask

    os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp makes it 0600; a saved model follows the umask
    try:
        torch.save(payload, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def load_model(path, expected_spec: dict | None = None) -> tuple[nn.Module, dict]:
    """Load a model saved by :func:`save_model`, in eval mode on CPU.

    Raises
    ------
    ValueError
        If ``expected_spec`` is given and differs from the stored spec (after filling defaults).
    """
    payload = torch.load(Path(path), map_location="cpu", weights_only=True)
    if not isinstance(payload, dict) or payload.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{path} is not a models.save_model file (format {FORMAT_VERSION})")
    spec = json.loads(payload["spec"])
    if expected_spec is not None:
        expected = _normalize_spec(expected_spec, "expected_spec")
        if expected != spec:
            diff = {k: (spec.get(k), expected.get(k)) for k in expected if spec.get(k) != expected.get(k)}
            raise ValueError(f"{path}: stored model spec does not match expected_spec; "
                             f"differences (stored, expected): {diff}")
    model = build_model(spec["name"], spec["params"], spec["input_length"])
    model.load_state_dict(payload["state_dict"])
    model.eval()
    provenance = json.loads(payload["provenance"])
    provenance.setdefault("spec", spec)
    return model, provenance
