"""Motif instances by scanning: FIMO (memelite, in-process), the scan-threshold rules, the merge of
overlapping hits, and the background matches of the true motifs.

Every scanning route (``positive_control``, ``negative_control``, the FIMO step of ``modisco``) calls
:func:`scan_instances` with the same ``scan_threshold`` rule, so a route differs from another only in
the motifs it scans. A rule gives each motif a p-value cut-off (FIMO's ``p < cut-off``):

``{"pvalue": p}``
    the same cut-off for every motif (FIMO's convention; ``1e-4`` is FIMO's default).
``{"sensitivity": s, "max_pvalue": p_max}``
    per motif, the strictest cut-off that a fraction ``s`` of the sites drawn from the motif's own
    PFM pass, computed exactly from the PFM on memelite's score grid (no sampling, no truth needed:
    any route can compute it for its own motifs), never looser than ``p_max``. A sharp motif gets a
    strict cut-off (few background hits), a short or weak motif the looser one it needs to be found
    at all (the best 6-mer of a 6-column PFM has p = 4^-6 = 2.4e-4, so ``{"pvalue": 1e-4}`` cannot
    call it even at its consensus).
``{"background_rate": r, "max_pvalue": p_max}``
    per motif, the cut-off at which the motif has at most ``r`` hits per kb (windows counted once,
    either strand) on one dinucleotide shuffle of the scanned sequences, seeded; never looser
    than ``p_max``.

``reports/scanning/`` (made by ``scripts/fimo_reachability.py``) measures each rule on every preset
motif: the share of PFM-sampled sites a rule reaches, and its background hits per kb.
"""

from __future__ import annotations

import math
from numbers import Real

import numpy as np
import pandas as pd

from simulations import empty_instances
from simulations.scan import column_sum_distribution
from simulations.validation import validate_one_hot_shape

#: memelite's FIMO settings the exact threshold computation reproduces (its defaults, used by fimo_hits)
FIMO_EPS = 1e-4
FIMO_BIN_SIZE = 0.1

#: the rule every scanning route uses unless told otherwise, chosen from reports/scanning/: every
#: preset motif reaches ~0.9 of its PFM-sampled sites (p < 1e-4 reaches 0 of MAX's, 1e-3 0.79 of
#: GATA1's), with 2-10x fewer background calls than a fixed p that reaches GATA1 (2e-3); the cap
#: (above the loosest cut-off a preset motif needs, GATA1's 2.2e-3) bounds what a weak motif (a
#: random one of the negative control) may call at about 5 per kb
DEFAULT_SCAN_THRESHOLD = {"sensitivity": 0.9, "max_pvalue": 3e-3}

SCAN_RULES = ("pvalue", "sensitivity", "background_rate")
_RULE_OPTIONS = {"pvalue": (), "sensitivity": ("max_pvalue",), "background_rate": ("max_pvalue",)}
_DEFAULT_MAX_PVALUE = 3e-3


def _is_number(v) -> bool:
    return isinstance(v, Real) and not isinstance(v, bool) and math.isfinite(float(v))


