"""Per-epoch loss-weight schedules (notes §3.5).

A weight is either a scalar (constant), a sequence of per-epoch values, or a dict
``{burn_in, start_exp, end_exp, steps, hold}`` that expands, like the reference's
``make_piecewise_linear_scale.sh``, to ``burn_in`` zeros, ``10**linspace(start_exp, end_exp, steps)``
and ``hold`` copies of ``10**end_exp``. Epoch ``e`` (0-based) reads element ``min(e, len - 1)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

SCHEDULE_KEYS = ("burn_in", "start_exp", "end_exp", "steps", "hold")

#: notes §3.5 row 1: the schedules of the logged ARGMINN run and (inferred) the paper's simulated models
PAPER_OVERLAP = {"burn_in": 10, "start_exp": 0.5, "end_exp": 5.0, "steps": 20, "hold": 10}
PAPER_L1 = {"burn_in": 10, "start_exp": -3.0, "end_exp": -2.0, "steps": 20, "hold": 10}


def expand_schedule(weight, name: str = "weight") -> np.ndarray:
    """Expand a weight spec to its per-epoch array.

    Parameters
    ----------
    weight : float, sequence of float, or dict with keys ``SCHEDULE_KEYS``
    name : str
        Used in error messages.

    Returns
    -------
    numpy.ndarray, shape (E,)
        Non-negative finite weights; a scalar gives shape (1,).
    """
    if isinstance(weight, Mapping):
        unknown = set(weight) - set(SCHEDULE_KEYS)
        missing = set(SCHEDULE_KEYS) - set(weight)
        if unknown or missing:
            raise ValueError(
                f"{name}: a schedule dict needs exactly the keys {list(SCHEDULE_KEYS)}; "
                f"unknown {sorted(unknown)}, missing {sorted(missing)}"
            )
        burn_in, steps, hold = (int(weight[k]) for k in ("burn_in", "steps", "hold"))
        if min(burn_in, steps, hold) < 0 or burn_in + steps + hold == 0:
            raise ValueError(f"{name}: burn_in, steps and hold must be >= 0 and not all 0, got {dict(weight)}")
        end = float(weight["end_exp"])
        arr = np.concatenate([
            np.zeros(burn_in),
            10.0 ** np.linspace(float(weight["start_exp"]), end, steps),
            np.full(hold, 10.0 ** end),
        ])
    elif isinstance(weight, (int, float, np.floating, np.integer)) and not isinstance(weight, bool):
        arr = np.array([float(weight)])
    elif isinstance(weight, Sequence) and not isinstance(weight, str) and len(weight) > 0:
        arr = np.asarray(weight, dtype=np.float64).ravel()
    else:
        raise ValueError(f"{name} must be a number, a non-empty list, or a schedule dict {list(SCHEDULE_KEYS)}; "
                         f"got {weight!r}")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"{name} must be finite and >= 0, got {arr.tolist()}")
    return arr


def weight_at(weight, epoch: int, name: str = "weight") -> float:
    """The weight at 0-based ``epoch`` (the last value is held past the end)."""
    arr = expand_schedule(weight, name)
    return float(arr[min(int(epoch), len(arr) - 1)])


def ramp_end(weight, name: str = "weight") -> int:
    """First epoch from which the weight stays constant (0 for a scalar).

    Best-weight selection starts here: before it the regularizer has not reached its
    final strength, so a low prediction loss there says nothing about the regularized model.
    """
    arr = expand_schedule(weight, name)
    changes = np.nonzero(arr[1:] != arr[:-1])[0]
    return int(changes[-1] + 1) if len(changes) else 0
