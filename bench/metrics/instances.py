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
  ``best_f1`` is the F1 of the calls at or above the cut-off on the call score that maximizes it
  (see :func:`best_cutoff`): found with the truth, so an oracle. It answers "how well could this
  ranking of calls do at its best cut-off", apart from where the route chose to stop; a scan of
  the true motifs at its best cut-off bounds what a fixed cut-off of that scan reaches.

:func:`topk_curve` gives both families over the top k calls by score (the paper's top-k table);
:func:`sequence_counts` the calls and planted instances per sequence.

Truth rows with ``functional == False`` are not targets. They split by ``role``:

- ``role == "background_match"``: hits of the true PFMs in the background that a scanner at the
  benchmark's threshold would see (a route that calls them is right about the sequence, wrong
  about the grammar). They feed ``background_match_call_fraction`` (calls overlapping a
  background match and no functional instance / calls), ``background_match_hit_fraction``
  (background matches overlapped by some call / background matches) and
  ``precision_excluding_background_matches`` (see :func:`instance_scores`).
- every other non-functional row is a *decoy*: ``decoy_call_fraction`` (calls overlapping a decoy
  and no functional instance / calls) and ``decoy_hit_fraction`` (decoys overlapped by some call /
  decoys).

Without a ``role`` column every non-functional row is a decoy. A functional row is a target
whatever its role.

