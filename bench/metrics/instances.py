"""Instance localization: called motif instances against planted ones.

The overlap rule (ARGMINN, argminn-notes §8.3): a call ``[cs, ce)`` and a planted instance
``[ts, te)`` in the same sequence *overlap* when ``min(ce, te) − max(cs, ts) >= 0.5 × min(ce − cs,
te − ts)`` (equivalent to the notebook's two inequalities). Strand is ignored everywhere (a
discovered motif may be the reverse complement of the planted one).

Two families of scores:

- **paper** (identity-blind, many-to-one): ``paper_precision`` = calls overlapping some planted
  instance / calls; ``paper_recall`` = the same count / planted instances, so two calls on one
  site both count and it can exceed 1 (the paper's definition, kept for parity);
  ``paper_recall_distinct`` = planted instances hit by some call / planted instances (the paper's
  top-k recall).
- **sound** (one-to-one greedy, like detection mAP): calls are taken by decreasing score (ties:
  table order); each takes the still-unmatched overlapping planted instance with the largest
  IoU (ties: table order). ``precision`` = matched calls / calls, ``recall`` = matched planted /
  planted, ``f1`` = 2 TP / (2 TP + FP + FN). The ``_identity`` variants admit only pairs whose
  call motif maps to the planted motif through ``assignment`` (see
  :func:`bench.metrics.motifs.motif_assignment`). ``average_precision`` is sklearn-style AP over
  the call score with the identity-blind one-to-one matches as true positives and all planted
  instances as positives (unmatched planted instances cap it at the final recall).

:func:`topk_curve` gives both families over the top k calls by score (the paper's top-k table);
:func:`sequence_counts` the calls and planted instances per sequence.

Truth rows with ``functional == False`` (decoys) are not targets: they only feed
``decoy_call_fraction`` (calls overlapping a decoy and no functional instance / calls) and
``decoy_hit_fraction`` (decoys overlapped by some call / decoys).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import wasserstein_distance

from ._ranking import average_precision_rows

_CALL_COLUMNS = ("seq", "start", "end", "motif", "score")


def _check_table(df, name: str, columns) -> pd.DataFrame:
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"{name} must be a pandas DataFrame (an Instances table), got {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{name} is missing columns {missing}; expected at least {list(columns)}")
    if len(df):
        start, end, seq = (df[c].to_numpy() for c in ("start", "end", "seq"))
        if np.any(seq < 0) or np.any(start < 0) or np.any(end <= start):
            raise ValueError(f"{name} must have seq >= 0 and 0 <= start < end (0-based half-open)")
    return df


def _intervals(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (df["seq"].to_numpy(np.int64), df["start"].to_numpy(np.int64), df["end"].to_numpy(np.int64))


def overlap_pairs(calls: pd.DataFrame, truth: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All (call, truth) pairs satisfying the overlap rule, by sorting and binary search.

    Parameters
    ----------
    calls, truth : Instances tables (``seq``, ``start``, ``end`` used).

    Returns
    -------
    ci, tj : (P,) int64 row positions into ``calls`` and ``truth``
    iou : (P,) float64 intersection over union of each pair
    """
    c_seq, c_start, c_end = _intervals(calls)
    t_seq, t_start, t_end = _intervals(truth)
    empty = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    if c_seq.size == 0 or t_seq.size == 0:
        return empty
    # one global coordinate axis: sequences laid end to end, a gap of a full stride between them
    stride = int(max(c_end.max(), t_end.max())) * 2 + 1
    tg = t_seq * stride + t_start
    order = np.argsort(tg, kind="stable")
    tg_sorted = tg[order]
    max_len = int((t_end - t_start).max())
    cg_start = c_seq * stride + c_start
    cg_end = c_seq * stride + c_end
    # a truth overlapping the call starts before the call ends and after call start − max length
    lo = np.searchsorted(tg_sorted, cg_start - max_len + 1, side="left")
    hi = np.searchsorted(tg_sorted, cg_end, side="left")
    counts = hi - lo
    total = int(counts.sum())
    if total == 0:
        return empty
    ci = np.repeat(np.arange(c_seq.size, dtype=np.int64), counts)
    within = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    tj = order[np.repeat(lo, counts) + within]
    inter = np.minimum(c_end[ci], t_end[tj]) - np.maximum(c_start[ci], t_start[tj])
    len_c, len_t = c_end[ci] - c_start[ci], t_end[tj] - t_start[tj]
    keep = (c_seq[ci] == t_seq[tj]) & (2 * inter >= np.minimum(len_c, len_t))
    ci, tj, inter = ci[keep], tj[keep], inter[keep]
    iou = inter / (len_c[keep] + len_t[keep] - inter)
    return ci, tj, iou.astype(np.float64)


