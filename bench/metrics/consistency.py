"""Reverse-complement consistency: a sequence and its reverse complement are the same DNA, so a
model's explanation of both should agree once the second is flipped back.

The reverse complement of a one-hot ``(N, 4, L)`` array in ``A, C, G, T`` order reverses both the
channel axis (A↔T, C↔G) and the position axis: ``x[:, ::-1, ::-1]``. A map computed on the
reverse complement is brought back the same way, after which position ``i`` and base ``b`` of the
flipped map refer to position ``i`` and base ``b`` of ``x``. An instance call ``[s, e)`` on the
reverse complement covers ``[L − e, L − s)`` of ``x``, on the other strand.

A model trained with reverse-complement augmentation is only approximately symmetric; these
measures say how far its explanations are (1 is exact agreement).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulations.validation import validate_one_hot_shape

from .attributions import _check_maps, _check_truth, _contribution, _instance_cosine, _nanmean, track_agreement
from .instances import _CALL_COLUMNS, _check_table, overlap_pairs


def reverse_complement(x) -> np.ndarray:
    """``(N, 4, L)`` → its reverse complement (a copy), for one-hot sequences and maps alike."""
    a = validate_one_hot_shape(np.asarray(x), "x")
    return np.ascontiguousarray(a[:, ::-1, ::-1])


def rc_attribution_agreement(attr, attr_rc, x, truth: pd.DataFrame | None = None) -> dict[str, float]:
    """Agreement of the map of ``x`` and the map of its reverse complement, flipped back.

    Parameters
    ----------
    attr : (N, 4, L) map of ``x``
    attr_rc : (N, 4, L) map of ``reverse_complement(x)``
    x : (N, 4, L) one-hot; both maps are read as actual contributions on ``x`` (``Σ_c map · x``)
    truth : Instances table or None; with it, also the mean within-instance cosine over
        functional planted instances

    Returns
    -------
    dict: ``cosine``, ``spearman`` (means over sequences of the per-sequence cosine / rank
    correlation of the two contribution tracks), ``cosine_instance_mean`` (NaN without truth),
    ``n_sequences`` (with a defined cosine). 1 everywhere for an exactly strand-symmetric
    explanation.
    """
    a = _check_maps(attr, "attr")
    b = _check_maps(attr_rc, "attr_rc")
    x = _check_maps(x, "x")
    if a.shape != x.shape or b.shape != x.shape:
        raise ValueError(f"attr and attr_rc must have the shape of x {x.shape}, got {a.shape} and {b.shape}")
    ca, cb = _contribution(a, x), _contribution(b[:, ::-1, ::-1], x)
    per = track_agreement(ca, cb)
    inst = np.nan
    if truth is not None:
        truth = _check_truth(truth)
        func = truth.loc[truth["functional"].to_numpy(bool)] if "functional" in truth.columns else truth
        inst = _instance_cosine(ca, cb, func)
    return {"cosine": _nanmean(per["cosine"]), "spearman": _nanmean(per["spearman"]),
            "cosine_instance_mean": inst, "n_sequences": float(np.isfinite(per["cosine"]).sum())}


def rc_attribution_consistency(model, x, attribute, truth: pd.DataFrame | None = None, references=None,
                               predict=None, attr=None) -> dict[str, float]:
    """Attribute ``x`` and its reverse complement with one model and compare (:func:`rc_attribution_agreement`).

    Parameters
    ----------
    model : the model (passed through to ``attribute``)
    x : (N, 4, L) one-hot
    attribute : callable
        ``attribute(model, x, references) -> (N, 4, L)``.
    truth : as in :func:`rc_attribution_agreement`
    references : (N, K, 4, L) or None
        References of ``x``; the reverse complement is attributed against their reverse complements,
        so the two runs differ by orientation alone. None is passed through to both calls.
    predict : callable or None
        ``(M, 4, L) -> (M,)`` logits; with it the logits of both orientations are compared too.
    attr : (N, 4, L) or None
        The map of ``x`` when already computed.

    Returns
    -------
    The keys of :func:`rc_attribution_agreement`, plus with ``predict`` ``logit_pearson`` (across
    sequences) and ``logit_mean_abs_difference`` (mean ``|f(x) − f(rc x)|``).
    """
    x = _check_maps(x, "x").astype(np.float32)
    xr = reverse_complement(x)
    refs_rc = None
    if references is not None:
        references = np.asarray(references)
        if references.ndim != 4 or references.shape[0] != x.shape[0] or references.shape[2:] != x.shape[1:]:
            raise ValueError(f"references must have shape (N, K, 4, L) matching x {x.shape}, got {references.shape}")
        refs_rc = np.ascontiguousarray(references[:, :, ::-1, ::-1])
    forward = attribute(model, x, references) if attr is None else attr
    out = rc_attribution_agreement(forward, attribute(model, xr, refs_rc), x, truth)
    if predict is not None:
        fa = np.asarray(predict(x), dtype=np.float64).reshape(-1)
        fb = np.asarray(predict(xr), dtype=np.float64).reshape(-1)
        ok = fa.size >= 2 and np.ptp(fa) > 0 and np.ptp(fb) > 0
        out["logit_pearson"] = float(np.corrcoef(fa, fb)[0, 1]) if ok else np.nan
        out["logit_mean_abs_difference"] = float(np.abs(fa - fb).mean()) if fa.size else np.nan
    return out


def reverse_complement_calls(calls: pd.DataFrame, length: int) -> pd.DataFrame:
    """Calls made on reverse-complemented sequences, in the coordinates of the original ones.

    ``[s, e)`` becomes ``[L − e, L − s)`` and the strand flips (``+`` ↔ ``-``; anything else kept).
    """
    calls = _check_table(calls, "calls", _CALL_COLUMNS)
    if len(calls) and int(calls["end"].max()) > length:
        raise ValueError(f"calls end beyond the sequence length {length}")
    out = calls.copy()
    out["start"] = length - calls["end"].to_numpy(np.int64)
    out["end"] = length - calls["start"].to_numpy(np.int64)
    if "strand" in out.columns:
        out["strand"] = out["strand"].map({"+": "-", "-": "+"}).fillna(out["strand"])
    return out.reset_index(drop=True)


def rc_instance_agreement(calls, calls_rc, length: int, same_motif: bool = True) -> dict[str, float]:
    """How many instance calls on ``x`` are found again on its reverse complement, and back.

    The calls on the reverse complement are mapped back (:func:`reverse_complement_calls`) and
    matched one to one with the calls on ``x`` under the benchmark's overlap rule
    (:func:`bench.metrics.instances.overlap_pairs`: overlap of at least half the shorter call),
    greedily by decreasing IoU (ties in table order). Strand is ignored.

    Parameters
    ----------
    calls : Instances table of the calls on ``x``
    calls_rc : Instances table of the calls on the reverse complement (its own coordinates)
    length : int, L
    same_motif : bool
        Only calls of the same motif name match (True for routes whose motifs keep their names,
        as filter read-outs do; False when the two runs name their motifs independently).

    Returns
    -------
    dict: ``matched`` (pairs), ``forward_matched_fraction`` (matched / calls on x),
    ``reverse_matched_fraction`` (matched / calls on the reverse complement), ``f1`` (2 matched /
    (both counts)), ``n_calls``, ``n_calls_rc``. Fractions are NaN without calls on that side, f1
    without calls on either.
    """
    calls = _check_table(calls, "calls", _CALL_COLUMNS).reset_index(drop=True)
    back = reverse_complement_calls(calls_rc, length)
    ci, tj, iou = overlap_pairs(calls, back)
    if same_motif and ci.size:
        keep = calls["motif"].to_numpy()[ci] == back["motif"].to_numpy()[tj]
        ci, tj, iou = ci[keep], tj[keep], iou[keep]
    order = np.lexsort((tj, ci, -iou))
    used_a, used_b = set(), set()
    matched = 0
    for i in order:
        a, b = int(ci[i]), int(tj[i])
        if a in used_a or b in used_b:
            continue
        used_a.add(a)
        used_b.add(b)
        matched += 1
    n_a, n_b = len(calls), len(back)
    return {"matched": float(matched),
            "forward_matched_fraction": matched / n_a if n_a else np.nan,
            "reverse_matched_fraction": matched / n_b if n_b else np.nan,
            "f1": 2.0 * matched / (n_a + n_b) if n_a + n_b else np.nan,
            "n_calls": float(n_a), "n_calls_rc": float(n_b)}
