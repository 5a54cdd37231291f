"""A motif-discovery route without TF-MoDISco: attribution seqlets -> greedy clusters -> PFMs -> calls.

Steps
-----
1. **Seqlets** (:func:`call_seqlets`): tangermeme's ``recursive_seqlets`` on the per-position actual
   contribution ``sum_c attr[n, c, l]`` (shape ``(N, L)``). It calls positive seqlets only; with
   ``signs="both"`` it is also run on the negated scores (as its documentation advises) and a
   negative seqlet overlapping a positive one is dropped. The p-value threshold is ``threshold``, or,
   when control attributions are given (those of dinucleotide-shuffled sequences), tangermeme picks
   the threshold reaching ``target_fdr``.
2. **Clusters** (:func:`cluster_seqlets`), per sign: each seqlet's contribution matrix
   ``S = sign * attr[n, :, start:end]`` (4, w), non-zero on the observed bases only. A cluster keeps
   the sum of its members' aligned matrices (its CWM up to a factor) in a frame three maximum
   seqlet widths wide. Similarity of a seqlet to a cluster is the best cosine between ``S`` (or its
   reverse complement ``S[::-1, ::-1]``) and the window of the cluster's sum it lies on, both with
   each column centred over the four bases (so a column equal for all bases, such as the sum of
   unrelated sequences, counts for nothing: a Pearson-like score), over windows overlapping the
   cluster's core (the columns at least half its members cover) by at least half the shorter of
   the two. Then

   a. greedy pass: seqlets in order of decreasing ``|attribution|`` (ties: sequence, start), the
      first ``max_seqlets``; each joins its most similar cluster if the cosine is at least
      ``min_similarity``, else it starts a new cluster;
   b. merge pass: clusters of two or more seqlets, largest first, absorb any other whose core is at
      least ``min_similarity`` similar (the same cosine, on the core's matrix), until none does;
   c. clusters with fewer than ``min_cluster_size`` seqlets are dropped;
   d. reassignment: every seqlet (those beyond ``max_seqlets`` too) goes to the most similar
      surviving cluster, if at least ``min_similarity``, else to none; the clusters are rebuilt
      from their members (one k-means-style step, so the result does not depend on the greedy
      order as much).

   Everything is deterministic: no random draw.
3. **Motifs** (:func:`seqlet_motifs`): a cluster's PFM is the base frequency of its aligned member
   sequences (reverse-complemented where the member aligned on the minus strand) over its core
   columns, trimmed of flanking columns under ``trim_threshold`` bits; its CWM is the mean aligned
   contribution on the same columns (signed). Named ``seqlets_pos_<k>`` / ``seqlets_neg_<k>``,
   largest cluster first; a cluster that trims to nothing is dropped (named in the details).
4. **Instances**: the seqlets themselves, each called as its cluster's motif, on its own span (as
   called, ``additional_flanks`` included), strand ``+`` where it aligned forward, score its summed
   (signed) contribution. With ``patterns="passing"`` (the default, as the MoDISco route does) only
   the seqlets of motifs passing the benchmark's uniform quality rule
   (:func:`simulations.quality.passes_quality`: trimmed width >= 5, mean IC >= 0.5 bit) are
   called; every motif stays in the motif list either way (the motif metrics apply their own rules).
   Without it, short noise seqlets (4-5 bases) cluster into short low-information "motifs" whose
   seqlets would all be false calls.

:func:`seqlet_motifs` takes attributions, not a model, so it can be tested on planted ones;
:func:`run_seqlets` is the route (attributions from :func:`bench.methods.attribution.attribute`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from simulations import Motif, information_content
from simulations.validation import validate_one_hot_shape

#: the parameters of the seqlet -> motif part (the route adds the attribution's own)
SEQLET_DEFAULTS = {
    "threshold": 0.01, "min_seqlet_len": 4, "max_seqlet_len": 25, "additional_flanks": 0, "n_bins": 1000,
    "signs": "both", "min_similarity": 0.6, "min_cluster_size": 10, "max_seqlets": 5000, "trim_threshold": 0.2,
    "patterns": "passing",
}
SEQLET_COLUMNS = ["seq", "start", "end", "sign", "attribution", "p_value"]


# ---------------------------------------------------------------------- 1. seqlets


def _check_pair(x, actual) -> tuple[np.ndarray, np.ndarray]:
    x = validate_one_hot_shape(np.asarray(x, dtype=np.float32), "x")
    actual = np.asarray(actual, dtype=np.float32)
    if actual.shape != x.shape:
        raise ValueError(f"attributions must have the shape of x {x.shape}, got shape {actual.shape}")
    if not np.all(np.isfinite(actual)):
        raise ValueError("attributions must be finite")
    return x, actual


def _recursive(scores: np.ndarray, control: np.ndarray | None, p: dict):
    """tangermeme's recursive seqlets on ``scores`` (N, L): (table, fdr table or None)."""
    import torch
    from tangermeme.seqlet import recursive_seqlets

    kw = dict(min_seqlet_len=int(p["min_seqlet_len"]), max_seqlet_len=int(p["max_seqlet_len"]),
              additional_flanks=int(p["additional_flanks"]), n_bins=int(p["n_bins"]))
    if control is None:
        return recursive_seqlets(torch.from_numpy(scores), threshold=float(p["threshold"]), **kw), None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "no threshold reaches target_fdr": we report it in the details
        res = recursive_seqlets(torch.from_numpy(scores), X_control=torch.from_numpy(control),
                                target_fdr=float(p["target_fdr"]), return_fdr=True, **kw)
    return res.seqlets, res.fdr


