"""Mechanistic read-outs (notes §4): filter motifs, ARGMINN instances and syntax, attention maps.

``activation_pfms`` and ``trim_and_filter`` work for every model with ``scanner_activations``;
the instance and attention read-outs need ARGMINN's ``forward_with_interims``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

import simulations
from simulations import Motif
# the IC trim and the quality rules are the benchmark's (re-exported here for the read-outs' users)
from simulations.quality import (QUALITY_RULES, RULE_BARS, TRIM_THRESHOLD, UNIFORM_MIN_LENGTH,  # noqa: F401
                                 check_quality_rule, ic_trim_bounds, passes_quality, quality_stats, trim_by_ic)
from simulations.validation import validate_one_hot_shape

from ._state import preserve_mode

_INSTANCE_EXTRA = ["filter", "activation", "zscore", "attention"]


def _as_tensor(x, name="x") -> torch.Tensor:
    x = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x)
    return validate_one_hot_shape(x, name, dtype=torch.float32)


def _batched(model, x, fn, batch_size=256):
    """Apply ``fn(model, batch)`` (returning a tensor or tuple of tensors) in eval mode without gradients."""
    device = next(model.parameters()).device
    outs = []
    with preserve_mode(model), torch.no_grad():
        for i in range(0, len(x), batch_size):
            out = fn(model, x[i: i + batch_size].to(device))
            outs.append(tuple(o.cpu() for o in out) if isinstance(out, tuple) else out.cpu())
    if outs and isinstance(outs[0], tuple):
        return tuple(torch.cat(parts) for parts in zip(*outs))
    return torch.cat(outs)


def scanner_activations(model, x, batch_size: int = 256) -> np.ndarray:
    """First-layer activations (N, F, L') in eval mode."""
    x = _as_tensor(x)
    return _batched(model, x, lambda m, b: m.scanner_activations(b), batch_size).numpy()


def activation_pfms(model, x, threshold: float = 0.5, batch_size: int = 256) -> list[Motif]:
    """One PFM per first-layer filter from the windows where it fires (notes §4.1 steps 1-3).

    Parameters
    ----------
    model : torch.nn.Module
        Any model with ``scanner_activations`` (N, F, L') and ``scanner_width`` W.
    x : array, shape (N, 4, L)
        One-hot sequences (the reference uses positives plus their reverse complements).
    threshold : float
        A window counts when the filter's activation exceeds ``threshold × its maximum over x``.

    Returns
    -------
    list of simulations.Motif, length F
        ``filter_{i}``, pfm (4, W). A filter that never exceeds 0 gets a uniform PFM and
        ``source["empty"] = True``; ``source["n_windows"]`` counts the windows averaged.
    """
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    x = _as_tensor(x)
    acts = torch.from_numpy(scanner_activations(model, x, batch_size)).double()
    width = int(model.scanner_width)
    windows = x.double().unfold(2, width, 1)  # (N, 4, L', W)
    peak = acts.amax(dim=(0, 2))  # (F,)
    mask = (acts > (threshold * peak)[None, :, None]) & (peak > 0)[None, :, None]
    sums = torch.einsum("nft,nctw->fcw", mask.double(), windows).numpy()
    motifs = []
    for f in range(acts.shape[1]):
        n_windows = int(mask[:, f].sum())
        col = sums[f].sum(axis=0, keepdims=True)
        empty = n_windows == 0 or not np.all(col > 0)
        pfm = np.full((4, width), 0.25) if empty else sums[f] / col  # N bases: renormalize columns
        motifs.append(Motif(f"filter_{f}", pfm, {"readout": "activation", "filter": f, "n_windows": n_windows,
                                                  "threshold": float(threshold * peak[f]), "empty": bool(empty)}))
    return motifs


def raw_weight_views(model) -> dict[str, np.ndarray]:
    """The alternative visual read-out: each filter's raw weights, mean-centred across bases, (4, W)."""
    w = model.scanner_weight.detach().cpu().double().numpy()
    return {f"filter_{f}": w[f] - w[f].mean(axis=0, keepdims=True) for f in range(w.shape[0])}


def trim_and_filter(motifs: list[Motif], rule: str = "argminn", ic_threshold: float = TRIM_THRESHOLD,
                    min_length: int = UNIFORM_MIN_LENGTH, min_mean_ic: float | None = None) -> list[Motif]:
    """Information-content trim and a quality rule (notes §4.1 steps 4-5), both as the benchmark
    defines them (:mod:`simulations.quality`: :func:`~simulations.quality.passes_quality`).

    Flanks are trimmed to the first..last column with IC ≥ ``ic_threshold`` (interior columns kept);
    a motif is kept if its trimmed length ≥ ``min_length`` and it passes ``rule``: ``"argminn"``
    (the reference's: mean IC ≥ 1 bit), ``"uniform"`` (mean IC ≥ 0.5 bit) or ``"modisco"`` (total
    IC ≥ 4 bits). ``min_mean_ic`` replaces the bar of a mean-IC rule. A motif with no column at
    ``ic_threshold`` and empty motifs are dropped. ``source["trim"]`` = [start, end).
    """
    stat, _ = RULE_BARS[check_quality_rule(rule)]
    if min_mean_ic is not None and stat != "mean_ic":
        raise ValueError(f"min_mean_ic applies to a mean-IC rule ('uniform', 'argminn'), not rule {rule!r}")
    kept = []
    for m in motifs:
        if m.source.get("empty"):
            continue
        if passes_quality(m.pfm, rule, threshold=ic_threshold, min_length=min_length, bar=min_mean_ic):
            start, end = ic_trim_bounds(m.pfm, ic_threshold)
            kept.append(Motif(m.name, m.pfm[:, start:end].copy(), {**m.source, "trim": [start, end]}))
    return kept


def argminn_motifs(model, x, threshold: float = 0.5) -> list[Motif]:
    """ARGMINN's motif read-out: activation PFMs, trimmed and quality-filtered (notes §4.1)."""
    return trim_and_filter(activation_pfms(model, x, threshold))


def _interims(model, x, batch_size=256):
    if not hasattr(model, "forward_with_interims") or not hasattr(model, "layers"):
        raise ValueError(f"this read-out needs an ARGMINN model, got {type(model).__name__}")
    _, acts, att = _batched(model, _as_tensor(x), lambda m, b: m.forward_with_interims(b), batch_size)
    return acts.numpy(), att.numpy()


def attention_maps(model, x, batch_size: int = 256) -> np.ndarray:
    """ARGMINN attention weights, shape (N, AL, NH, L'), eval mode."""
    return _interims(model, x, batch_size)[1]


def _filter_indices(motifs, n_filters):
    idx = []
    for m in motifs:
        f = m.source.get("filter") if isinstance(m.source, dict) else None
        if f is None and m.name.startswith("filter_"):
            f = int(m.name.split("_", 1)[1])
        if f is None or not 0 <= int(f) < n_filters:
            raise ValueError(f"motifs must come from the filter read-out (filter_<i>); got {m.name!r}")
        idx.append(int(f))
    return sorted(set(idx))


def argminn_instances(model, x, motifs: list[Motif] | None = None, attention_threshold: float = 0.9,
                      calibrated: bool = False, background=None, fpr: float = 0.01,
                      batch_size: int = 256) -> pd.DataFrame:
    """Motif instances from one forward pass.

    Reference rule (``calibrated=False``, notes §4.2): pool attention ᾱ_t = max over layers and heads;
    candidates are positions with ᾱ_t > ``attention_threshold``; at a candidate the firing filters are the
    QC-passed filters (``motifs``) with r[t, f] > μ_f, where μ_f, σ_f are the mean and s.d. of f's positive
    activations over ``x``; the call takes the filter with the best z = (r - μ)/σ.

    Calibrated rule (``calibrated=True``): thresholds come from ``background`` sequences with no planted
    signal (dinucleotide shuffles of ``x`` by default) instead of from ``x`` itself and a fixed 0.9.
    A filter fires when r[t, f] exceeds the (1 - ``fpr``) quantile of its background activations, and the
    attention threshold is the (1 - ``fpr``) quantile of the background's pooled attention (at least
    ``1/L'``). Why: μ_f over ``x`` depends on how many motifs ``x`` contains, and a fixed 0.9 on a softmax
    over L' positions depends on L' and on how many instances compete for a head; background quantiles
    give each threshold a stated false-positive rate per position.

    Parameters
    ----------
    model : ARGMINN
    x : array, shape (N, 4, L)
    motifs : list of Motif or None
        QC-passed filter motifs (from :func:`argminn_motifs`); None computes them on ``x``.

    Returns
    -------
    pandas.DataFrame
        ``seq, start, end, strand ('+'), motif ('filter_<f>'), score (ᾱ_t)`` plus ``filter, activation,
        zscore, attention``. ``start`` is the conv position (first base of the W-long window).
    """
    x = _as_tensor(x)
    acts, att = _interims(model, x, batch_size)  # (N, F, L'), (N, AL, NH, L')
    n_filters, width = acts.shape[1], int(model.scanner_width)
    if motifs is None:
        motifs = argminn_motifs(model, x)
    allowed = np.zeros(n_filters, dtype=bool)
    allowed[_filter_indices(motifs, n_filters)] = True
    pooled = att.max(axis=(1, 2))  # (N, L')
    # mean and s.d. of each filter's positive activations (inf mean for a filter that never fires)
    positive = acts > 0
    count = positive.sum(axis=(0, 2))
    total = np.where(positive, acts, 0.0).sum(axis=(0, 2))
    mu = np.where(count > 0, total / np.maximum(count, 1), np.inf)
    sq = np.where(positive, (acts - np.where(np.isfinite(mu), mu, 0.0)[None, :, None]) ** 2, 0.0).sum(axis=(0, 2))
    sd = np.sqrt(sq / np.maximum(count, 1))
    sd = np.where(sd > 0, sd, 1.0)
    if calibrated:
        if not 0 < fpr < 1:
            raise ValueError(f"fpr must be in (0, 1), got {fpr}")
        if background is None:
            from tangermeme.ersatz import dinucleotide_shuffle
            background = dinucleotide_shuffle(x, n=1, random_state=0)[:, 0]
        bg_acts, bg_att = _interims(model, background, batch_size)
        act_thr = np.quantile(bg_acts, 1 - fpr, axis=(0, 2))
        act_thr = np.maximum(act_thr, 0.0)
        att_thr = max(float(np.quantile(bg_att.max(axis=(1, 2)), 1 - fpr)), 1.0 / acts.shape[2])
    else:
        act_thr, att_thr = mu, attention_threshold
    rows = []
    seqs, starts = np.nonzero(pooled > att_thr)
    for n, t in zip(seqs, starts):
        r = acts[n, :, t]
        firing = allowed & (r > act_thr)
        if not firing.any():
            continue
        z = np.where(firing, (r - mu) / sd, -np.inf) if not calibrated else np.where(firing, r - act_thr, -np.inf)
        f = int(np.argmax(z))
        rows.append((int(n), int(t), int(t) + width, "+", f"filter_{f}", float(pooled[n, t]), f,
                     float(r[f]), float((r[f] - mu[f]) / sd[f]) if np.isfinite(mu[f]) else float("nan"),
                     float(pooled[n, t])))
    if not rows:
        out = simulations.empty_instances()
        for c in _INSTANCE_EXTRA:
            out[c] = pd.Series(dtype="int64" if c == "filter" else "float64")
        return out
    return pd.DataFrame(rows, columns=simulations.INSTANCE_COLUMNS + _INSTANCE_EXTRA)


def instance_spacings(instances: pd.DataFrame, max_offset: int | None = None) -> pd.DataFrame:
    """Pairwise spacing and orientation histogram of instances within each sequence.

    For every ordered pair (a, b) in one sequence with ``start_a <= start_b`` (a ≠ b):
    ``offset = start_b - start_a`` (start to start), ``gap = start_b - end_a`` (edge to edge; negative
    when they overlap; the reference's ``binding_syntax`` subtracted 4, the alphabet size, by mistake),
    ``orientation = strand_a + strand_b``.

    Returns
    -------
    pandas.DataFrame
        ``motif_a, motif_b, orientation, offset, gap, count``, sorted by count (descending).
    """
    simulations.check_instances(instances)
    cols = ["motif_a", "motif_b", "orientation", "offset", "gap", "count"]
    pairs = []
    for _, grp in instances.sort_values(["seq", "start"]).groupby("seq", sort=False):
        g = grp[["start", "end", "strand", "motif"]].to_numpy(dtype=object)
        for i in range(len(g)):
            for j in range(i + 1, len(g)):
                offset = int(g[j, 0]) - int(g[i, 0])
                if max_offset is not None and offset > max_offset:
                    break
                pairs.append((g[i, 3], g[j, 3], g[i, 2] + g[j, 2], offset, int(g[j, 0]) - int(g[i, 1])))
    if not pairs:
        return pd.DataFrame({c: pd.Series(dtype="int64" if c in ("offset", "gap", "count") else "object")
                             for c in cols})
    df = pd.DataFrame(pairs, columns=cols[:-1])
    out = df.groupby(cols[:-1], as_index=False).size().rename(columns={"size": "count"})
    return out.sort_values(["count", "motif_a", "motif_b", "offset"], ascending=[False, True, True, True],
                           ignore_index=True)
