"""Attribution maps against the planted positions, sign agreement between methods, seed stability.

Position score: the actual contribution summed over channels, ``Σ_c attr[n, c, i] · x[n, c, i]``
(multiplying by the one-hot is a no-op for maps that already are actual contributions, and turns
hypothetical contributions into actual ones). Attribution accuracy ranks ``|score|`` (Prakash et
al. 2021).
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from simulations import information_content

from ._ranking import auroc_rows, average_precision_rows


def _check_maps(a, name: str) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 3 or a.shape[1] != 4:
        raise ValueError(f"{name} must have shape (N, 4, L), got {a.shape}")
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
            "both": both, "auroc": roc, "auprc": pr}


def attribution_scores(attr, x, truth: pd.DataFrame, functional_only: bool = True, motifs: dict | None = None,
                       min_ic: float = 0.1) -> dict[str, float]:
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

    Returns
    -------
    dict: ``auroc``, ``auprc`` (means over sequences with at least one planted and one background
    position: Koo & Ploenzke's per-sequence view; the per-sequence values are
    :func:`attribution_components`), ``pooled_auroc``, ``pooled_auprc`` (all positions together:
    Prakash et al.; weights sequences by their planted length), ``n_sequences_scored``. AUPRC is
    average precision (step-wise, ties as one threshold). NaN when no sequence / no position set
    has both classes.
    """
    per = _per_sequence(attr, x, truth, functional_only, motifs, min_ic)
    score, labels, excluded, both = per["score"], per["labels"], per["excluded"], per["both"]
    pooled_roc = _auroc_excluding(score.reshape(1, -1), labels.reshape(1, -1), excluded.reshape(1, -1))[0]
    pooled_pr = average_precision_rows(score.reshape(1, -1), labels.reshape(1, -1))[0]
    has_both = labels.any() and per["n_neg"].sum() > 0
    return {
        "auroc": float(per["auroc"][both].mean()) if both.any() else np.nan,
        "auprc": float(per["auprc"][both].mean()) if both.any() else np.nan,
        "pooled_auroc": float(pooled_roc) if has_both else np.nan,
        "pooled_auprc": float(pooled_pr) if has_both else np.nan,
        "n_sequences_scored": float(both.sum()),
    }


def attribution_components(attr, x, truth: pd.DataFrame, functional_only: bool = True, motifs: dict | None = None,
                           min_ic: float = 0.1) -> pd.DataFrame:
    """Per-sequence AUROC and AUPRC of |actual contribution|, exactly as :func:`attribution_scores` averages them.

    The mean of ``auroc`` (``auprc``) over the scored sequences (those not NaN) is
    :func:`attribution_scores`'s ``auroc`` (``auprc``); a mean over a resample of sequences is the
    same statistic on that resample (a bootstrap over sequences, paired across maps of the same
    sequences).

    Parameters
    ----------
    attr, x, truth, functional_only, motifs, min_ic : as in :func:`attribution_scores`

    Returns
    -------
    DataFrame with one row per sequence ``0 .. N − 1``: ``seq``, ``auroc``, ``auprc`` (NaN where
    the sequence has no positive or no negative position), ``n_positive``, ``n_negative``
    (positions in each class; positions left out with ``motifs`` are in neither).
    """
    per = _per_sequence(attr, x, truth, functional_only, motifs, min_ic)
    return pd.DataFrame({"seq": np.arange(per["both"].size, dtype=np.int64), "auroc": per["auroc"],
                         "auprc": per["auprc"], "n_positive": per["n_pos"].astype(np.int64),
                         "n_negative": per["n_neg"].astype(np.int64)})


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
