"""Syntax recovery: in-silico spacing experiments and comparison with the planted grammar.

Spacing is the simulator's *gap*: bases between the end of motif A and the start of motif B
(B downstream of A). A is inserted so that it starts at ``(L - W_A) // 2``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import pearsonr, spearmanr, wasserstein_distance

from simulations.validation import validate_one_hot_shape

ORIENTATIONS = ("+", "-")


def _check_background(background) -> np.ndarray:
    return validate_one_hot_shape(np.asarray(background, dtype=np.float32), "background", allow_empty=False)


def _one_hot(pfm, strand: str, sample: bool, rng: np.random.Generator, n: int, name: str) -> np.ndarray:
    """(n, 4, W) one-hot copies of a motif: its consensus, or draws from the PFM when ``sample``."""
    pfm = np.asarray(getattr(pfm, "pfm", pfm), dtype=np.float64)
    if pfm.ndim != 2 or pfm.shape[0] != 4 or pfm.shape[1] == 0:
        raise ValueError(f"{name} must be a PFM of shape (4, W), got {pfm.shape}")
    if strand not in ORIENTATIONS:
        raise ValueError(f"orientation entries must be '+' or '-', got {strand!r}")
    if strand == "-":
        pfm = pfm[::-1, ::-1]
    w = pfm.shape[1]
    if sample:
        cdf = np.cumsum(pfm / pfm.sum(0, keepdims=True), axis=0)
        idx = (rng.random((n, 1, w)) > cdf[None]).sum(axis=1).clip(max=3)
    else:
        idx = np.broadcast_to(pfm.argmax(axis=0), (n, w))
    out = np.zeros((n, 4, w), dtype=np.float32)
    np.put_along_axis(out, idx.reshape(n, 1, w), 1.0, axis=1)
    return out


def _predict(predict_fn, x: np.ndarray) -> np.ndarray:
    z = np.asarray(predict_fn(x), dtype=np.float64)
    if z.shape[0] != x.shape[0] or z.size != x.shape[0]:
        raise ValueError(f"predict_fn must return one logit per sequence, shape ({x.shape[0]},), got {z.shape}")
    return z.reshape(-1)


def _positions(length: int, wa: int, wb: int, spacing: int) -> tuple[int, int]:
    a_start = (length - wa) // 2
    b_start = a_start + wa + int(spacing)
    if spacing < 0 or b_start + wb > length:
        raise ValueError(f"spacing {spacing} must be >= 0 and fit motif B inside length {length} "
                         f"(A at {a_start}, widths {wa} and {wb})")
    return a_start, b_start


def _insert(x: np.ndarray, motif: np.ndarray, start: int) -> np.ndarray:
    x = x.copy()
    x[:, :, start:start + motif.shape[2]] = motif
    return x


def spacing_curve(predict_fn, background, motif_a, motif_b, spacings, orientation=("+", "+"),
                  seed: int = 0, sample: bool = False) -> pd.DataFrame:
    """Mean change in the model's logit when motif A and B are inserted at each spacing.

    Parameters
    ----------
    predict_fn : callable (N, 4, L) float32 → (N,) logits
    background : (N, 4, L) one-hot float32
        Neutral (e.g. dinucleotide-shuffled) sequences.
    motif_a, motif_b : (4, W) PFM or Motif
    spacings : iterable of int >= 0 (gaps between A's end and B's start)
    orientation : (str, str)
        Strand of A and of B ('+' consensus, '-' its reverse complement).
    seed : int
        Seeds the motif draws when ``sample`` (consensus insertion is deterministic).
    sample : bool
        Insert draws from the PFMs (the same draws at every spacing) instead of the consensus.

    Returns
    -------
    DataFrame with ``spacing``, ``delta`` (mean over sequences of logit(A+B) − logit(background)),
    ``delta_sem``, ``delta_a`` (A alone, the same for every row), ``delta_vs_a`` (delta − delta_a).
    """
    x = _check_background(background)
    spacings = np.atleast_1d(np.asarray(spacings))
    if spacings.ndim != 1 or spacings.size == 0 or not np.issubdtype(spacings.dtype, np.integer):
        raise ValueError(f"spacings must be a non-empty 1-D sequence of integers, got {spacings!r}")
    if len(orientation) != 2:
        raise ValueError(f"orientation must be a pair like ('+', '-'), got {orientation!r}")
    rng = np.random.default_rng(seed)
    n, _, length = x.shape
    a = _one_hot(motif_a, orientation[0], sample, rng, n, "motif_a")
    b = _one_hot(motif_b, orientation[1], sample, rng, n, "motif_b")
    base = _predict(predict_fn, x)
    a_start, _ = _positions(length, a.shape[2], b.shape[2], 0)
    with_a = _insert(x, a, a_start)
    delta_a = float((_predict(predict_fn, with_a) - base).mean())
    rows = []
    for s in spacings:
        _, b_start = _positions(length, a.shape[2], b.shape[2], int(s))
        d = _predict(predict_fn, _insert(with_a, b, b_start)) - base
        sem = float(d.std(ddof=1) / np.sqrt(n)) if n > 1 else np.nan
        rows.append({"spacing": int(s), "delta": float(d.mean()), "delta_sem": sem,
                     "delta_a": delta_a, "delta_vs_a": float(d.mean()) - delta_a})
    return pd.DataFrame(rows)


ORIENTATION_PAIRS = (("+", "+"), ("+", "-"), ("-", "+"), ("-", "-"))


def spacing_grid(predict_fn, background, motif_a, motif_b, spacings, orientations=ORIENTATION_PAIRS,
                 seed: int = 0, sample: bool = False) -> pd.DataFrame:
    """:func:`spacing_curve` over a grid of orientations (every strand pair by default).

    Returns
    -------
    DataFrame: an ``orientation`` column (``"++"``, ``"+-"``, ...) plus the columns of
    :func:`spacing_curve`, one row per (orientation, spacing). Every orientation uses the same
    seed, so with ``sample`` the draws differ only by strand.
    """
    if not isinstance(orientations, (list, tuple)) or not orientations:
        raise ValueError(f"orientations must be a non-empty list of pairs like ('+', '-'), got {orientations!r}")
    frames = []
    for o in orientations:
        if len(o) != 2:
            raise ValueError(f"orientations entries must be pairs like ('+', '-'), got {o!r}")
        curve = spacing_curve(predict_fn, background, motif_a, motif_b, spacings, tuple(o), seed, sample)
        frames.append(curve.assign(orientation="".join(o)))
    out = pd.concat(frames, ignore_index=True)
    return out[["orientation"] + [c for c in out.columns if c != "orientation"]]


def interaction(predict_fn, background, a, b, spacing: int, seed: int = 0, orientation=("+", "+"),
                sample: bool = False) -> dict[str, float]:
    """Effects of A alone, B alone, both, and their interaction ``A+B − A − B`` (mean Δ logit).

    Positions as in :func:`spacing_curve`; B alone sits where it would with A. A negative
    interaction indicates repression (or sub-additivity) between the two.

    Returns
    -------
    dict: ``effect_a``, ``effect_b``, ``effect_ab``, ``interaction``, ``interaction_sem``
    (over sequences; NaN for a single sequence), ``interaction_sign`` (−1, 0 or 1: −1 is what a
    planted repression rule should give).
    """
    x = _check_background(background)
    if len(orientation) != 2:
        raise ValueError(f"orientation must be a pair like ('+', '-'), got {orientation!r}")
    rng = np.random.default_rng(seed)
    n, _, length = x.shape
    oa = _one_hot(a, orientation[0], sample, rng, n, "a")
    ob = _one_hot(b, orientation[1], sample, rng, n, "b")
    a_start, b_start = _positions(length, oa.shape[2], ob.shape[2], int(spacing))
    base = _predict(predict_fn, x)
    xa = _insert(x, oa, a_start)
    da = _predict(predict_fn, xa) - base
    db = _predict(predict_fn, _insert(x, ob, b_start)) - base
    dab = _predict(predict_fn, _insert(xa, ob, b_start)) - base
    inter = dab - da - db
    return {
        "effect_a": float(da.mean()), "effect_b": float(db.mean()), "effect_ab": float(dab.mean()),
        "interaction": float(inter.mean()),
        "interaction_sem": float(inter.std(ddof=1) / np.sqrt(n)) if n > 1 else np.nan,
        "interaction_sign": float(np.sign(inter.mean())),
    }


def _planted_weights(planted_spacings, weights) -> pd.Series:
    """Planted spacing preference as a Series spacing → weight (weights sum to 1)."""
    if isinstance(planted_spacings, dict):
        s = pd.Series(planted_spacings, dtype=np.float64)
    elif isinstance(planted_spacings, pd.Series):
        s = planted_spacings.astype(np.float64)
    else:
        arr = np.asarray(planted_spacings)
        if arr.ndim == 2 and arr.shape[1] == 2 and weights is None:
            s = pd.Series(arr[:, 1].astype(np.float64), index=arr[:, 0].astype(np.int64))
        elif arr.ndim == 1:
            w = np.ones(arr.size) if weights is None else np.asarray(weights, dtype=np.float64)
            if w.shape != arr.shape:
                raise ValueError(f"weights must match planted_spacings {arr.shape}, got {w.shape}")
            s = pd.Series(w, index=arr.astype(np.int64))
        else:
            raise ValueError("planted_spacings must be a 1-D array of spacings, a (K, 2) array of "
                             f"(spacing, weight), a dict or a Series; got shape {arr.shape}")
    s = s.groupby(level=0).sum()
    if s.empty or np.any(s.to_numpy() < 0) or s.sum() <= 0:
        raise ValueError("planted_spacings must have at least one spacing with positive weight and none negative")
    return s / s.sum()


def curve_agreement(curve: pd.DataFrame, planted_spacings, weights=None, value: str = "delta") -> dict[str, float]:
    """Compare a model's spacing curve with the planted spacing preference.

    Parameters
    ----------
    curve : DataFrame from :func:`spacing_curve` (``spacing`` and ``value`` columns)
    planted_spacings : allowed spacings (1-D, with optional ``weights``), a (K, 2) array of
        (spacing, weight), or a dict / Series spacing → weight
    value : column of ``curve`` to compare

    Returns
    -------
    dict: ``pearson`` and ``spearman`` between the curve and the planted weight at each curve
    spacing (0 where not allowed; NaN if either is constant), ``preferred_spacing`` (the curve's
    argmax, first on ties), ``preferred_spacing_error`` (its distance to the nearest spacing of
    maximal planted weight), ``preferred_in_planted`` (1 if the argmax is an allowed spacing).
    """
    if not isinstance(curve, pd.DataFrame) or not {"spacing", value} <= set(curve.columns) or curve.empty:
        raise ValueError(f"curve must be a non-empty DataFrame with 'spacing' and {value!r} columns")
    planted = _planted_weights(planted_spacings, weights)
    sp = curve["spacing"].to_numpy(np.int64)
    y = curve[value].to_numpy(np.float64)
    w = planted.reindex(sp, fill_value=0.0).to_numpy()
    const = np.ptp(y) == 0 or np.ptp(w) == 0 or y.size < 2
    best = int(sp[int(np.argmax(y))])
    modes = planted.index[planted.to_numpy() == planted.max()].to_numpy(np.int64)
    return {
        "pearson": np.nan if const else float(pearsonr(y, w)[0]),
        "spearman": np.nan if const else float(spearmanr(y, w)[0]),
        "preferred_spacing": float(best),
        "preferred_spacing_error": float(np.abs(modes - best).min()),
        "preferred_in_planted": float(planted.get(best, 0.0) > 0),
    }


def spacing_histogram_distance(called_spacings, planted_spacings, planted_weights=None) -> float:
    """Earth mover's (1-Wasserstein) distance between called and planted spacing distributions, in bases.

    Parameters
    ----------
    called_spacings : 1-D ints, one per called A→B pair (see :func:`pair_spacings`)
    planted_spacings : 1-D ints (samples, or support points with ``planted_weights``)

    Returns
    -------
    float; NaN when either side is empty.
    """
    c = np.asarray(called_spacings, dtype=np.float64).ravel()
    p = np.asarray(planted_spacings, dtype=np.float64).ravel()
    if c.size == 0 or p.size == 0:
        return np.nan
    return float(wasserstein_distance(c, p, v_weights=planted_weights))


def pair_spacings(instances: pd.DataFrame, motif_a: str, motif_b: str, max_spacing: int | None = None) -> np.ndarray:
    """Gaps from each A instance to the nearest downstream B instance in the same sequence.

    Parameters
    ----------
    instances : Instances table (calls or truth)
    motif_a, motif_b : names in its ``motif`` column
    max_spacing : drop gaps above this

    Returns
    -------
    1-D int64 array of gaps (``start_B − end_A`` >= 0), one per A that has a B downstream.
    """
    if not isinstance(instances, pd.DataFrame) or not {"seq", "start", "end", "motif"} <= set(instances.columns):
        raise ValueError("instances must be an Instances DataFrame with seq, start, end, motif columns")
    a = instances.loc[instances["motif"] == motif_a, ["seq", "end"]].reset_index(drop=True)
    b = instances.loc[instances["motif"] == motif_b, ["seq", "start"]]
    if a.empty or b.empty:
        return np.zeros(0, dtype=np.int64)
    a["_id"] = np.arange(len(a))
    m = a.merge(b, on="seq")
    gap = (m["start"] - m["end"]).to_numpy(np.int64)
    m = m.loc[gap >= 0].assign(gap=gap[gap >= 0])
    gaps = m.groupby("_id")["gap"].min().to_numpy(np.int64)
    return gaps if max_spacing is None else gaps[gaps <= max_spacing]