def call_priority(scores: np.ndarray) -> np.ndarray:
    """Rank of each call in the greedy order: decreasing score, NaN last, ties by table order."""
    s = np.where(np.isnan(scores), -np.inf, scores)
    order = np.lexsort((np.arange(s.size), -s))
    rank = np.empty(s.size, dtype=np.int64)
    rank[order] = np.arange(s.size)
    return rank


def greedy_match(ci: np.ndarray, tj: np.ndarray, iou: np.ndarray, rank: np.ndarray, n_truth: int) -> np.ndarray:
    """One-to-one greedy matching: calls in ``rank`` order each take their best free truth.

    Computed as call-proposing deferred acceptance in vectorized rounds. Because every truth
    prefers calls by the same global ``rank``, the unique stable matching equals the serial
    (greedy) one, so this gives exactly the sequential greedy result.

    Parameters
    ----------
    ci, tj, iou : (P,) candidate pairs and their IoU (a call prefers higher IoU, then lower truth row)
    rank : (n_calls,) greedy priority of each call (0 first)
    n_truth : int

    Returns
    -------
    (n_calls,) int64: the matched truth row of each call, −1 when unmatched.
    """
    n_calls = rank.size
    match = np.full(n_calls, -1, dtype=np.int64)
    if ci.size == 0:
        return match
    # each call's candidates in its preference order, contiguous
    order = np.lexsort((tj, -iou, ci))
    ci, tj = ci[order], tj[order]
    first = np.searchsorted(ci, np.arange(n_calls), side="left")
    last = np.searchsorted(ci, np.arange(n_calls), side="right")
    ptr = first.copy()
    holder = np.full(n_truth, -1, dtype=np.int64)
    free = np.flatnonzero(ptr < last)
    while free.size:
        t = tj[ptr[free]]
        # compete: the proposers and the current holders of the truths proposed to
        held = holder[np.unique(t)]
        held = held[held >= 0]
        cand_c = np.concatenate([free, held])
        cand_t = np.concatenate([t, match[held]])
        best = np.full(n_truth, np.iinfo(np.int64).max)
        np.minimum.at(best, cand_t, rank[cand_c])
        win = rank[cand_c] == best[cand_t]
        losers = cand_c[~win]
        match[losers] = -1
        match[cand_c[win]] = cand_t[win]
        holder[cand_t[win]] = cand_c[win]
        ptr[losers] += 1
        free = losers[ptr[losers] < last[losers]]
    return match


def _safe_div(a: float, b: float) -> float:
    return float(a) / float(b) if b else np.nan