def call_seqlets(actual, params: dict | None = None, control=None) -> tuple[pd.DataFrame, dict]:
    """Seqlets of actual contributions by tangermeme's recursive seqlet caller.

    Parameters
    ----------
    actual : numpy.ndarray (N, 4, L)
        Actual contributions (only the observed base non-zero; only their channel sum is used).
    params : dict
        ``threshold`` (p-value cut-off, ignored with ``control``), ``min_seqlet_len``,
        ``max_seqlet_len``, ``additional_flanks``, ``n_bins`` (tangermeme's), ``signs``
        (``"positive"`` or ``"both"``) and, with ``control``, ``target_fdr``. Missing keys take
        :data:`SEQLET_DEFAULTS`.
    control : numpy.ndarray (M, 4, L'), optional
        Actual contributions of sequences without signal (dinucleotide shuffles): tangermeme then
        chooses the threshold that reaches ``target_fdr``.

    Returns
    -------
    seqlets : pandas.DataFrame
        Columns :data:`SEQLET_COLUMNS`: ``seq``, 0-based half-open ``start``/``end`` (clipped to the
        sequence), ``sign`` (+1 or -1), ``attribution`` (the signed sum over the span as tangermeme
        reports it) and ``p_value``; ordered by ``sign`` (positive first), then by tangermeme's rank.
    info : dict
        Counts per sign, and tangermeme's FDR table (``fdr_*`` keys) when a control was given.
    """
    p = {**SEQLET_DEFAULTS, "target_fdr": 0.1, **(params or {})}
    actual = validate_one_hot_shape(np.asarray(actual, dtype=np.float32), "attributions")
    if p["signs"] not in ("positive", "both"):
        raise ValueError(f"signs must be one of ['positive', 'both'], got {p['signs']!r}")
    length = actual.shape[2]
    scores = np.ascontiguousarray(actual.sum(axis=1), dtype=np.float32)
    ctrl = None if control is None else np.ascontiguousarray(np.asarray(control, np.float32).sum(axis=1))
    frames, info = [], {}
    for sign in ((1, -1) if p["signs"] == "both" else (1,)):
        table, fdr = _recursive(sign * scores, None if ctrl is None else sign * ctrl, p)
        t = pd.DataFrame({"seq": table["example_idx"].to_numpy(np.int64),
                          "start": np.clip(table["start"].to_numpy(np.int64), 0, length),
                          "end": np.clip(table["end"].to_numpy(np.int64), 0, length),
                          "sign": np.full(len(table), sign, dtype=np.int64),
                          "attribution": sign * table["attribution"].to_numpy(np.float64),
                          "p_value": table["p-value"].to_numpy(np.float64)})
        t = t[t.end > t.start]
        name = "positive" if sign > 0 else "negative"
        if fdr is not None:
            passing = fdr[fdr["fdr"] <= float(p["target_fdr"])]
            info[f"fdr_threshold_{name}"] = float(passing["threshold"].iloc[0]) if len(passing) else None
            info[f"fdr_lowest_{name}"] = float(np.nanmin(fdr["fdr"])) if fdr["fdr"].notna().any() else None
        frames.append(t)
    seqlets = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=SEQLET_COLUMNS)
    if p["signs"] == "both" and len(seqlets):
        seqlets = _drop_negatives_overlapping_positives(seqlets)
    info.update(n_seqlets_positive=int((seqlets.sign > 0).sum()), n_seqlets_negative=int((seqlets.sign < 0).sum()))
    return seqlets[SEQLET_COLUMNS].reset_index(drop=True), info