def check_scan_threshold(rule, name: str = "scan_threshold") -> dict:
    """Validate a scan-threshold rule and return it in full (``max_pvalue`` filled in).

    Accepts ``{"pvalue": p}`` with ``0 < p <= 1``, ``{"sensitivity": s}`` with ``0 < s < 1``,
    ``{"background_rate": r}`` with ``r > 0`` hits per kb (the last two take an optional
    ``"max_pvalue"`` in ``(0, 1]``), or a bare number ``p``, short for ``{"pvalue": p}``.

    Raises
    ------
    ValueError
        Naming the parameter (``name``) and what was expected.
    """
    expected = ("a mapping with one rule, {'pvalue': p in (0, 1]}, {'sensitivity': s in (0, 1)} or "
                "{'background_rate': hits per kb > 0} (the last two with an optional 'max_pvalue' in (0, 1]), "
                "or a number p in (0, 1]")
    if _is_number(rule):
        rule = {"pvalue": rule}
    if not isinstance(rule, dict):
        raise ValueError(f"{name} must be {expected}; got {rule!r}")
    kinds = [k for k in rule if k in SCAN_RULES]
    if len(kinds) != 1:
        raise ValueError(f"{name} must name exactly one rule of {list(SCAN_RULES)}; got {rule!r} ({expected})")
    kind = kinds[0]
    unknown = sorted(set(rule) - {kind, *_RULE_OPTIONS[kind]})
    if unknown:
        raise ValueError(f"{name}: unknown key(s) {unknown} for the {kind!r} rule; valid: "
                         f"{[kind, *_RULE_OPTIONS[kind]]}")
    v = rule[kind]
    ok = _is_number(v) and {"pvalue": 0 < v <= 1, "sensitivity": 0 < v < 1, "background_rate": v > 0}[kind]
    if not ok:
        want = {"pvalue": "a p-value in (0, 1]", "sensitivity": "a fraction in (0, 1)",
                "background_rate": "a positive number of hits per kb"}[kind]
        raise ValueError(f"{name}.{kind} must be {want}, got {v!r}")
    out = {kind: float(v)}
    if _RULE_OPTIONS[kind]:
        m = rule.get("max_pvalue", _DEFAULT_MAX_PVALUE)
        if not (_is_number(m) and 0 < m <= 1):
            raise ValueError(f"{name}.max_pvalue must be a p-value in (0, 1], got {m!r}")
        out["max_pvalue"] = float(m)
    return out


def _as_pfms(motifs) -> dict:
    """``{name: (4, W) float64}`` from a dict of arrays or Motifs, or a list of Motifs."""
    if motifs is None:
        return {}
    if not isinstance(motifs, dict):
        motifs = {m.name: m for m in motifs}
    out = {}
    for name, m in motifs.items():
        pfm = np.asarray(getattr(m, "pfm", m), dtype=np.float64)
        if pfm.ndim != 2 or pfm.shape[0] != 4 or pfm.shape[1] < 1:
            raise ValueError(f"motif {name!r} must be a (4, W) matrix, got shape {pfm.shape}")
        out[str(name)] = pfm
    return out


# ---------------------------------------------------------------------- per-motif cut-offs


def _fimo_log_odds(pfm) -> np.ndarray:
    """memelite's scoring matrix: ``log2(pfm + eps) - log2(0.25)``."""
    return np.log2(np.asarray(pfm, dtype=np.float64) + FIMO_EPS) - math.log2(0.25)


def fimo_pvalue_table(pfm) -> tuple[np.ndarray, int]:
    """memelite's p-value table of a PFM: ``P(score >= bin)`` for a uniform random window, for every
    score bin of ``FIMO_BIN_SIZE`` from the lowest reachable one up; returns ``(table, lowest bin)``."""
    ints = np.rint(_fimo_log_odds(pfm) / FIMO_BIN_SIZE).astype(np.int64)
    mass, lowest = column_sum_distribution(ints, np.full(ints.shape, 0.25))
    return np.cumsum(mass[::-1])[::-1], lowest


def site_score_tail(pfm, scores, resolution: float = 1e-3) -> np.ndarray:
    """``P(score >= s)`` for a site drawn from the PFM itself, for each ``s`` of ``scores`` (bits,
    memelite's score: the sum of its log-odds over the window), exact up to ``resolution`` per column."""
    pfm = np.asarray(pfm, dtype=np.float64)
    probs = pfm / pfm.sum(axis=0, keepdims=True)
    fine = np.rint(_fimo_log_odds(pfm) / resolution).astype(np.int64)
    mass, lowest = column_sum_distribution(fine, probs)
    tail = np.concatenate([np.cumsum(mass[::-1])[::-1], [0.0]])
    idx = np.ceil(np.asarray(scores, dtype=np.float64) / resolution - 1e-9).astype(np.int64) - lowest
    return tail[np.clip(idx, 0, mass.size)]


