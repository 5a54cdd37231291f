"""Paired comparisons of two routes: a hierarchical bootstrap over seeds, then sequences.

Two routes of one simulation are compared on the same interpreted sequences of the same datasets
(every model of a seed reads the same sequences against the same shuffled references), so their
difference is paired at both levels. A metric is written as a ratio of per-sequence sums,

    metric(S) = sum_{i in S} num_i / sum_{i in S} den_i ,

which covers pooled scores (instance F1 = 2 TP / (calls + planted), paper precision = hits / calls)
and per-sequence means (attribution AUROC: num = the sequence's AUROC, den = 1 where it is defined,
0 elsewhere). One bootstrap replicate draws the seeds with replacement and, for each drawn seed,
the sequences with replacement (the same draw for both routes), and takes the mean over the drawn
seeds of ``metric_a − metric_b``. Metrics defined per trained model only (motif recall) pass
one value per seed and are resampled over seeds alone.

The interval is the percentile interval of the replicates; a difference is called only when the
interval excludes zero.
"""

from __future__ import annotations

import numpy as np

__all__ = ["paired_difference", "ratio"]


def ratio(num: np.ndarray, den: np.ndarray) -> float:
    """``sum(num) / sum(den)``, NaN when the denominator is 0."""
    d = float(np.sum(den))
    return float(np.sum(num)) / d if d else float("nan")


def _check_seed(i: int, a_num, a_den, b_num, b_den) -> tuple[np.ndarray, ...]:
    arrays = [np.asarray(v, dtype=np.float64) for v in (a_num, a_den, b_num, b_den)]
    n = arrays[0].shape
    if any(a.ndim != 1 for a in arrays) or any(a.shape != n for a in arrays):
        raise ValueError(f"seed {i}: a_num, a_den, b_num and b_den must be 1-D arrays of one length (the paired "
                         f"sequences), got shapes {[a.shape for a in arrays]}")
    if n[0] == 0:
        raise ValueError(f"seed {i}: no sequences")
    if any(not np.all(np.isfinite(a)) for a in arrays):
        raise ValueError(f"seed {i}: per-sequence components must be finite (encode an undefined sequence as "
                         "num = den = 0)")
    return tuple(arrays)


def _replicate_differences(a_num, a_den, b_num, b_den, counts: np.ndarray) -> np.ndarray:
    """``metric_a − metric_b`` for each row of sequence multiplicities ``counts`` (B, N)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return counts @ a_num / (counts @ a_den) - counts @ b_num / (counts @ b_den)


def paired_difference(seeds: list, n_boot: int = 2000, confidence: float = 0.95, seed: int = 0) -> dict:
    """Difference of a metric between routes A and B, with its hierarchical paired bootstrap interval.

    Parameters
    ----------
    seeds : list of tuples, one per training seed
        ``(a_num, a_den, b_num, b_den)``: per-sequence numerators and denominators of both routes
        on the same N_s sequences (1-D arrays of length N_s; N_s may differ between seeds), or a
        pair of floats ``(a_value, b_value)`` for a metric with one value per trained model, which
        is then resampled over seeds only. All seeds must be of one kind.
    n_boot : int
        Bootstrap replicates.
    confidence : float in (0, 1)
        Coverage of the percentile interval.
    seed : int
        Seed of the resampling (same inputs and seed, same interval).

    Returns
    -------
    dict with ``difference`` (mean over seeds of the per-seed difference on all sequences),
    ``ci_low``, ``ci_high``, ``value_a``, ``value_b`` (means over seeds), ``n_seeds``,
    ``n_sequences`` (total over seeds; 0 for per-model metrics), ``undefined_share`` (the share of
    replicates whose difference was undefined, a resample with a zero denominator; they are left out
    of the interval, which is then conditional: do not call a difference when it is not small) and
    ``min_denominator`` (the smallest per-seed denominator sum of either route, e.g. its calls for a
    precision; NaN for per-model metrics). A seed whose difference is undefined (a denominator of 0
    on all its sequences) is left out; with none left every value is NaN.
    """
    if not isinstance(seeds, (list, tuple)) or not seeds:
        raise ValueError("seeds must be a non-empty list of per-seed tuples")
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 1:
        raise ValueError(f"n_boot must be a positive integer, got {n_boot!r}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    kinds = {len(s) if isinstance(s, (list, tuple)) else None for s in seeds}
    if kinds not in ({2}, {4}):
        raise ValueError("each seed must be (a_num, a_den, b_num, b_den) arrays or (a_value, b_value) floats, "
                         "all of one kind")
    per_model = kinds == {2}
    if per_model:
        values = np.asarray(seeds, dtype=np.float64)
        values = values[np.isfinite(values).all(axis=1)]
        per_seed = [(None, float(a), float(b)) for a, b in values]
        n_sequences = 0
    else:
        checked = [_check_seed(i, *s) for i, s in enumerate(seeds)]
        checked = [c for c in checked if np.sum(c[1]) > 0 and np.sum(c[3]) > 0]
        per_seed = [(c, ratio(c[0], c[1]), ratio(c[2], c[3])) for c in checked]
        n_sequences = int(sum(c[0].size for c in checked))
    nan = float("nan")
    if not per_seed:
        return dict(difference=nan, ci_low=nan, ci_high=nan, value_a=nan, value_b=nan, n_seeds=0,
                    n_sequences=0, undefined_share=nan, min_denominator=nan)
    full = np.array([a - b for _, a, b in per_seed])
    rng = np.random.default_rng(seed)
    n_seeds = len(per_seed)
    # slot j of a replicate holds seed picked[:, j]; each (slot, seed) pair gets its own sequence draw
    picked = rng.integers(0, n_seeds, size=(n_boot, n_seeds))
    slots = np.empty((n_boot, n_seeds))
    for j in range(n_seeds):
        for s, (arrays, _, _) in enumerate(per_seed):
            rows = np.flatnonzero(picked[:, j] == s)
            if not rows.size:
                continue
            if arrays is None:
                slots[rows, j] = full[s]
                continue
            n = arrays[0].size
            counts = rng.multinomial(n, np.full(n, 1.0 / n), size=rows.size).astype(np.float64)
            slots[rows, j] = _replicate_differences(*arrays, counts)
    reps = slots.mean(axis=1)
    defined = np.isfinite(reps)
    # a resample where a route has no denominator left (no call drawn) is undefined; dropping those
    # would condition the interval on the sparse route's few sequences being drawn, so the caller is
    # told how many there were and should not call a difference when it is more than a few
    undefined_share = float(1 - defined.mean())
    reps = reps[defined]
    alpha = (1 - confidence) / 2
    lo, hi = (np.quantile(reps, [alpha, 1 - alpha]) if reps.size else (nan, nan))
    return dict(difference=float(full.mean()), ci_low=float(lo), ci_high=float(hi),
                value_a=float(np.mean([a for _, a, _ in per_seed])),
                value_b=float(np.mean([b for _, _, b in per_seed])),
                n_seeds=n_seeds, n_sequences=n_sequences, undefined_share=undefined_share,
                min_denominator=(float("nan") if per_model else
                                 float(min(min(c[1].sum(), c[3].sum()) for c, _, _ in per_seed))))