def _drop_negatives_overlapping_positives(s: pd.DataFrame) -> pd.DataFrame:
    pos, neg = s[s.sign > 0], s[s.sign < 0]
    if not len(pos) or not len(neg):
        return s
    keep = np.ones(len(neg), dtype=bool)
    by_seq = {k: (g.start.to_numpy(), g.end.to_numpy()) for k, g in pos.groupby("seq")}
    for i, (seq, start, end) in enumerate(zip(neg.seq.to_numpy(), neg.start.to_numpy(), neg.end.to_numpy())):
        if seq in by_seq:
            ps, pe = by_seq[seq]
            keep[i] = not np.any((ps < end) & (pe > start))
    return pd.concat([pos, neg[keep]], ignore_index=True)


# ---------------------------------------------------------------------- 2. clusters


@dataclass(eq=False)  # identity, not array comparison
class Cluster:
    """One cluster of aligned seqlets in a frame of ``F`` columns.

    ``total`` (4, F): sum of the members' aligned (sign-flipped) contribution matrices; ``counts``
    (4, F): their aligned one-hot bases; ``coverage`` (F,): members covering each column.
    """

    sign: int
    total: np.ndarray
    counts: np.ndarray
    coverage: np.ndarray
    members: list = field(default_factory=list)  # (seqlet index, lag, strand)

    @property
    def n(self) -> int:
        return len(self.members)

    def core(self) -> tuple[int, int]:
        """Columns ``[a, b)`` from the first to the last column covered by at least half the members."""
        keep = np.flatnonzero(self.coverage >= max(1, self.n) / 2)
        return (int(keep[0]), int(keep[-1]) + 1) if keep.size else (0, 0)

    def add(self, index: int, mat: np.ndarray, onehot: np.ndarray, lag: int, strand: str) -> None:
        if strand == "-":
            mat, onehot = mat[::-1, ::-1], onehot[::-1, ::-1]
        w = mat.shape[1]
        self.total[:, lag:lag + w] += mat
        self.counts[:, lag:lag + w] += onehot
        self.coverage[lag:lag + w] += 1
        self.members.append((index, lag, strand))