def sensitivity_pvalue(pfm, sensitivity: float, max_pvalue: float = 1.0) -> float:
    """The strictest FIMO p-value cut-off that a fraction ``sensitivity`` of the PFM's own sites pass.

    memelite calls a window when its score reaches the first bin of the p-value table whose p is
    below the cut-off; every cut-off between the p of two neighbouring reachable bins gives the same
    score threshold. For each such step this finds the share of PFM-drawn sites scoring at or above
    it (:func:`site_score_tail`), takes the strictest step that keeps ``sensitivity``, and returns
    the cut-off halfway (in log) inside that step, capped at ``max_pvalue``.
    """
    table, lowest = fimo_pvalue_table(pfm)
    reachable = np.flatnonzero(table > np.r_[table[1:], 0.0] * (1 + 1e-12))  # the bins with mass
    if reachable.size < 2:
        return float(max_pvalue)
    prev, here = reachable[:-1], reachable[1:]
    # a cut-off in (table[here], table[prev]] calls every window scoring >= bin prev + 1
    kept = site_score_tail(pfm, (prev + 1 + lowest) * FIMO_BIN_SIZE)
    ok = np.flatnonzero(kept >= sensitivity - 1e-12)
    if ok.size == 0:
        return float(max_pvalue)
    k = ok[-1]
    cut = math.sqrt(table[here[k]] * table[prev[k]])
    return float(min(cut, max_pvalue))


def _shuffled(x: np.ndarray, seed: int) -> np.ndarray:
    from .attribution import make_references

    return make_references(np.asarray(x, dtype=np.float32), 1, seed)[:, 0]


def background_rate_pvalues(motifs, x, rate: float, max_pvalue: float = _DEFAULT_MAX_PVALUE,
                            seed: int = 0) -> dict:
    """Per motif, the loosest cut-off (at most ``max_pvalue``) giving at most ``rate`` hits per kb on
    one dinucleotide shuffle of ``x`` (a window hit on both strands counts once)."""
    pfms = _as_pfms(motifs)
    x = np.asarray(x)
    shuffled = _shuffled(x, seed)
    hits = fimo_hits(pfms, shuffled, max_pvalue)
    budget = int(math.floor(rate * x.shape[0] * x.shape[2] / 1000.0))
    out = {}
    for name in pfms:
        h = hits[hits["motif"] == name]
        # one p per window: the better strand
        p = np.sort((10.0 ** -h.groupby(["seq", "start"])["score"].max()).to_numpy())
        if p.size <= budget:
            out[name] = float(max_pvalue)
            continue
        # p < cut keeps the windows below it: the budget-th smallest p (0-based) is the first left out
        cut = float(p[budget])
        while budget > 0 and np.count_nonzero(p < cut) > budget:  # ties cannot be split
            budget -= 1
            cut = float(p[budget])
        out[name] = cut
    return out


def motif_pvalues(motifs, x=None, rule=None, seed: int = 0) -> dict:
    """The FIMO p-value cut-off of every motif under a scan-threshold rule (see the module docstring).

    ``x`` (the sequences to be scanned) and ``seed`` are used by ``background_rate`` only.
    """
    rule = check_scan_threshold(DEFAULT_SCAN_THRESHOLD if rule is None else rule)
    pfms = _as_pfms(motifs)
    if "pvalue" in rule:
        return {n: rule["pvalue"] for n in pfms}
    if "sensitivity" in rule:
        return {n: sensitivity_pvalue(p, rule["sensitivity"], rule["max_pvalue"]) for n, p in pfms.items()}
    if x is None:
        raise ValueError("the background_rate rule needs the sequences x to shuffle")
    return background_rate_pvalues(pfms, x, rule["background_rate"], rule["max_pvalue"], seed)


# ---------------------------------------------------------------------- scanning