def instance_scores(calls: pd.DataFrame, truth: pd.DataFrame, assignment: dict | None = None,
                    n_sequences: int | None = None) -> dict[str, float]:
    """Score instance calls against the planted instances (definitions in the module docstring).

    Parameters
    ----------
    calls : Instances table (``seq, start, end, strand, motif, score``), motif = discovered name.
    truth : ground-truth Instances table (adds ``role``, ``functional``).
    assignment : dict discovered name → true name, or None
        From :func:`bench.metrics.motifs.motif_assignment`; None gives NaN identity scores.
    n_sequences : int or None
        Sequences scored, for the per-sequence counts; default ``1 + max(seq)`` over both tables.

    Returns
    -------
    dict with paper_precision, paper_recall, paper_recall_distinct, precision, recall, f1,
    precision_identity, recall_identity, f1_identity, average_precision, decoy_call_fraction,
    decoy_hit_fraction, calls_per_sequence, truth_per_sequence, per_sequence_count_mae
    (mean |calls − functional instances| over sequences), per_sequence_count_emd (earth mover's
    distance between the two per-sequence count histograms, the paper's hits-per-sequence
    figure as one number), n_calls, n_truth, n_decoys.

    NaN only where undefined: precisions and decoy_call_fraction with no calls; recalls and AP
    with no functional planted instance; F1 with neither; identity scores without assignment;
    decoy_hit_fraction with no decoy; per-sequence values when there is no sequence (both
    tables empty and ``n_sequences`` not given, or ``n_sequences`` = 0).
    """
    _check_table(calls, "calls", _CALL_COLUMNS)
    _check_table(truth, "truth", ("seq", "start", "end", "motif"))
    if assignment is not None and not isinstance(assignment, dict):
        raise ValueError(f"assignment must be a dict discovered name -> true name or None, got {type(assignment).__name__}")
    if "functional" in truth.columns:
        func = truth["functional"].to_numpy(bool)
    else:
        func = np.ones(len(truth), dtype=bool)
    target, decoys = truth.loc[func], truth.loc[~func]
    n_c, n_t, n_d = len(calls), len(target), len(decoys)

    ci, tj, iou = overlap_pairs(calls, target)
    hit_calls = np.zeros(n_c, dtype=bool)
    hit_calls[ci] = True
    n_hit_truth = np.unique(tj).size

    rank = call_priority(calls["score"].to_numpy(np.float64))
    match = greedy_match(ci, tj, iou, rank, n_t)
    tp = int((match >= 0).sum())

    out = {
        "paper_precision": _safe_div(hit_calls.sum(), n_c),
        "paper_recall": _safe_div(hit_calls.sum(), n_t),
        "paper_recall_distinct": _safe_div(n_hit_truth, n_t),
        "precision": _safe_div(tp, n_c),
        "recall": _safe_div(tp, n_t),
        "f1": _safe_div(2 * tp, n_c + n_t),  # 2TP / (2TP + FP + FN), FP + TP = calls, FN + TP = truth
    }
    out["average_precision"] = float(average_precision_rows(
        calls["score"].to_numpy(np.float64)[None, :], (match >= 0)[None, :], n_pos=n_t)[0])
    out.update(_identity_scores(calls, target, ci, tj, iou, rank, assignment))

    dci, dtj, _ = overlap_pairs(calls, decoys)
    on_decoy = np.zeros(n_c, dtype=bool)
    on_decoy[dci] = True
    out["decoy_call_fraction"] = _safe_div((on_decoy & ~hit_calls).sum(), n_c)
    out["decoy_hit_fraction"] = _safe_div(np.unique(dtj).size, n_d)

    if n_sequences is None:
        seqs = np.concatenate([calls["seq"].to_numpy(np.int64), truth["seq"].to_numpy(np.int64)])
        n_sequences = int(seqs.max()) + 1 if seqs.size else 0
    elif not isinstance(n_sequences, (int, np.integer)) or n_sequences < 0:
        raise ValueError(f"n_sequences must be a non-negative integer or None, got {n_sequences!r}")
    else:
        seqs = np.concatenate([calls["seq"].to_numpy(np.int64), truth["seq"].to_numpy(np.int64)])
        if seqs.size and seqs.max() >= n_sequences:
            raise ValueError(f"n_sequences ({n_sequences}) must exceed every seq index (max {seqs.max()})")
    out["calls_per_sequence"] = _safe_div(n_c, n_sequences)
    out["truth_per_sequence"] = _safe_div(n_t, n_sequences)
    counts = sequence_counts(calls, target, n_sequences)
    nc, nt = counts["n_calls"].to_numpy(), counts["n_truth"].to_numpy()
    out["per_sequence_count_mae"] = float(np.abs(nc - nt).mean()) if n_sequences else np.nan
    out["per_sequence_count_emd"] = float(wasserstein_distance(nc, nt)) if n_sequences else np.nan
    out.update({"n_calls": float(n_c), "n_truth": float(n_t), "n_decoys": float(n_d)})
    return out


def _identity_scores(calls, target, ci, tj, iou, rank, assignment) -> dict[str, float]:
    keys = ("precision_identity", "recall_identity", "f1_identity")
    if assignment is None:
        return dict.fromkeys(keys, np.nan)
    # the true motif each call claims, through the motif matching; unmapped calls admit no pair
    mapped = calls["motif"].map(assignment).to_numpy(object)
    same = mapped[ci] == target["motif"].to_numpy(object)[tj]
    match = greedy_match(ci[same], tj[same], iou[same], rank, len(target))
    tp = int((match >= 0).sum())
    n_c, n_t = len(calls), len(target)
    return {
        "precision_identity": _safe_div(tp, n_c),
        "recall_identity": _safe_div(tp, n_t),
        "f1_identity": _safe_div(2 * tp, n_c + n_t),
    }


