"""Row-wise ranking metrics (AUROC, average precision) with ties handled, vectorized over rows."""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata


def auroc_rows(scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """AUROC of each row (Mann-Whitney U with average ranks for ties).

    Parameters
    ----------
    scores : (R, n) float
    labels : (R, n) bool

    Returns
    -------
    (R,) float; NaN for rows without both a positive and a negative.
    """
    ranks = rankdata(scores, axis=1)  # average ranks: a tie counts one half, as in sklearn
    n_pos = labels.sum(axis=1)
    n_neg = labels.shape[1] - n_pos
    u = (ranks * labels).sum(axis=1) - n_pos * (n_pos + 1) / 2.0
    with np.errstate(invalid="ignore", divide="ignore"):
        out = u / (n_pos * n_neg)
    return np.where((n_pos > 0) & (n_neg > 0), out, np.nan)


def average_precision_rows(scores: np.ndarray, labels: np.ndarray, n_pos=None) -> np.ndarray:
    """Average precision of each row, sklearn's step definition: Σ_k (R_k − R_{k−1}) P_k over distinct thresholds.

    Tied scores form one threshold, so the order within a tie does not matter.

    Parameters
    ----------
    scores : (R, n) float
    labels : (R, n) bool
    n_pos : (R,) or None
        Number of positives recall is measured against (default: ``labels.sum(1)``); larger
        when some positives can never be ranked (e.g. planted instances without a call).

    Returns
    -------
    (R,) float; NaN where ``n_pos`` is 0; 0 for a row of length 0 with ``n_pos`` > 0.
    """
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels, dtype=bool)
    r, n = scores.shape
    n_pos = labels.sum(axis=1) if n_pos is None else np.broadcast_to(np.asarray(n_pos, dtype=np.float64), (r,))
    if n == 0:
        return np.where(n_pos > 0, 0.0, np.nan)
    order = np.argsort(-scores, axis=1, kind="stable")
    s = np.take_along_axis(scores, order, axis=1)
    y = np.take_along_axis(labels, order, axis=1)
    cum_tp = np.cumsum(y, axis=1)
    k = np.arange(n)
    is_end = np.ones((r, n), dtype=bool)
    is_end[:, :-1] = s[:, :-1] != s[:, 1:]
    # index of the end of each position's tie group: a reversed running minimum of the ends
    ends = np.where(is_end, k[None, :], n)
    group_end = np.minimum.accumulate(ends[:, ::-1], axis=1)[:, ::-1]
    prec_at_end = np.take_along_axis(cum_tp, group_end, axis=1) / (group_end + 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        ap = (prec_at_end * y).sum(axis=1) / n_pos
    return np.where(n_pos > 0, ap, np.nan)