def fimo_hits(motifs, x: np.ndarray, threshold=1e-4) -> pd.DataFrame:
    """FIMO hits of every motif on every sequence.

    Parameters
    ----------
    motifs : dict name -> numpy.ndarray (4, W) (or Motif), or a list of Motifs
        Position probability matrices (memelite takes the log-odds against a uniform background).
    x : numpy.ndarray (N, 4, L)
        One-hot sequences.
    threshold : float or dict name -> float
        p-value cut-off (FIMO's default 1e-4), one for all motifs or one per motif.

    Returns
    -------
    Instances table (``seq, start, end, strand, motif, score``), 0-based half-open (memelite has
    no 1-based offset), ``score`` = -log10 p.
    """
    pfms = _as_pfms(motifs)
    if not pfms:
        return empty_instances()
    x = validate_one_hot_shape(x, "x")
    from memelite import fimo

    cuts = dict(threshold) if isinstance(threshold, dict) else {n: threshold for n in pfms}
    missing = sorted(set(pfms) - set(cuts))
    if missing:
        raise ValueError(f"threshold has no p-value for motif(s) {missing}")
    # a motif wider than the sequences cannot be scanned (and memelite rejects it)
    scannable = [n for n, p in pfms.items() if p.shape[1] <= x.shape[2]]
    groups: dict[float, dict] = {}
    for n in scannable:
        groups.setdefault(float(cuts[n]), {})[n] = pfms[n]
    xs = x.astype(np.float32)
    rows = []
    for cut, group in groups.items():
        frames = fimo(group, xs, threshold=cut, eps=FIMO_EPS, bin_size=FIMO_BIN_SIZE)
        rows += [f for f in frames if f is not None and len(f)]
    if not rows:
        return empty_instances()
    df = pd.concat(rows, ignore_index=True)
    out = pd.DataFrame({
        "seq": df["sequence_name"].astype("int64"),
        "start": df["start"].astype("int64"),
        "end": df["end"].astype("int64"),
        "strand": df["strand"].astype(object),
        "motif": df["motif_name"].astype(str).astype(object),
        "score": -np.log10(np.maximum(df["p-value"].astype("float64"), 1e-300)),
    })
    # the motifs' own order, whatever order the threshold groups ran in
    order = {n: i for i, n in enumerate(pfms)}
    out["_m"] = out["motif"].map(order)
    return out.sort_values(["_m"], kind="stable").drop(columns="_m").reset_index(drop=True)


def merge_overlapping(hits: pd.DataFrame) -> pd.DataFrame:
    """Merge hits that overlap on the same sequence (any motif, any strand), as ``bedtools merge``
    in the reference pipeline: the merged call spans the union and keeps the best-scoring hit's
    motif, strand and score."""
    if len(hits) == 0:
        return empty_instances()
    h = hits.sort_values(["seq", "start", "end"], kind="stable").reset_index(drop=True)
    seq, start, end = h["seq"].to_numpy(), h["start"].to_numpy(), h["end"].to_numpy()
    group = np.zeros(len(h), dtype=np.int64)
    g, cur_seq, cur_end = 0, seq[0], end[0]
    for i in range(1, len(h)):
        if seq[i] != cur_seq or start[i] >= cur_end:
            g += 1
            cur_seq, cur_end = seq[i], end[i]
        else:
            cur_end = max(cur_end, end[i])
        group[i] = g
    h["_group"] = group
    best = h.loc[h.groupby("_group")["score"].idxmax()].set_index("_group")
    span = h.groupby("_group").agg(start=("start", "min"), end=("end", "max"))
    out = pd.DataFrame({"seq": best["seq"], "start": span["start"], "end": span["end"],
                        "strand": best["strand"], "motif": best["motif"], "score": best["score"]})
    return out.reset_index(drop=True)


