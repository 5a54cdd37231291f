"""Attribution maps against the planted positions, sign agreement between methods, seed stability.

Position score: the actual contribution summed over channels, ``Σ_c attr[n, c, i] · x[n, c, i]``
(multiplying by the one-hot is a no-op for maps that already are actual contributions, and turns
hypothetical contributions into actual ones). Attribution accuracy ranks ``|score|`` (Prakash et
al. 2021).

Besides AUROC / AUPRC, :func:`attribution_scores` reports the positional measures the field uses
(all against the planted mask of :func:`planted_mask`, decoys counted as background):

- ``mass_in_motifs``: the share of a sequence's positive contribution that falls on planted
  positions (Prakash et al. 2022), beside ``mass_in_motifs_chance``, the share of its positions
  that are planted (what a flat map gets);
- ``topk_recall``: with k the sequence's planted positions, the share of them among its k
  positions of largest ``|score|`` (ties at the k-th value shared, the expected value over
  orders);
- ``position_precision/recall/f1_at_<t>``: seqgra's thresholded rule (Krismer et al. 2022): a
  position is called important when ``|score|`` divided by the sequence's largest ``|score|`` is
  at least ``t`` (so the threshold is scale-free; a sequence whose map is all zero calls nothing);
  precision = called planted / called, recall = called planted / planted, pooled over sequences.
  seqgra's default threshold is 0.01; :data:`POSITION_THRESHOLDS` adds 0.1 and 0.5.

:func:`site_pfm_cosine` compares the map at each planted site with its motif (Majdandzic et al.
2023).
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from simulations import information_content
from simulations.validation import validate_one_hot_shape

from ._ranking import auroc_rows, average_precision_rows

#: thresholds (fractions of each sequence's peak ``|score|``) of the per-position precision / recall;
#: 0.01 is seqgra's default
POSITION_THRESHOLDS = (0.01, 0.1, 0.5)


def _check_maps(a, name: str) -> np.ndarray:
    a = validate_one_hot_shape(np.asarray(a, dtype=np.float64), name)
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite")
    return a


def _check_truth(truth, name: str = "truth") -> pd.DataFrame:
    if not isinstance(truth, pd.DataFrame) or not {"seq", "start", "end"} <= set(truth.columns):
        raise ValueError(f"{name} must be an Instances DataFrame with seq, start, end columns")
    return truth


def planted_mask(truth: pd.DataFrame, n: int, length: int, functional_only: bool = True) -> np.ndarray:
    """Boolean ``(N, L)`` mask of positions covered by planted instances.

    Parameters
    ----------
    truth : ground-truth Instances table
    n, length : shape of the sequences
    functional_only : bool
        Only rows with ``functional`` True (decoys are then background).
    """
    truth = _check_truth(truth)
    seq, start, end = (truth[c].to_numpy(np.int64) for c in ("seq", "start", "end"))
    if seq.size and (seq.min() < 0 or seq.max() >= n or start.min() < 0 or end.max() > length):
        raise ValueError(f"truth has instances outside the (N={n}, L={length}) sequences")
    if functional_only and "functional" in truth.columns:
        keep = truth["functional"].to_numpy(bool)
        seq, start, end = seq[keep], start[keep], end[keep]
    # +1 at each start, −1 at each end, a running sum > 0 is covered (handles overlapping instances)
    delta = np.zeros((n, length + 1), dtype=np.int64)
    np.add.at(delta, (seq, start), 1)
    np.add.at(delta, (seq, end), -1)
    return np.cumsum(delta, axis=1)[:, :length] > 0


def informative_mask(truth: pd.DataFrame, motifs: dict, n: int, length: int, min_ic: float = 0.1) -> np.ndarray:
    """Boolean ``(N, L)`` mask of functional planted positions whose motif column carries information.

    The Koo & Ploenzke (2021) label is "ground-truth PWM information > 0.01 bit"; Majdandzic et
    al. (2023) use 0.1 bit. Position ``start + i`` of a ``-`` strand instance is column
    ``W - 1 - i`` of the motif (the reverse complement has the same information, reversed).

    Parameters
    ----------
    truth : ground-truth Instances table (``strand`` and ``motif`` used; decoys ignored)
    motifs : dict name → Motif or (4, W) PFM, covering every functional instance's motif
    n, length : shape of the sequences
    min_ic : float
        Bits; a position is informative when its column's IC exceeds this.
    """
    truth = _check_truth(truth)
    if not isinstance(motifs, dict):
        raise ValueError(f"motifs must be a dict name -> Motif or PFM, got {type(motifs).__name__}")
    planted_mask(truth, n, length, functional_only=False)  # bounds check
    if "functional" in truth.columns:
        truth = truth.loc[truth["functional"].to_numpy(bool)]
    mask = np.zeros((n, length), dtype=bool)
    for (name, strand), rows in truth.groupby(["motif", "strand"], sort=False):
        if name not in motifs:
            raise ValueError(f"motifs has no entry for planted motif {name!r}")
        ic = information_content(np.asarray(getattr(motifs[name], "pfm", motifs[name]), dtype=np.float64))
        if strand == "-":
            ic = ic[::-1]
        seq, start, end = (rows[c].to_numpy(np.int64) for c in ("seq", "start", "end"))
        if np.any(end - start != ic.size):
            raise ValueError(f"truth instances of {name!r} must span the motif width {ic.size}")
        pos = start[:, None] + np.flatnonzero(ic > min_ic)[None, :]
        mask[np.broadcast_to(seq[:, None], pos.shape), pos] = True
    return mask


def _motif_pfm(motifs: dict, name: str) -> np.ndarray:
    if name not in motifs:
        raise ValueError(f"motifs has no entry for planted motif {name!r}")
    pfm = np.asarray(getattr(motifs[name], "pfm", motifs[name]), dtype=np.float64)
    if pfm.ndim != 2 or pfm.shape[0] != 4:
        raise ValueError(f"motif {name!r} must be a (4, W) PFM, got shape {pfm.shape}")
    return pfm


def site_pfm_cosine(attr, truth: pd.DataFrame, motifs: dict, x=None, center: bool = True,
                    weight: str = "ic") -> pd.DataFrame:
    """Cosine between the attribution map at each functional planted site and that site's motif.

    The comparison Majdandzic et al. (2023) make between an attribution map and the ground-truth
    motif, here one planted site at a time: the map's ``(4, W)`` window over the site against the
    motif's logo (``weight="ic"``: each PFM column times its information content in bits, the
    heights of a sequence logo; ``"none"``: the probabilities), oriented as planted (a ``-`` site
    reads the reverse complement: both axes flipped).

    With ``center`` (the default) both windows have each column's mean over the four bases
    subtracted first: one-hot inputs cannot probe a per-position offset (the off-simplex part
    Majdandzic et al. remove), so only which base a position prefers, and by how much, is
    compared. With ``x`` the comparison is restricted to the observed bases instead (the map is
    read as actual contributions, ``attr · x``, against the logo height of the observed base, no
    centering): a map of actual contributions carries nothing about the other bases.

    Parameters
    ----------
    attr : (N, 4, L) float
        Hypothetical contributions (every base at every position); actual contributions with ``x``.
    truth : ground-truth Instances table; functional rows are the sites (all rows without a
        ``functional`` column), each spanning its motif's width, with ``strand`` ``+`` or ``-``
    motifs : dict name → Motif or (4, W) PFM, covering every site's motif
    x : (N, 4, L) one-hot or None
    center : bool
        Subtract each column's mean over the bases from both windows (ignored with ``x``).
    weight : {"ic", "none"}

    Returns
    -------
    DataFrame, one row per site in truth order: ``seq``, ``start``, ``end``, ``strand``, ``motif``,
    ``cosine`` (NaN where either window has zero norm: an all-zero map, or a flat column set).
    """
    attr = _check_maps(attr, "attr")
    truth = _check_truth(truth)
    if not isinstance(motifs, dict):
        raise ValueError(f"motifs must be a dict name -> Motif or PFM, got {type(motifs).__name__}")
    if weight not in ("ic", "none"):
        raise ValueError(f"weight must be 'ic' or 'none', got {weight!r}")
    n, _, length = attr.shape
    if x is not None:
        x = _check_maps(x, "x")
        if x.shape != attr.shape:
            raise ValueError(f"x must have the shape of attr {attr.shape}, got {x.shape}")
    planted_mask(truth, n, length, functional_only=False)  # bounds check
    sites = truth.loc[truth["functional"].to_numpy(bool)] if "functional" in truth.columns else truth
    sites = sites.reset_index(drop=True)
    cosine = np.full(len(sites), np.nan)
    for (name, strand), rows in sites.groupby(["motif", "strand"], sort=False):
        if strand not in ("+", "-"):
            raise ValueError(f"site strands must be '+' or '-', got {strand!r}")
        pfm = _motif_pfm(motifs, name)
        logo = pfm * information_content(pfm)[None, :] if weight == "ic" else pfm
        if strand == "-":
            logo = logo[::-1, ::-1]
        seq, start, end = (rows[c].to_numpy(np.int64) for c in ("seq", "start", "end"))
        width = logo.shape[1]
        if np.any(end - start != width):
            raise ValueError(f"sites of {name!r} must span the motif width {width}")
        pos = start[:, None] + np.arange(width)[None, :]
        window = attr[seq[:, None], :, pos].transpose(0, 2, 1)  # (sites, 4, W)
        target = np.broadcast_to(logo, window.shape)
        if x is not None:
            observed = x[seq[:, None], :, pos].transpose(0, 2, 1)
            window, target = window * observed, target * observed
        elif center:
            window = window - window.mean(axis=1, keepdims=True)
            target = target - target.mean(axis=1, keepdims=True)
        dot = (window * target).sum(axis=(1, 2))
        norm = np.sqrt((window ** 2).sum(axis=(1, 2)) * (target ** 2).sum(axis=(1, 2)))
        with np.errstate(invalid="ignore", divide="ignore"):
            cosine[rows.index.to_numpy()] = np.where(norm > 0, dot / norm, np.nan)
    out = sites[["seq", "start", "end", "strand", "motif"]].copy()
    out["cosine"] = cosine
    return out


def site_cosine_components(sites: pd.DataFrame, n: int) -> pd.DataFrame:
    """Per-sequence sum and count of the defined site cosines of :func:`site_pfm_cosine`.

    Σ ``site_cosine_sum`` / Σ ``n_sites`` over sequences is the mean site cosine (a ratio of sums
    for the bootstrap over sequences). Returns a DataFrame with ``seq`` 0 .. n − 1,
    ``site_cosine_sum``, ``n_sites``.
    """
    ok = np.isfinite(sites["cosine"].to_numpy(np.float64))
    seq = sites["seq"].to_numpy(np.int64)[ok]
    return pd.DataFrame({"seq": np.arange(n, dtype=np.int64),
                         "site_cosine_sum": np.bincount(seq, sites["cosine"].to_numpy(np.float64)[ok], minlength=n),
                         "n_sites": np.bincount(seq, minlength=n).astype(np.int64)})


def _contribution(attr: np.ndarray, x: np.ndarray | None) -> np.ndarray:
    return (attr * x).sum(axis=1) if x is not None else attr.sum(axis=1)


def _per_sequence(attr, x, truth, functional_only: bool, motifs, min_ic: float) -> dict:
    """Validated inputs → labels, scores and the per-sequence AUROC / AUPRC (NaN where unscored)."""
    attr = _check_maps(attr, "attr")
    x = _check_maps(x, "x")
    if x.shape != attr.shape:
        raise ValueError(f"x must have the shape of attr {attr.shape}, got {x.shape}")
    n, _, length = attr.shape
    labels = planted_mask(truth, n, length, functional_only)
    score = np.abs(_contribution(attr, x))
    if motifs is not None:
        informative = informative_mask(truth, motifs, n, length, min_ic)
        # an excluded position gets score −inf and label False: it ranks below every scored
        # position, so it shifts no AUROC pair and no precision at any positive
        excluded = labels & ~informative
        labels = informative
        score = np.where(excluded, -np.inf, score)
    else:
        excluded = np.zeros_like(labels)
    n_pos = labels.sum(axis=1)
    n_neg = (~labels & ~excluded).sum(axis=1)
    both = (n_pos > 0) & (n_neg > 0)
    # computed on the scored rows only and scattered, so the mean over them is the same array's mean
    roc, pr = np.full(n, np.nan), np.full(n, np.nan)
    roc[both] = _auroc_excluding(score[both], labels[both], excluded[both])
    pr[both] = average_precision_rows(score[both], labels[both])
    return {"score": score, "labels": labels, "excluded": excluded, "n_pos": n_pos, "n_neg": n_neg,
            "both": both, "auroc": roc, "auprc": pr, "attr": attr, "x": x}


def _check_thresholds(thresholds) -> tuple[float, ...]:
    out = tuple(float(t) for t in np.atleast_1d(np.asarray(thresholds, dtype=np.float64)))
    if not out or any(not (0 < t <= 1) for t in out):
        raise ValueError(f"thresholds must be fractions of the peak in (0, 1], got {thresholds!r}")
    return out


def _topk_hits(score: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Planted positions among each row's top k = (planted positions) by score; NaN where k = 0.

    Positions tied with the k-th largest score share the remaining places: each counts with
    probability (places left) / (tied positions), the expected hits over the orders of the tie.
    """
    n = score.shape[0]
    k = labels.sum(axis=1)
    hits = np.full(n, np.nan)
    rows = np.flatnonzero(k > 0)
    if rows.size:
        s, lab, kk = score[rows], labels[rows], k[rows]
        kth = -np.sort(-s, axis=1)[np.arange(rows.size), kk - 1]
        above = s > kth[:, None]
        tied = s == kth[:, None]
        n_above = above.sum(axis=1)
        hits[rows] = (above & lab).sum(axis=1) + (kk - n_above) * (tied & lab).sum(axis=1) / tied.sum(axis=1)
    return hits


