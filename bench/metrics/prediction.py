"""Prediction quality on held-out sequences."""

from __future__ import annotations

import numpy as np
from scipy.stats import pearsonr, spearmanr

from ._ranking import auroc_rows, average_precision_rows


def _binary_scores(y: np.ndarray, z: np.ndarray) -> dict[str, float]:
    pos = y == 1
    pred = z > 0  # logit > 0 ⇔ probability > 0.5, the paper's accuracy threshold
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    return {
        "auroc": float(auroc_rows(z[None, :], pos[None, :])[0]),
        "average_precision": float(average_precision_rows(z[None, :], pos[None, :])[0]),
        "accuracy": float((pred == pos).mean()),
        "positive_accuracy": float(pred[pos].mean()) if n_pos else np.nan,
        "negative_accuracy": float((~pred[~pos]).mean()) if n_neg else np.nan,
        "n": float(y.size),
        "positive_fraction": float(n_pos / y.size),
    }


def _continuous_scores(y: np.ndarray, z: np.ndarray) -> dict[str, float]:
    const = np.ptp(y) == 0 or np.ptp(z) == 0
    return {
        "pearson": np.nan if const else float(pearsonr(y, z)[0]),
        "spearman": np.nan if const else float(spearmanr(y, z)[0]),
        "mse": float(np.mean((y - z) ** 2)),
        "n": float(y.size),
    }


def prediction_scores(y_true, logits, kind: str = "auto") -> dict[str, float]:
    """Prediction metrics for one task (or the macro mean over tasks).

    Parameters
    ----------
    y_true : (N,) or (N, T)
        Labels in {0, 1} (binary) or real values (continuous).
    logits : same shape as ``y_true``
        Binary: logits (accuracy thresholds at 0, i.e. probability 0.5); continuous: predictions.
    kind : {"auto", "binary", "continuous"}
        "auto" picks binary when every label is 0 or 1.

    Returns
    -------
    Binary: ``auroc``, ``average_precision`` (sklearn's step AP, not the paper's trapezoidal
    auPRC), ``accuracy``, ``positive_accuracy``, ``negative_accuracy``, ``n``,
    ``positive_fraction``. Continuous: ``pearson``, ``spearman``, ``mse``, ``n``.
    With T tasks, each value is the mean over tasks (NaN tasks ignored).

    NaN only where undefined: auroc when one class is absent; average_precision with no
    positive (with no negative it is 1); per-class accuracy for an absent class; correlations
    for a constant vector. Accuracy is always defined.
    """
    y = np.asarray(y_true, dtype=np.float64)
    z = np.asarray(logits, dtype=np.float64)
    if y.ndim not in (1, 2) or y.shape[0] == 0:
        raise ValueError(f"y_true must have shape (N,) or (N, T) with N > 0, got {y.shape}")
    if z.shape != y.shape:
        raise ValueError(f"logits must have the shape of y_true {y.shape}, got {z.shape}")
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(z))):
        raise ValueError("y_true and logits must be finite")
    if kind not in ("auto", "binary", "continuous"):
        raise ValueError(f"kind must be 'auto', 'binary' or 'continuous', got {kind!r}")
    binary = np.all((y == 0) | (y == 1)) if kind == "auto" else kind == "binary"
    if binary and not np.all((y == 0) | (y == 1)):
        raise ValueError("y_true must be 0 or 1 for kind='binary'")
    fn = _binary_scores if binary else _continuous_scores
    y2, z2 = y.reshape(y.shape[0], -1), z.reshape(z.shape[0], -1)
    per_task = [fn(y2[:, t], z2[:, t]) for t in range(y2.shape[1])]
    if len(per_task) == 1:
        return per_task[0]
    out = {}
    for key in per_task[0]:
        vals = np.array([d[key] for d in per_task])
        out[key] = float(np.nanmean(vals)) if np.any(np.isfinite(vals)) else np.nan
    return out