def _windows_similarity(mat: np.ndarray, totals: np.ndarray, cores: np.ndarray):
    """Best cosine of ``mat`` (4, w), either strand, against every cluster sum in ``totals`` (C, 4, F).

    Only windows ``[lag, lag + w)`` overlapping the cluster's core ``cores[c] = (a, b)`` by at least
    half the shorter of ``w`` and ``b - a`` are allowed.

    Returns
    -------
    sim : (C,) float64 (-inf where no window is allowed), lag : (C,) int, strand : (C,) '+'/'-'.
    """
    from numpy.lib.stride_tricks import sliding_window_view

    n_clusters, _, frame = totals.shape
    w = mat.shape[1]
    # each column centred over the four bases: a column the same for every base (a uniform mix of
    # sequences) carries no similarity, so clusters of unrelated seqlets do not attract everything
    totals = totals - totals.mean(axis=1, keepdims=True)
    mat = mat - mat.mean(axis=0, keepdims=True)
    win = sliding_window_view(totals, w, axis=2)  # (C, 4, F - w + 1, w)
    # squared norm of every window: a cumulative sum over columns
    col = np.concatenate([np.zeros((n_clusters, 1)), np.cumsum((totals ** 2).sum(axis=1), axis=1)], axis=1)
    wnorm = np.sqrt(np.maximum(col[:, w:] - col[:, :-w], 0.0))  # (C, F - w + 1)
    lags = np.arange(frame - w + 1)
    a, b = cores[:, 0:1], cores[:, 1:2]
    overlap = np.minimum(lags[None] + w, b) - np.maximum(lags[None], a)
    allowed = overlap >= np.ceil(0.5 * np.minimum(w, b - a))
    mnorm = float(np.sqrt((mat ** 2).sum()))
    best = np.full(n_clusters, -np.inf)
    best_lag = np.zeros(n_clusters, dtype=np.int64)
    best_strand = np.full(n_clusters, "+", dtype=object)
    if mnorm == 0:
        return best, best_lag, best_strand
    for strand, m in (("+", mat), ("-", mat[::-1, ::-1])):
        dots = np.einsum("ckfw,kw->cf", win, m)
        with np.errstate(invalid="ignore", divide="ignore"):
            cos = np.where(allowed & (wnorm > 0), dots / (wnorm * mnorm), -np.inf)
        idx = np.argmax(cos, axis=1)  # the first (leftmost) best window on ties
        val = cos[np.arange(n_clusters), idx]
        better = val > best  # '+' wins ties
        best, best_lag, best_strand = (np.where(better, val, best), np.where(better, idx, best_lag),
                                       np.where(better, strand, best_strand))
    return best, best_lag, best_strand


def _matrices(x, actual, seqlets):
    """Per seqlet: sign-flipped contribution matrix (4, w) and one-hot (4, w)."""
    mats, onehots = [], []
    for seq, start, end, sign in zip(seqlets.seq.to_numpy(), seqlets.start.to_numpy(), seqlets.end.to_numpy(),
                                     seqlets.sign.to_numpy()):
        mats.append(sign * actual[seq, :, start:end].astype(np.float64))
        onehots.append(x[seq, :, start:end].astype(np.float64))
    return mats, onehots