def _positional(attr: np.ndarray, x: np.ndarray, truth: pd.DataFrame, functional_only: bool,
                thresholds: tuple) -> dict:
    """Per-sequence mass inside the planted positions, top-k hits and thresholded calls (``(N,)`` arrays)."""
    n, _, length = attr.shape
    labels = planted_mask(truth, n, length, functional_only)
    contribution = _contribution(attr, x)
    score = np.abs(contribution)
    positive = np.maximum(contribution, 0.0)
    total = positive.sum(axis=1)
    inside = (positive * labels).sum(axis=1)
    n_pos = labels.sum(axis=1)
    mass_defined = (n_pos > 0) & (total > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mass = np.where(mass_defined, inside / total, np.nan)
    out = {"labels": labels, "n_pos": n_pos, "mass": mass, "mass_inside": inside, "mass_total": total,
           "mass_defined": mass_defined, "chance": np.where(mass_defined, n_pos / length, np.nan),
           "topk_hits": _topk_hits(score, labels)}
    peak = score.max(axis=1, initial=0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        relative = np.where(peak[:, None] > 0, score / peak[:, None], 0.0)
    for t in thresholds:
        called = (relative >= t) & (score > 0)
        out[f"called_{t}"] = called.sum(axis=1)
        out[f"tp_{t}"] = (called & labels).sum(axis=1)
    return out


def _positional_scores(pos: dict, thresholds: tuple) -> dict[str, float]:
    """Pooled and per-sequence-mean summaries of :func:`_positional`."""
    def ratio(num, den):
        d = float(np.sum(den))
        return float(np.sum(num)) / d if d > 0 else np.nan

    defined, n_pos = pos["mass_defined"], pos["n_pos"]
    has_pos = n_pos > 0
    out = {
        "mass_in_motifs": float(pos["mass"][defined].mean()) if defined.any() else np.nan,
        "pooled_mass_in_motifs": ratio(pos["mass_inside"][defined], pos["mass_total"][defined]),
        "mass_in_motifs_chance": float(pos["chance"][defined].mean()) if defined.any() else np.nan,
        "topk_recall": float((pos["topk_hits"][has_pos] / n_pos[has_pos]).mean()) if has_pos.any() else np.nan,
        "pooled_topk_recall": ratio(pos["topk_hits"][has_pos], n_pos[has_pos]),
    }
    for t in thresholds:
        tp, called = pos[f"tp_{t}"], pos[f"called_{t}"]
        precision, recall = ratio(tp, called), ratio(tp, n_pos)
        denominator = float(called.sum() + n_pos.sum())
        out[f"position_precision_at_{t:.2f}"] = precision
        out[f"position_recall_at_{t:.2f}"] = recall
        out[f"position_f1_at_{t:.2f}"] = 2.0 * float(tp.sum()) / denominator if denominator > 0 else np.nan
    return out


def attribution_scores(attr, x, truth: pd.DataFrame, functional_only: bool = True, motifs: dict | None = None,
                       min_ic: float = 0.1, thresholds=POSITION_THRESHOLDS) -> dict[str, float]:
    """AUROC and AUPRC of |actual contribution| for planted vs background positions.

    Parameters
    ----------
    attr : (N, 4, L) float
        Attribution map (actual or hypothetical contributions).
    x : (N, 4, L) one-hot
    truth : ground-truth Instances table
    functional_only : bool
        Positives are positions in functional instances; decoy positions then count as
        background (a good map should not light them up). False: every planted instance.
    motifs : dict name → Motif, or None
        When given, positives are only the informative planted positions (column IC >
        ``min_ic``, :func:`informative_mask`) and the uninformative planted positions are left
        out of both classes (Majdandzic et al. 2023), since a correct map may ignore them.
    min_ic : float
        Bits, used with ``motifs`` (0.1 as Majdandzic; 0.01 as Koo & Ploenzke).
    thresholds : sequence of float in (0, 1]
        Fractions of each sequence's peak ``|score|`` at which the per-position precision and
        recall are reported (see the module docstring).

    Returns
    -------
    dict: ``auroc``, ``auprc`` (means over sequences with at least one planted and one background
    position: Koo & Ploenzke's per-sequence view; the per-sequence values are
    :func:`attribution_components`), ``pooled_auroc``, ``pooled_auprc`` (all positions together:
    Prakash et al.; weights sequences by their planted length), ``n_sequences_scored``. AUPRC is
    average precision (step-wise, ties as one threshold). NaN when no sequence / no position set
    has both classes.

    The positional measures (always on the planted mask, ``motifs`` does not change them):
    ``mass_in_motifs`` (mean over sequences with a planted position and some positive
    contribution of inside / all positive contribution), ``pooled_mass_in_motifs`` (the sums over
    those sequences), ``mass_in_motifs_chance`` (mean planted share of positions over the same
    sequences), ``topk_recall`` (mean over sequences with a planted position), ``pooled_topk_recall``
    (hits / planted positions over them) and, for each threshold ``t``,
    ``position_precision_at_<t>``, ``position_recall_at_<t>``, ``position_f1_at_<t>`` (pooled over
    every sequence; ``t`` written with two decimals). NaN where the set or denominator is empty.
    """
    per = _per_sequence(attr, x, truth, functional_only, motifs, min_ic)
    score, labels, excluded, both = per["score"], per["labels"], per["excluded"], per["both"]
    pooled_roc = _auroc_excluding(score.reshape(1, -1), labels.reshape(1, -1), excluded.reshape(1, -1))[0]
    pooled_pr = average_precision_rows(score.reshape(1, -1), labels.reshape(1, -1))[0]
    has_both = labels.any() and per["n_neg"].sum() > 0
    out = {
        "auroc": float(per["auroc"][both].mean()) if both.any() else np.nan,
        "auprc": float(per["auprc"][both].mean()) if both.any() else np.nan,
        "pooled_auroc": float(pooled_roc) if has_both else np.nan,
        "pooled_auprc": float(pooled_pr) if has_both else np.nan,
        "n_sequences_scored": float(both.sum()),
    }
    thresholds = _check_thresholds(thresholds)
    out.update(_positional_scores(_positional(per["attr"], per["x"], truth, functional_only, thresholds),
                                  thresholds))
    return out


def attribution_components(attr, x, truth: pd.DataFrame, functional_only: bool = True, motifs: dict | None = None,
                           min_ic: float = 0.1, thresholds=POSITION_THRESHOLDS) -> pd.DataFrame:
    """Per-sequence AUROC and AUPRC of |actual contribution|, exactly as :func:`attribution_scores` averages them.

    The mean of ``auroc`` (``auprc``) over the scored sequences (those not NaN) is
    :func:`attribution_scores`'s ``auroc`` (``auprc``); a mean over a resample of sequences is the
    same statistic on that resample (a bootstrap over sequences, paired across maps of the same
    sequences).

    The positional measures are ratios of sums of the other columns (so a bootstrap over
    sequences resamples them as :func:`bench.metrics.paired.paired_difference` expects):
    ``mass_in_motifs`` = Σ ``mass_in_motifs`` / Σ ``mass_defined``, ``pooled_mass_in_motifs`` =
    Σ ``mass_inside`` / Σ ``mass_total`` (over ``mass_defined`` rows), ``pooled_topk_recall`` =
    Σ ``topk_hits`` / Σ ``n_planted``, ``topk_recall`` = Σ ``topk_recall`` / Σ ``topk_defined``,
    ``position_precision_at_<t>`` = Σ ``tp_<t>`` / Σ ``called_<t>``, ``position_recall_at_<t>`` =
    Σ ``tp_<t>`` / Σ ``n_planted``.

    Parameters
    ----------
    attr, x, truth, functional_only, motifs, min_ic, thresholds : as in :func:`attribution_scores`

    Returns
    -------
    DataFrame with one row per sequence ``0 .. N − 1``: ``seq``, ``auroc``, ``auprc`` (NaN where
    the sequence has no positive or no negative position), ``n_positive``, ``n_negative``
    (positions in each class; positions left out with ``motifs`` are in neither); then
    ``n_planted`` (planted positions, whatever ``motifs``), ``mass_in_motifs`` (NaN where
    undefined), ``mass_defined`` (1/0), ``mass_inside``, ``mass_total`` (positive contribution on
    planted / all positions), ``topk_hits`` (0 without planted positions), ``topk_recall`` (NaN
    there), ``topk_defined`` (1/0), and ``called_<t>``, ``tp_<t>`` for each threshold (``t`` with
    two decimals).
    """
    per = _per_sequence(attr, x, truth, functional_only, motifs, min_ic)
    thresholds = _check_thresholds(thresholds)
    pos = _positional(per["attr"], per["x"], truth, functional_only, thresholds)
    has_pos = pos["n_pos"] > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        topk_recall = np.where(has_pos, pos["topk_hits"] / pos["n_pos"], np.nan)
    frame = {"seq": np.arange(per["both"].size, dtype=np.int64), "auroc": per["auroc"],
             "auprc": per["auprc"], "n_positive": per["n_pos"].astype(np.int64),
             "n_negative": per["n_neg"].astype(np.int64), "n_planted": pos["n_pos"].astype(np.int64),
             "mass_in_motifs": pos["mass"], "mass_defined": pos["mass_defined"].astype(np.int64),
             "mass_inside": np.where(pos["mass_defined"], pos["mass_inside"], 0.0),
             "mass_total": np.where(pos["mass_defined"], pos["mass_total"], 0.0),
             "topk_hits": np.nan_to_num(pos["topk_hits"]), "topk_recall": topk_recall,
             "topk_defined": has_pos.astype(np.int64)}
    for t in thresholds:
        frame[f"called_{t:.2f}"] = pos[f"called_{t}"].astype(np.int64)
        frame[f"tp_{t:.2f}"] = pos[f"tp_{t}"].astype(np.int64)
    return pd.DataFrame(frame)


def _auroc_excluding(score: np.ndarray, labels: np.ndarray, excluded: np.ndarray) -> np.ndarray:
    """Row AUROC ignoring excluded positions (given score −inf, they would count as negatives)."""
    if not excluded.any():
        return auroc_rows(score, labels)
    n_pos = labels.sum(axis=1)
    n_ex = excluded.sum(axis=1)
    # the excluded entries take the lowest ranks 1..n_ex, below every positive: remove their
    # contribution to the negatives' count, U = Σ ranks(pos) − n_pos (n_pos + 1)/2 − n_pos n_ex
    from scipy.stats import rankdata

    ranks = rankdata(score, axis=1)
    n_neg = labels.shape[1] - n_pos - n_ex
    u = (ranks * labels).sum(axis=1) - n_pos * (n_pos + 1) / 2.0 - n_pos * n_ex
    with np.errstate(invalid="ignore", divide="ignore"):
        out = u / (n_pos * n_neg)
    return np.where((n_pos > 0) & (n_neg > 0), out, np.nan)


def _agreement(a: np.ndarray, b: np.ndarray, eps: float, signed: bool = True) -> dict[str, float]:
    """Sign agreement, Spearman and cosine of two 1-D position tracks.

    A position enters the sign agreement only where both ``|a| > eps`` and ``|b| > eps``
    (strictly, so exact zeros never "agree"); an all-zero track therefore leaves no position and
    gives NaN, as do Spearman (constant) and cosine (zero norm). ``signed=False`` (no scale for
    eps) makes the sign agreement NaN whatever the tracks.
    """
    strong = (np.abs(a) > eps) & (np.abs(b) > eps) if signed else np.zeros(a.shape, dtype=bool)
    n_strong = int(strong.sum())
    same = np.sign(a[strong]) == np.sign(b[strong])
    if a.size >= 2 and np.ptp(a) > 0 and np.ptp(b) > 0:
        rho = float(spearmanr(a, b)[0])
    else:
        rho = np.nan  # a constant track has no ranking
    norm = np.linalg.norm(a) * np.linalg.norm(b)
    return {
        "sign_agreement": float(same.mean()) if n_strong else np.nan,
        "spearman": rho,
        "cosine": float(a @ b / norm) if norm > 0 else np.nan,
        "n_positions": float(a.size),
        "n_positions_above_eps": float(n_strong),
    }


def track_agreement(ca, cb) -> dict[str, np.ndarray]:
    """Per-row agreement of two position tracks: Spearman, Spearman of the absolute values, cosine.

    Parameters
    ----------
    ca, cb : (N, L) float
        Tracks of the same sequences (e.g. the channel sums of actual contributions).

    Returns
    -------
    dict of (N,) float arrays ``spearman``, ``spearman_abs`` (ranks of ``|ca|`` against ranks of
    ``|cb|``: Adebayo et al.'s view, where the sign is not trusted) and ``cosine``; NaN in a row
    where either track is constant (no ranking) or, for the cosine, all zero.
    """
    from scipy.stats import rankdata

    ca = np.asarray(ca, dtype=np.float64)
    cb = np.asarray(cb, dtype=np.float64)
    if ca.ndim != 2 or ca.shape != cb.shape:
        raise ValueError(f"ca and cb must be (N, L) arrays of one shape, got {ca.shape} and {cb.shape}")

    def rank_corr(a, b):
        ra, rb = rankdata(a, axis=1), rankdata(b, axis=1)
        ra, rb = ra - ra.mean(axis=1, keepdims=True), rb - rb.mean(axis=1, keepdims=True)
        den = np.sqrt((ra ** 2).sum(axis=1) * (rb ** 2).sum(axis=1))
        ok = (np.ptp(a, axis=1) > 0) & (np.ptp(b, axis=1) > 0) & (den > 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(ok, (ra * rb).sum(axis=1) / den, np.nan)

    norm = np.linalg.norm(ca, axis=1) * np.linalg.norm(cb, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cosine = np.where(norm > 0, (ca * cb).sum(axis=1) / norm, np.nan)
    return {"spearman": rank_corr(ca, cb), "spearman_abs": rank_corr(np.abs(ca), np.abs(cb)), "cosine": cosine}


def _nanmean(v: np.ndarray) -> float:
    v = np.asarray(v, dtype=np.float64)
    ok = np.isfinite(v)
    return float(v[ok].mean()) if ok.any() else np.nan


def _instance_cosine(ca: np.ndarray, cb: np.ndarray, truth: pd.DataFrame) -> float:
    """Mean over planted instances of the cosine of the two tracks inside each instance (the paper's measure)."""
    if not len(truth):
        return np.nan
    seq, start, end = (truth[c].to_numpy(np.int64) for c in ("seq", "start", "end"))
    widths = end - start
    inst = np.repeat(np.arange(seq.size), widths)
    pos = np.repeat(start, widths) + (np.arange(widths.sum()) - np.repeat(np.cumsum(widths) - widths, widths))
    va, vb = ca[seq[inst], pos], cb[seq[inst], pos]
    dot = np.bincount(inst, va * vb, minlength=seq.size)
    na = np.sqrt(np.bincount(inst, va * va, minlength=seq.size))
    nb = np.sqrt(np.bincount(inst, vb * vb, minlength=seq.size))
    ok = (na > 0) & (nb > 0)  # an all-zero window has no direction
    return float((dot[ok] / (na[ok] * nb[ok])).mean()) if ok.any() else np.nan


def sign_agreement(attr_a, attr_b, truth: pd.DataFrame, eps: float | None = None, x=None) -> dict[str, float]:
    """Agreement of two attribution maps on planted positions and on background positions.

    Tracks are the channel sums (multiplied by ``x`` first when given). Planted = covered by a
    functional instance; background = covered by no truth row at all (decoys are in neither).

    Parameters
    ----------
    attr_a, attr_b : (N, 4, L) float (actual contributions, or hypothetical with ``x``)
    truth : ground-truth Instances table
    eps : float or None
        Only positions where both |track| > eps (strictly) enter the sign agreement. None: 1% of
        the largest |value| of either track over planted positions (over every position when no
        position is planted), one eps for both sets, reported as ``eps``; when that peak is 0
        there is no scale and every sign agreement is NaN.
    x : (N, 4, L) one-hot or None

    Returns
    -------
    dict: ``sign_agreement``, ``spearman``, ``cosine``, ``cosine_instance_mean`` (mean over
    planted instances of the within-instance cosine, ARGMINN's measure), ``n_positions``,
    ``n_positions_above_eps``, the same with a ``background_`` prefix (no instance cosine),
    ``all_spearman`` and ``all_cosine`` over every position, and ``eps``. NaN where a set is
    empty, where either track is all zero over the set (no position is above eps, and a zero
    track has no ranking or direction: a constant-output model scores NaN, not 1), where the
    peak that sets eps is 0 (sign agreements), a track is constant (Spearman) or zero (cosine).
    """
    a = _check_maps(attr_a, "attr_a")
    b = _check_maps(attr_b, "attr_b")
    if a.shape != b.shape:
        raise ValueError(f"attr_b must have the shape of attr_a {a.shape}, got {b.shape}")
    if x is not None:
        x = _check_maps(x, "x")
        if x.shape != a.shape:
            raise ValueError(f"x must have the shape of attr_a {a.shape}, got {x.shape}")
    n, _, length = a.shape
    ca, cb = _contribution(a, x), _contribution(b, x)
    planted = planted_mask(truth, n, length, functional_only=True)
    background = ~planted_mask(truth, n, length, functional_only=False)
    signed = True
    if eps is None:
        scale = planted if planted.any() else np.ones_like(planted)
        peak = max(np.abs(ca[scale]).max(initial=0.0), np.abs(cb[scale]).max(initial=0.0))
        eps, signed = 0.01 * peak, bool(peak > 0)
    elif not np.isfinite(eps) or eps < 0:
        raise ValueError(f"eps must be a non-negative number or None, got {eps!r}")
    out = _agreement(ca[planted], cb[planted], eps, signed)
    func = truth.loc[truth["functional"].to_numpy(bool)] if "functional" in truth.columns else truth
    out["cosine_instance_mean"] = _instance_cosine(ca, cb, func)
    out.update({f"background_{k}": v for k, v in _agreement(ca[background], cb[background], eps, signed).items()})
    every = _agreement(ca.ravel(), cb.ravel(), eps, signed)
    out["all_spearman"], out["all_cosine"] = every["spearman"], every["cosine"]
    out["eps"] = float(eps)
    return out


def seed_stability(attrs, x=None) -> dict[str, float]:
    """Similarity of attribution maps from models that differ only by training seed.

    For every pair of maps and every sequence (flattened ``(4, L)``): cosine similarity, and
    continuous Jaccard (Tseng et al. 2020) of the L1-normalized maps,
    ``Σ min(|a|, |b|) · sign(a·b) / Σ max(|a|, |b|)``. Sequences where either map is all zero
    are skipped.

    Parameters
    ----------
    attrs : list of (N, 4, L) float, at least two for a defined value
    x : (N, 4, L) one-hot or None
        When given, each map is multiplied by it first (hypothetical → actual contributions),
        so disagreement on bases absent from the sequence does not count.

    Returns
    -------
    dict: ``cosine_mean``, ``jaccard_mean`` (over pairs and sequences), ``n_pairs``. NaN with
    fewer than two maps or no scorable sequence.
    """
    if not isinstance(attrs, (list, tuple)):
        raise ValueError(f"attrs must be a list of (N, 4, L) arrays, got {type(attrs).__name__}")
    maps = [_check_maps(a, f"attrs[{i}]") for i, a in enumerate(attrs)]
    if any(m.shape != maps[0].shape for m in maps):
        raise ValueError(f"attrs must all have the same shape, got {[np.shape(a) for a in attrs]}")
    if x is not None:
        x = _check_maps(x, "x")
        if maps and x.shape != maps[0].shape:
            raise ValueError(f"x must have the shape of the maps {maps[0].shape}, got {x.shape}")
        maps = [m * x for m in maps]
    maps = [m.reshape(m.shape[0], -1) for m in maps]
    cos, jac = [], []
    for a, b in combinations(maps, 2):
        na, nb = np.abs(a).sum(axis=1), np.abs(b).sum(axis=1)
        ok = (na > 0) & (nb > 0)
        a, b = a[ok] / na[ok, None], b[ok] / nb[ok, None]
        cos.append((a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)))
        jac.append((np.minimum(np.abs(a), np.abs(b)) * np.sign(a * b)).sum(1) / np.maximum(np.abs(a), np.abs(b)).sum(1))
    cos = np.concatenate(cos) if cos else np.zeros(0)
    jac = np.concatenate(jac) if jac else np.zeros(0)
    return {
        "cosine_mean": float(cos.mean()) if cos.size else np.nan,
        "jaccard_mean": float(jac.mean()) if jac.size else np.nan,
        "n_pairs": float(len(maps) * (len(maps) - 1) // 2),
    }