def sequence_counts(calls: pd.DataFrame, truth: pd.DataFrame, n_sequences: int) -> pd.DataFrame:
    """Calls and planted instances per sequence (the paper's hits-per-sequence histograms).

    Parameters
    ----------
    calls, truth : Instances tables (``seq`` used; pass only functional truth rows if decoys
        should not count)
    n_sequences : int
        Sequences scored; sequences without any row count 0.

    Returns
    -------
    DataFrame with ``seq``, ``n_calls``, ``n_truth`` (one row per sequence).
    """
    _check_table(calls, "calls", ("seq", "start", "end"))
    _check_table(truth, "truth", ("seq", "start", "end"))
    if not isinstance(n_sequences, (int, np.integer)) or n_sequences < 0:
        raise ValueError(f"n_sequences must be a non-negative integer, got {n_sequences!r}")
    c, t = calls["seq"].to_numpy(np.int64), truth["seq"].to_numpy(np.int64)
    if (c.size and c.max() >= n_sequences) or (t.size and t.max() >= n_sequences):
        raise ValueError(f"n_sequences ({n_sequences}) must exceed every seq index")
    return pd.DataFrame({"seq": np.arange(n_sequences),
                         "n_calls": np.bincount(c, minlength=n_sequences),
                         "n_truth": np.bincount(t, minlength=n_sequences)})


def topk_curve(calls: pd.DataFrame, truth: pd.DataFrame, ks=None) -> pd.DataFrame:
    """Precision and recall of the top-k calls by score (the paper's top-k table, plus the sound version).

    Calls are ranked as in the greedy matching (decreasing score, NaN last, ties by table order).
    Because the greedy matching takes calls in that same order, the one-to-one matches among the
    top k are exactly the full matching restricted to them, so one matching serves every k.

    Parameters
    ----------
    calls : Instances table of calls
    truth : ground-truth Instances table (decoy rows, ``functional`` False, are not targets)
    ks : 1-D ints >= 1, or None for every k from 1 to the number of calls (k above it is clipped)

    Returns
    -------
    DataFrame, one row per k: ``k``, ``paper_precision`` (top-k calls overlapping a planted
    instance / k), ``paper_recall`` (distinct planted instances hit by the top k / planted: the
    paper's top-k recall), ``precision`` and ``recall`` (one-to-one greedy matches). Recalls are
    NaN without functional planted instances; an empty frame without calls.
    """
    _check_table(calls, "calls", _CALL_COLUMNS)
    _check_table(truth, "truth", ("seq", "start", "end"))
    if "functional" in truth.columns:
        truth = truth.loc[truth["functional"].to_numpy(bool)]
    n_c, n_t = len(calls), len(truth)
    if ks is None:
        ks = np.arange(1, n_c + 1)
    ks = np.atleast_1d(np.asarray(ks))
    if ks.ndim != 1 or not np.issubdtype(ks.dtype, np.integer) or np.any(ks < 1):
        raise ValueError(f"ks must be a 1-D array of integers >= 1 or None, got {ks!r}")
    columns = ["k", "paper_precision", "paper_recall", "precision", "recall"]
    if n_c == 0:
        return pd.DataFrame(columns=columns)
    ks = np.minimum(ks, n_c)
    ci, tj, iou = overlap_pairs(calls, truth)
    rank = call_priority(calls["score"].to_numpy(np.float64))
    hit = np.zeros(n_c, dtype=bool)
    hit[ci] = True
    match = greedy_match(ci, tj, iou, rank, n_t)
    # cumulative counts in rank order; index k-1 holds the count over the top k
    by_rank = np.empty(n_c, dtype=np.int64)
    by_rank[rank] = np.arange(n_c)
    cum_hit = np.cumsum(hit[by_rank])
    cum_tp = np.cumsum(match[by_rank] >= 0)
    first = np.full(n_t, n_c, dtype=np.int64)  # best rank of a call overlapping each truth
    np.minimum.at(first, tj, rank[ci])
    n_distinct = np.searchsorted(np.sort(first), ks, side="left")  # truths first hit at rank < k
    recall_den = float(n_t) if n_t else np.nan
    return pd.DataFrame({
        "k": ks,
        "paper_precision": cum_hit[ks - 1] / ks,
        "paper_recall": n_distinct / recall_den,
        "precision": cum_tp[ks - 1] / ks,
        "recall": cum_tp[ks - 1] / recall_den,
    })