def _new_cluster(sign, frame, index, mat, onehot) -> Cluster:
    c = Cluster(sign, np.zeros((4, frame)), np.zeros((4, frame)), np.zeros(frame))
    c.add(index, mat, onehot, (frame - mat.shape[1]) // 2, "+")
    return c


def _best(mat, clusters):
    if not clusters:
        return -np.inf, -1, 0, "+"
    totals = np.stack([c.total for c in clusters])
    cores = np.array([c.core() for c in clusters])
    sim, lag, strand = _windows_similarity(mat, totals, cores)
    j = int(np.argmax(sim))  # the first (largest, oldest) cluster on ties
    return float(sim[j]), j, int(lag[j]), str(strand[j])


def cluster_seqlets(x, actual, seqlets: pd.DataFrame, min_similarity: float = 0.6, min_cluster_size: int = 10,
                    max_seqlets: int = 5000) -> tuple[list[Cluster], dict]:
    """Greedy clusters of seqlets by aligned cosine of their contribution matrices (module docstring).

    Parameters
    ----------
    x : numpy.ndarray (N, 4, L)
        One-hot sequences.
    actual : numpy.ndarray (N, 4, L)
        Actual contributions.
    seqlets : pandas.DataFrame
        Columns ``seq, start, end, sign, attribution`` (:func:`call_seqlets`).
    min_similarity : float in (0, 1]
        Cosine a seqlet needs to join a cluster (and a cluster to absorb another).
    min_cluster_size : int
        Clusters with fewer members are dropped before the reassignment.
    max_seqlets : int
        Seqlets (per sign, by decreasing ``|attribution|``) that the greedy pass builds clusters
        from; every seqlet is assigned in the final pass.

    Returns
    -------
    clusters : list of Cluster
        Per sign, largest first; ``members`` hold ``(row of seqlets, lag, strand)``.
    info : dict
        Counts of each stage.
    """
    x, actual = _check_pair(x, actual)
    info = {"n_clusters_greedy": 0, "n_clusters_merged": 0, "n_clusters_kept": 0, "n_seqlets_assigned": 0,
            "n_seqlets_unassigned": 0, "n_seqlets_beyond_max": 0}
    if len(seqlets) == 0:
        return [], info
    mats, onehots = _matrices(x, actual, seqlets)
    frame = 3 * max(m.shape[1] for m in mats)
    order = np.lexsort((seqlets.start.to_numpy(), seqlets.seq.to_numpy(), -np.abs(seqlets.attribution.to_numpy())))
    signs = seqlets.sign.to_numpy()
    out = []
    for sign in (1, -1):
        rows = [int(i) for i in order if signs[i] == sign]
        if not rows:
            continue
        greedy_rows, rest = rows[:int(max_seqlets)], rows[int(max_seqlets):]
        info["n_seqlets_beyond_max"] += len(rest)
        # a. greedy pass
        clusters: list[Cluster] = []
        for i in greedy_rows:
            sim, j, lag, strand = _best(mats[i], clusters)
            if sim >= min_similarity:
                clusters[j].add(i, mats[i], onehots[i], lag, strand)
            else:
                clusters.append(_new_cluster(sign, frame, i, mats[i], onehots[i]))
        info["n_clusters_greedy"] += len(clusters)
        # b. merge pass: a cluster's core matrix is compared like a seqlet, and its members move
        clusters = _merge(clusters, frame, min_similarity, mats, onehots)
        info["n_clusters_merged"] += len(clusters)
        # c. small clusters go
        clusters = [c for c in clusters if c.n >= int(min_cluster_size)]
        # d. reassignment of every seqlet of this sign against the surviving clusters
        if clusters:
            fixed = list(clusters)
            rebuilt = [Cluster(sign, np.zeros((4, frame)), np.zeros((4, frame)), np.zeros(frame)) for _ in fixed]
            for i in rows:
                sim, j, lag, strand = _best(mats[i], fixed)
                if sim >= min_similarity:
                    rebuilt[j].add(i, mats[i], onehots[i], lag, strand)
            clusters = [c for c in rebuilt if c.n > 0]
            clusters.sort(key=lambda c: -c.n)  # stable: ties keep the greedy order
        assigned = sum(c.n for c in clusters)
        info["n_seqlets_assigned"] += assigned
        info["n_seqlets_unassigned"] += len(rows) - assigned
        info["n_clusters_kept"] += len(clusters)
        out += clusters
    return out, info


def _merge(clusters: list[Cluster], frame: int, min_similarity: float, mats, onehots) -> list[Cluster]:
    """Repeatedly let the largest clusters (of two or more members) absorb similar ones."""
    clusters = sorted(clusters, key=lambda c: -c.n)
    changed = True
    while changed:
        changed = False
        big = [c for c in clusters if c.n >= 2]
        for host in big:
            for other in big:
                if other is host or other not in clusters or host not in clusters:
                    continue
                a, b = other.core()
                sim, _, lag, strand = _best(other.total[:, a:b], [host])
                if sim < min_similarity:
                    continue
                # move the other's members onto the host, at the alignment of its core
                for i, ml, s in other.members:
                    w = mats[i].shape[1]
                    if strand == "+":
                        new_lag, new_s = lag + (ml - a), s
                    else:
                        new_lag, new_s = lag + (b - (ml + w)), ("-" if s == "+" else "+")
                    if 0 <= new_lag <= frame - w:
                        host.add(i, mats[i], onehots[i], new_lag, new_s)
                clusters.remove(other)
                changed = True
        clusters.sort(key=lambda c: -c.n)
    return clusters


# ---------------------------------------------------------------------- 3./4. motifs and instances


def _ic_block(pfm: np.ndarray, threshold: float) -> tuple[int, int]:
    keep = np.flatnonzero(information_content(pfm) >= threshold)
    return (int(keep[0]), int(keep[-1]) + 1) if keep.size else (0, 0)


def seqlet_motifs(x, actual, params: dict | None = None, control=None):
    """Seqlets -> clusters -> motifs and instance calls, from attributions alone (no model).

    Parameters
    ----------
    x : numpy.ndarray (N, 4, L)
        One-hot sequences.
    actual : numpy.ndarray (N, 4, L)
        Actual contributions (attribution x one-hot).
    params : dict
        :data:`SEQLET_DEFAULTS` keys (missing ones take the defaults), and ``target_fdr`` with
        ``control``.
    control : numpy.ndarray (M, 4, L'), optional
        Actual contributions of signal-free sequences (see :func:`call_seqlets`).

    Returns
    -------
    motifs : list of Motif
        One per kept cluster (PFM over its IC-trimmed core columns).
    instances : pandas.DataFrame
        ``seq, start, end, strand, motif, score``: every seqlet assigned to a kept motif.
    cwms : dict name -> numpy.ndarray (4, W)
        Mean aligned (signed) contribution on the motif's columns.
    details : dict
        Counts of every stage.
    """
    p = {**SEQLET_DEFAULTS, **(params or {})}
    x, actual = _check_pair(x, actual)
    seqlets, info = call_seqlets(actual, p, control)
    clusters, cinfo = cluster_seqlets(x, actual, seqlets, float(p["min_similarity"]), int(p["min_cluster_size"]),
                                      int(p["max_seqlets"]))
    info.update(cinfo)
    from simulations.quality import passes_quality

    if p["patterns"] not in ("passing", "all"):
        raise ValueError(f"patterns must be one of ['passing', 'all'], got {p['patterns']!r}")
    motifs, cwms, rows, dropped, sizes, passing = [], {}, [], [], {}, []
    k = {1: 0, -1: 0}
    seq_col, start_col, end_col, attr_col = (seqlets[c].to_numpy() for c in ("seq", "start", "end", "attribution"))
    for c in clusters:
        name = f"seqlets_{'pos' if c.sign > 0 else 'neg'}_{k[c.sign]}"
        k[c.sign] += 1
        a, b = c.core()
        cov = np.maximum(c.coverage[a:b], 1)
        pfm = c.counts[:, a:b] / cov
        ta, tb = _ic_block(pfm, float(p["trim_threshold"]))
        if tb <= ta:
            dropped.append(name)
            continue
        ok = bool(passes_quality(pfm[:, ta:tb], "uniform"))
        motifs.append(Motif(name, pfm[:, ta:tb], {"route": "seqlets", "n_seqlets": c.n, "sign": c.sign,
                                                   "untrimmed_width": b - a, "trim": [ta, tb],
                                                   "passes_uniform_quality": ok}))
        cwms[name] = c.sign * c.total[:, a + ta:a + tb] / cov[ta:tb]
        sizes[name] = c.n
        if ok:
            passing.append(name)
        elif p["patterns"] == "passing":
            continue
        for i, _, strand in c.members:
            rows.append((int(seq_col[i]), int(start_col[i]), int(end_col[i]), strand, name, float(attr_col[i])))
    instances = pd.DataFrame(rows, columns=["seq", "start", "end", "strand", "motif", "score"])
    info.update(cluster_sizes=sizes, clusters_dropped_empty_after_trim=dropped, n_motifs=len(motifs),
                motifs_passing_quality=passing, pattern_filter=p["patterns"], n_instances=len(instances))
    return motifs, instances, cwms, info
