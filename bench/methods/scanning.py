"""Motif instances by scanning: FIMO (memelite, in-process) and the merge of overlapping hits."""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulations import empty_instances


def fimo_hits(motifs: dict, x: np.ndarray, threshold: float = 1e-4) -> pd.DataFrame:
    """FIMO hits of every motif on every sequence.

    Parameters
    ----------
    motifs : dict name -> numpy.ndarray (4, W)
        Position probability matrices (memelite takes the log-odds against a uniform background).
    x : numpy.ndarray (N, 4, L)
        One-hot sequences.
    threshold : float
        p-value threshold (FIMO's default 1e-4).

    Returns
    -------
    Instances table (``seq, start, end, strand, motif, score``), 0-based half-open (memelite has
    no 1-based offset), ``score`` = -log10 p.
    """
    if not motifs:
        return empty_instances()
    x = np.asarray(x)
    if x.ndim != 3 or x.shape[1] != 4:
        raise ValueError(f"x must have shape (N, 4, L), got shape {x.shape}")
    from memelite import fimo

    names = list(motifs)
    pfms = {n: np.asarray(motifs[n], dtype=np.float64) for n in names}
    # a motif wider than the sequences cannot be scanned (and memelite rejects it)
    scannable = {n: p for n, p in pfms.items() if p.shape[1] <= x.shape[2]}
    if not scannable:
        return empty_instances()
    frames = fimo(scannable, x.astype(np.float32), threshold=float(threshold))
    rows = [f for f in frames if f is not None and len(f)]
    if not rows:
        return empty_instances()
    df = pd.concat(rows, ignore_index=True)
    return pd.DataFrame({
        "seq": df["sequence_name"].astype("int64"),
        "start": df["start"].astype("int64"),
        "end": df["end"].astype("int64"),
        "strand": df["strand"].astype(object),
        "motif": df["motif_name"].astype(str).astype(object),
        "score": -np.log10(np.maximum(df["p-value"].astype("float64"), 1e-300)),
    })


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


def scan_instances(motifs: dict, x: np.ndarray, threshold: float = 1e-4, merge: bool = True):
    """FIMO hits, merged or not; returns ``(instances, {"instances_unmerged": n, "instances_merged": m})``."""
    hits = fimo_hits(motifs, x, threshold)
    merged = merge_overlapping(hits)
    counts = {"instances_unmerged": int(len(hits)), "instances_merged": int(len(merged))}
    return (merged if merge else hits), counts