def scan_instances(motifs, x: np.ndarray, scan_threshold=None, merge: bool = True, seed: int = 0):
    """The scanning routes' instance calls: FIMO hits under a scan-threshold rule, merged or not.

    Parameters
    ----------
    motifs : dict name -> (4, W) PFM (or Motif), or a list of Motifs
    x : numpy.ndarray (N, 4, L)
    scan_threshold : rule, see :func:`check_scan_threshold`; None = :data:`DEFAULT_SCAN_THRESHOLD`
        (a bare number is a fixed p-value cut-off).
    merge : bool
        Merge overlapping hits (any motif, any strand), as the reference pipeline did.
    seed : int
        Seed of the ``background_rate`` rule's shuffle.

    Returns
    -------
    ``(instances, details)``, details = ``{"instances_unmerged": n, "instances_merged": m,
    "scan_threshold": the full rule, "scan_pvalues": {motif: cut-off}}``.
    """
    rule = check_scan_threshold(DEFAULT_SCAN_THRESHOLD if scan_threshold is None else scan_threshold)
    pfms = _as_pfms(motifs)
    cuts = motif_pvalues(pfms, x, rule, seed) if pfms else {}
    hits = fimo_hits(pfms, x, cuts)
    merged = merge_overlapping(hits)
    details = {"instances_unmerged": int(len(hits)), "instances_merged": int(len(merged)),
               "scan_threshold": rule, "scan_pvalues": {n: float(c) for n, c in cuts.items()}}
    return (merged if merge else hits), details


def background_matches(motifs, x: np.ndarray, truth: pd.DataFrame, scan_threshold=None, merge: bool = True,
                       seed: int = 0) -> pd.DataFrame:
    """The calls a scan of the true motifs makes outside every planted instance.

    The same scan as ``positive_control`` (:func:`scan_instances`, same rule, same merge), minus
    every call sharing at least one base with any row of ``truth`` (functional or decoy, either
    strand). Added to the truth table, these rows say which background windows a scanner at this
    threshold sees, so precision can be read against them.

    Parameters
    ----------
    motifs : dict name -> (4, W) PFM (or Motif), or a list of Motifs
        The planted (true) motifs.
    x : numpy.ndarray (N, 4, L)
        The scanned sequences (the interpreted ones).
    truth : DataFrame
        Planted instances of these sequences (``seq`` indexes ``x``; ``seq, start, end`` used).
    scan_threshold, merge, seed
        As for :func:`scan_instances`; the route defaults when not given.

    Returns
    -------
    A truth-style table (``seq, start, end, strand, motif, score, role, functional``) with
    ``role = "background_match"`` and ``functional = False``; ``score`` is FIMO's -log10 p.
    """
    from simulations import TRUTH_COLUMNS

    calls, _ = scan_instances(motifs, x, scan_threshold, merge, seed)
    if len(calls) and len(truth):
        n, length = np.asarray(x).shape[0], np.asarray(x).shape[2]
        covered = np.zeros((n, length + 1), dtype=np.int64)  # difference array of planted bases
        t = truth[(truth["seq"] >= 0) & (truth["seq"] < n)]
        np.add.at(covered, (t["seq"].to_numpy(np.int64), np.clip(t["start"].to_numpy(np.int64), 0, length)), 1)
        np.add.at(covered, (t["seq"].to_numpy(np.int64), np.clip(t["end"].to_numpy(np.int64), 0, length)), -1)
        planted = np.cumsum(covered, axis=1)[:, :length] > 0
        csum = np.concatenate([np.zeros((n, 1), np.int64), np.cumsum(planted, axis=1)], axis=1)
        seq, start, end = (calls[c].to_numpy(np.int64) for c in ("seq", "start", "end"))
        calls = calls[(csum[seq, end] - csum[seq, start]) == 0]
    out = calls.reset_index(drop=True).copy()
    out["role"] = pd.Series(["background_match"] * len(out), dtype=object)
    out["functional"] = pd.Series(np.zeros(len(out), dtype=bool))
    if len(out) == 0:
        return empty_instances(truth=True)
    return out[TRUTH_COLUMNS]