:func:`instance_components` gives the per-sequence counts the pooled scores are sums of (for a
bootstrap over sequences, paired across routes scored on the same sequences).
"""

from __future__ import annotations

from dataclasses import dataclass

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


def best_cutoff(scores: np.ndarray, tp: np.ndarray, n_truth: int) -> np.ndarray:
    """Which calls a cut-off on the call score keeps when it is set where F1 is highest.

    The greedy matching takes calls in score order and a call's match depends only on the calls
    before it, so the matches of the calls above any cut-off are those of the full matching
    restricted to them: F1 at the cut-off keeping the top ``k`` calls is ``2 TP_k / (k + n_truth)``
    with ``TP_k`` the matched calls among them. A cut-off cannot split tied scores; NaN scores rank
    last (one tie group). On equal F1 the stricter cut-off (fewer calls) wins; with no planted
    instance, or no matched call, it keeps none.

    Parameters
    ----------
    scores : (n_calls,) float, the call scores (higher first)
    tp : (n_calls,) bool, whether each call is matched (in the full greedy matching)
    n_truth : int, the planted (functional) instances

    Returns
    -------
    (n_calls,) bool: the calls the best cut-off keeps.
    """
    scores = np.asarray(scores, dtype=np.float64)
    tp = np.asarray(tp, dtype=bool)
    if scores.shape != tp.shape or scores.ndim != 1:
        raise ValueError(f"scores and tp must be 1-D of one length, got shapes {scores.shape} and {tp.shape}")
    keep = np.zeros(scores.size, dtype=bool)
    if scores.size == 0 or n_truth <= 0 or not tp.any():
        return keep
    s = np.where(np.isnan(scores), -np.inf, scores)
    order = np.argsort(-s, kind="stable")
    ranked = s[order]
    # a cut-off may fall only after the last call of a tie group
    ends = np.flatnonzero(np.append(ranked[:-1] != ranked[1:], True))
    tp_k = np.cumsum(tp[order])[ends]
    f1 = 2.0 * tp_k / (ends + 1 + n_truth)
    best = int(ends[int(np.argmax(f1))])  # argmax: the first, so the stricter cut-off on ties
    keep[order[:best + 1]] = True
    return keep


def _safe_div(a: float, b: float) -> float:
    return float(a) / float(b) if b else np.nan


#: the ``role`` of truth rows that are scanner-visible hits of the true PFMs in background
BACKGROUND_MATCH_ROLE = "background_match"


@dataclass(frozen=True)
class _Matching:
    """Per-call outcomes that every pooled and per-sequence count is a sum of (one pass over the tables).

    All ``(n_calls,)`` arrays follow the row order of ``calls``.
    """

    n_sequences: int
    call_seq: np.ndarray             # (n_calls,) int64
    call_score: np.ndarray           # (n_calls,) float64
    target_seq: np.ndarray           # (n_truth,) int64, functional rows only
    hit: np.ndarray                  # (n_calls,) bool: overlaps some functional instance
    tp: np.ndarray                   # (n_calls,) bool: one-to-one matched, identity-blind
    tp_identity: np.ndarray | None   # (n_calls,) bool identity-aware match; None without assignment
    on_decoy: np.ndarray             # (n_calls,) bool: overlaps a decoy and no functional instance
    on_background_match: np.ndarray  # (n_calls,) bool: overlaps a background match and no functional instance
    kept_best: np.ndarray            # (n_calls,) bool: kept by the cut-off with the highest F1 (best_cutoff)
    n_truth_hit: int                 # functional instances overlapped by some call
    n_decoys: int
    n_decoys_hit: int
    n_background_matches: int
    n_background_matches_hit: int


def _truth_classes(truth: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """``(functional, background_match)`` boolean row masks; the decoys are the rows in neither."""
    n = len(truth)
    func = truth["functional"].to_numpy(bool) if "functional" in truth.columns else np.ones(n, dtype=bool)
    if "role" in truth.columns:
        bm = ~func & (truth["role"].to_numpy(object) == BACKGROUND_MATCH_ROLE)
    else:
        bm = np.zeros(n, dtype=bool)
    return func, np.asarray(bm, dtype=bool)


def _resolve_n_sequences(calls: pd.DataFrame, truth: pd.DataFrame, n_sequences) -> int:
    seqs = np.concatenate([calls["seq"].to_numpy(np.int64), truth["seq"].to_numpy(np.int64)])
    if n_sequences is None:
        return int(seqs.max()) + 1 if seqs.size else 0
    if not isinstance(n_sequences, (int, np.integer)) or n_sequences < 0:
        raise ValueError(f"n_sequences must be a non-negative integer or None, got {n_sequences!r}")
    if seqs.size and seqs.max() >= n_sequences:
        raise ValueError(f"n_sequences ({n_sequences}) must exceed every seq index (max {seqs.max()})")
    return int(n_sequences)


def _overlapped(calls: pd.DataFrame, rows: pd.DataFrame) -> tuple[np.ndarray, int]:
    """Which calls overlap some row of ``rows``, and how many rows some call overlaps."""
    ci, tj, _ = overlap_pairs(calls, rows)
    on = np.zeros(len(calls), dtype=bool)
    on[ci] = True
    return on, int(np.unique(tj).size)


def _match(calls: pd.DataFrame, truth: pd.DataFrame, assignment: dict | None, n_sequences) -> _Matching:
    """Validate the inputs and run the overlap rule and both greedy matchings once."""
    _check_table(calls, "calls", _CALL_COLUMNS)
    _check_table(truth, "truth", ("seq", "start", "end", "motif"))
    if assignment is not None and not isinstance(assignment, dict):
        raise ValueError(f"assignment must be a dict discovered name -> true name or None, got {type(assignment).__name__}")
    n_sequences = _resolve_n_sequences(calls, truth, n_sequences)
    func, bm = _truth_classes(truth)
    target, decoys, matches = truth.loc[func], truth.loc[~func & ~bm], truth.loc[bm]
    n_c, n_t = len(calls), len(target)

    ci, tj, iou = overlap_pairs(calls, target)
    hit = np.zeros(n_c, dtype=bool)
    hit[ci] = True
    score = calls["score"].to_numpy(np.float64)
    rank = call_priority(score)
    tp = greedy_match(ci, tj, iou, rank, n_t) >= 0
    tp_identity = None
    if assignment is not None:
        # the true motif each call claims, through the motif matching; unmapped calls admit no pair
        mapped = calls["motif"].map(assignment).to_numpy(object)
        same = mapped[ci] == target["motif"].to_numpy(object)[tj]
        tp_identity = greedy_match(ci[same], tj[same], iou[same], rank, n_t) >= 0

    on_decoy, n_decoys_hit = _overlapped(calls, decoys)
    on_match, n_matches_hit = _overlapped(calls, matches)
    return _Matching(
        n_sequences=n_sequences, call_seq=calls["seq"].to_numpy(np.int64), call_score=score,
        target_seq=target["seq"].to_numpy(np.int64), hit=hit, tp=tp, tp_identity=tp_identity,
        on_decoy=on_decoy & ~hit, on_background_match=on_match & ~hit, kept_best=best_cutoff(score, tp, n_t),
        n_truth_hit=int(np.unique(tj).size),
        n_decoys=len(decoys), n_decoys_hit=n_decoys_hit, n_background_matches=len(matches),
        n_background_matches_hit=n_matches_hit)


def instance_scores(calls: pd.DataFrame, truth: pd.DataFrame, assignment: dict | None = None,
                    n_sequences: int | None = None) -> dict[str, float]:
    """Score instance calls against the planted instances (definitions in the module docstring).

    Parameters
    ----------
    calls : Instances table (``seq, start, end, strand, motif, score``), motif = discovered name.
    truth : ground-truth Instances table (adds ``role``, ``functional``).
        Non-functional rows with ``role == "background_match"`` are background matches, the
        other non-functional rows decoys (all of them without a ``role`` column).
    assignment : dict discovered name → true name, or None
        From :func:`bench.metrics.motifs.motif_assignment`; None gives NaN identity scores.
    n_sequences : int or None
        Sequences scored, for the per-sequence counts; default ``1 + max(seq)`` over both tables.

    Returns
    -------
    dict with paper_precision, paper_recall, paper_recall_distinct, precision, recall, f1,
    average_precision, best_f1, best_f1_identity, best_f1_kept_fraction (the share of the calls
    the best cut-off keeps), precision_identity, recall_identity, f1_identity, decoy_call_fraction,
    decoy_hit_fraction, background_match_call_fraction, background_match_hit_fraction,
    precision_excluding_background_matches, calls_per_sequence, truth_per_sequence,
    per_sequence_count_mae (mean |calls − functional instances| over sequences),
    per_sequence_count_emd (earth mover's distance between the two per-sequence count
    histograms, the paper's hits-per-sequence figure as one number), n_calls, n_truth,
    n_decoys, n_background_matches, no_calls.

    ``precision_excluding_background_matches`` = TP / (calls − B), where TP is the number of
    one-to-one (identity-blind) matched calls and B the number of calls that overlap a
    background match and no functional instance (the numerator of
    ``background_match_call_fraction``). It is the precision against a truth in which a call
    on a scanner-visible background match is neither a true nor a false positive: such calls
    leave the denominator. Every matched call overlaps a functional instance, so it is never
    among the B and the value is at most 1. It equals ``precision`` when there is no background
    match. ``no_calls`` is 1.0 when there is no call and 0.0 otherwise, so a route without calls
    (whose precisions are NaN) is counted explicitly.

    NaN only where undefined: precisions and the call fractions with no calls (and
    ``precision_excluding_background_matches`` also when every call is on a background match);
    recalls and AP with no functional planted instance; F1 with neither (``best_f1`` also: with
    no call kept it is 0 when there are planted instances); identity scores without
    assignment; decoy_hit_fraction with no decoy; background_match_hit_fraction with no
    background match; per-sequence values when there is no sequence (both tables empty and
    ``n_sequences`` not given, or ``n_sequences`` = 0).
    """
    m = _match(calls, truth, assignment, n_sequences)
    n_seq = m.n_sequences
    n_c, n_t = m.call_seq.size, m.target_seq.size
    tp, hits = int(m.tp.sum()), int(m.hit.sum())
    out = {
        "paper_precision": _safe_div(hits, n_c),
        "paper_recall": _safe_div(hits, n_t),
        "paper_recall_distinct": _safe_div(m.n_truth_hit, n_t),
        "precision": _safe_div(tp, n_c),
        "recall": _safe_div(tp, n_t),
        "f1": _safe_div(2 * tp, n_c + n_t),  # 2TP / (2TP + FP + FN), FP + TP = calls, FN + TP = truth
    }
    out["average_precision"] = float(average_precision_rows(m.call_score[None, :], m.tp[None, :], n_pos=n_t)[0])
    n_best = int(m.kept_best.sum())
    out["best_f1"] = _safe_div(2 * int((m.tp & m.kept_best).sum()), n_best + n_t)
    out["best_f1_kept_fraction"] = _safe_div(n_best, n_c)
    if m.tp_identity is None:
        out.update(dict.fromkeys(("precision_identity", "recall_identity", "f1_identity", "best_f1_identity"),
                                 np.nan))
    else:
        tpi = int(m.tp_identity.sum())
        out.update({"precision_identity": _safe_div(tpi, n_c), "recall_identity": _safe_div(tpi, n_t),
                    "f1_identity": _safe_div(2 * tpi, n_c + n_t),
                    # the identity-aware matches among the calls the (identity-blind) best cut-off keeps
                    "best_f1_identity": _safe_div(2 * int((m.tp_identity & m.kept_best).sum()), n_best + n_t)})
    n_on_match = int(m.on_background_match.sum())
    out["decoy_call_fraction"] = _safe_div(m.on_decoy.sum(), n_c)
    out["decoy_hit_fraction"] = _safe_div(m.n_decoys_hit, m.n_decoys)
    out["background_match_call_fraction"] = _safe_div(n_on_match, n_c)
    out["background_match_hit_fraction"] = _safe_div(m.n_background_matches_hit, m.n_background_matches)
    out["precision_excluding_background_matches"] = _safe_div(tp, n_c - n_on_match)

    out["calls_per_sequence"] = _safe_div(n_c, n_seq)
    out["truth_per_sequence"] = _safe_div(n_t, n_seq)
    nc = np.bincount(m.call_seq, minlength=n_seq)
    nt = np.bincount(m.target_seq, minlength=n_seq)
    out["per_sequence_count_mae"] = float(np.abs(nc - nt).mean()) if n_seq else np.nan
    out["per_sequence_count_emd"] = float(wasserstein_distance(nc, nt)) if n_seq else np.nan
    out.update({"n_calls": float(n_c), "n_truth": float(n_t), "n_decoys": float(m.n_decoys),
                "n_background_matches": float(m.n_background_matches), "no_calls": float(n_c == 0)})
    return out


def instance_components(calls: pd.DataFrame, truth: pd.DataFrame, assignment: dict | None = None,
                        n_sequences: int | None = None) -> pd.DataFrame:
    """Per-sequence counts whose sums give the pooled instance scores (for a bootstrap over sequences).

    The overlap rule and the greedy matchings only ever pair a call with a planted instance of
    the same sequence, so the counts of :func:`instance_scores` are sums of these per-sequence
    counts. For any multiset ``S`` of sequences (e.g. a bootstrap resample, the same resample for
    every route scored on those sequences), with sums over ``S``:

    - ``precision = Σ tp / Σ n_calls``, ``recall = Σ tp / Σ n_truth``,
      ``f1 = 2 Σ tp / (Σ n_calls + Σ n_truth)``; the ``_identity`` scores likewise with ``tp_identity``;
    - ``paper_precision = Σ paper_hits / Σ n_calls``, ``paper_recall = Σ paper_hits / Σ n_truth``;
    - ``decoy_call_fraction = Σ decoy_calls / Σ n_calls``,
      ``background_match_call_fraction = Σ background_match_calls / Σ n_calls``,
      ``precision_excluding_background_matches = Σ tp / (Σ n_calls − Σ background_match_calls)``;
    - ``best_f1 = 2 Σ tp_best / (Σ n_calls_best + Σ n_truth)`` (``best_f1_identity`` with
      ``tp_identity_best``), at the cut-off chosen once on every sequence: a resample keeps it fixed.

    Summed over every sequence once, these reproduce :func:`instance_scores` exactly.

    Parameters
    ----------
    calls, truth, assignment, n_sequences : as in :func:`instance_scores`

    Returns
    -------
    DataFrame with one row per sequence ``0 .. n_sequences − 1`` (int64 columns): ``seq``,
    ``n_calls``, ``n_truth`` (functional planted instances), ``tp`` (identity-blind one-to-one
    matches), ``tp_identity`` (identity-aware matches; all NaN, float, when ``assignment`` is
    None), ``paper_hits`` (calls overlapping some functional instance), ``decoy_calls`` and
    ``background_match_calls`` (calls overlapping a decoy / a background match and no
    functional instance), ``n_calls_best``, ``tp_best`` and ``tp_identity_best`` (the same counts
    among the calls the best cut-off keeps).
    """
    m = _match(calls, truth, assignment, n_sequences)
    n = m.n_sequences

    def per_sequence(mask):
        return np.bincount(m.call_seq[mask], minlength=n).astype(np.int64)

    every = np.ones(m.call_seq.size, dtype=bool)
    return pd.DataFrame({
        "seq": np.arange(n, dtype=np.int64),
        "n_calls": per_sequence(every),
        "n_truth": np.bincount(m.target_seq, minlength=n).astype(np.int64),
        "tp": per_sequence(m.tp),
        "tp_identity": np.full(n, np.nan) if m.tp_identity is None else per_sequence(m.tp_identity),
        "paper_hits": per_sequence(m.hit),
        "decoy_calls": per_sequence(m.on_decoy),
        "background_match_calls": per_sequence(m.on_background_match),
        "n_calls_best": per_sequence(m.kept_best),
        "tp_best": per_sequence(m.tp & m.kept_best),
        "tp_identity_best": (np.full(n, np.nan) if m.tp_identity is None
                             else per_sequence(m.tp_identity & m.kept_best)),
    })


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
