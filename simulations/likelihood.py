"""The simulator's own likelihood: how probable a sequence is under each class of a grammar.

A reader that knows the generative model exactly (the grammar, the PFMs, the background) and
scores a sequence by the ratio of its class likelihoods is the best any model can do on the
task (Neyman-Pearson). Its auROC is therefore the ceiling the simulation sets, counting both what
the grammar plants and how recognizable each PFM-sampled site is against the background.

The likelihood mirrors :func:`simulations.simulate` term by term (class configs, gap and
count distributions, placement modes, strands, the order flip) with two simplifications, both
stated on :func:`class_log_likelihood_ratios`.
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy.special import logsumexp
from scipy.stats import norm

from .backgrounds import BackgroundModel
from .dataset import check_one_hot
from .grammar import Choice, Normal, Range, dist_bounds, parse_spec

_MAX_GAP_COMBINATIONS = 100_000


def dist_log_pmf(d) -> tuple[np.ndarray, np.ndarray]:
    """The values a gap or count distribution draws, and their log probabilities.

    Exact for :func:`simulations.grammar.sample_dist`: a normal is rounded to the nearest
    integer and clipped to ``dist_bounds``, so the bounds carry the clipped tails.

    Returns
    -------
    values : (K,) int64
    log_p : (K,) float64
    """
    if isinstance(d, (int, np.integer)):
        return np.array([int(d)], dtype=np.int64), np.zeros(1)
    if isinstance(d, Range):
        values = np.arange(d.min, d.max + 1, dtype=np.int64)
        return values, np.full(values.size, -np.log(values.size))
    if isinstance(d, Choice):
        w = np.ones(len(d.values)) if d.weights is None else np.asarray(d.weights, dtype=float)
        values, inverse = np.unique(np.asarray(d.values, dtype=np.int64), return_inverse=True)
        p = np.bincount(inverse, weights=w / w.sum(), minlength=values.size)
        keep = p > 0
        return values[keep], np.log(p[keep])
    if isinstance(d, Normal):
        lo, hi = dist_bounds(d)
        values = np.arange(lo, hi + 1, dtype=np.int64)
        if d.sd == 0:
            p = (values == np.clip(np.rint(d.mean), lo, hi)).astype(float)
        else:
            edges = norm.cdf((np.r_[values - 0.5, hi + 0.5] - d.mean) / d.sd)
            edges[0], edges[-1] = 0.0, 1.0  # clipping piles both tails onto the bounds
            p = np.diff(edges)
        keep = p > 0
        return values[keep], np.log(p[keep] / p[keep].sum())
    raise TypeError(f"not a gap or count distribution: {d!r}")


def _base_log_pmf(position, length: int, total: int) -> tuple[np.ndarray, np.ndarray]:
    """Where a chain of ``total`` bp starts, as :func:`simulations.simulate` places it."""
    last = length - total
    if position.mode == "uniform":
        bases = np.arange(last + 1, dtype=np.int64)
        return bases, np.full(bases.size, -np.log(bases.size))
    if position.mode == "fixed":
        return np.array([min(max(position.start, 0), last)], dtype=np.int64), np.zeros(1)
    jitter = np.arange(-position.jitter, position.jitter + 1)
    bases, counts = np.unique(np.clip(last // 2 + jitter, 0, last), return_counts=True)
    return bases.astype(np.int64), np.log(counts / counts.sum())


def _window_log_lr(codes: np.ndarray, pfm: np.ndarray, log_bg: np.ndarray) -> np.ndarray:
    """log P(window | PFM) - log P(window | background) at every start: ``(N, L - W + 1)``."""
    width = pfm.shape[1]
    n_windows = codes.shape[1] - width + 1
    with np.errstate(divide="ignore"):
        log_ratio = np.log(pfm) - log_bg[:, None]  # a base the PFM never emits: -inf, exactly
    out = np.zeros((codes.shape[0], n_windows))
    for k in range(width):
        out += log_ratio[codes[:, k:k + n_windows], k]
    return out


def _element_log_lr(codes, motif, orientation: str, log_bg) -> np.ndarray:
    """Window log-ratios of one planted element, averaged over its strand distribution."""
    forward = _window_log_lr(codes, motif.pfm, log_bg)
    if orientation == "+":
        return forward
    reverse = _window_log_lr(codes, motif.pfm[::-1, ::-1], log_bg)
    if orientation == "-":
        return reverse
    return np.logaddexp(forward, reverse) - np.log(2.0)


def _chain_log_lr(codes, cfg, motifs, log_bg, length: int) -> np.ndarray:
    elems = cfg.motifs
    if not elems:
        return np.zeros(codes.shape[0])
    widths = np.array([motifs[e.motif].width for e in elems], dtype=np.int64)
    element_lr = [_element_log_lr(codes, motifs[e.motif], e.orientation, log_bg) for e in elems]
    gap_pmfs = [dist_log_pmf(e.gap) for e in elems[1:]]
    n_combinations = int(np.prod([v.size for v, _ in gap_pmfs])) if gap_pmfs else 1
    if n_combinations > _MAX_GAP_COMBINATIONS:
        raise ValueError(f"config {cfg.name!r}: {n_combinations} gap combinations; the likelihood "
                         f"enumerates them and handles at most {_MAX_GAP_COMBINATIONS}")
    flips = [(False, 0.0)] if cfg.order == "fixed" else [(False, np.log(0.5)), (True, np.log(0.5))]
    terms = []
    for combination in itertools.product(*[list(zip(v, lp)) for v, lp in gap_pmfs]):
        gaps = np.array([0] + [g for g, _ in combination], dtype=np.int64)
        log_p_gaps = sum(lp for _, lp in combination)
        rel = np.cumsum(gaps + np.r_[0, widths[:-1]])
        total = int(rel[-1] + widths[-1])
        bases, log_p_bases = _base_log_pmf(cfg.position, length, total)
        for flipped, log_p_flip in flips:
            starts = total - (rel + widths) if flipped else rel
            joint = log_p_bases[None, :] + sum(lr[:, bases + s] for lr, s in zip(element_lr, starts))
            terms.append(log_p_gaps + log_p_flip + logsumexp(joint, axis=1))
    return logsumexp(np.stack(terms, axis=1), axis=1)


def _scatter_log_lr(codes, element, motifs, log_bg) -> np.ndarray:
    mean_lr = logsumexp(_element_log_lr(codes, motifs[element.motif], element.orientation, log_bg),
                        axis=1)
    mean_lr -= np.log(codes.shape[1] - motifs[element.motif].width + 1)
    counts, log_p = dist_log_pmf(element.count)
    # no copy planted contributes a ratio of 1 even where the motif cannot be emitted (mean_lr = -inf)
    with np.errstate(invalid="ignore"):
        per_count = np.where(counts[None, :] == 0, 0.0, counts[None, :] * mean_lr[:, None])
    return logsumexp(log_p[None, :] + per_count, axis=1)


def class_log_likelihood_ratios(spec, x) -> np.ndarray:
    """log P(sequence | class) - log P(sequence | background) for every class of a grammar.

    Two simplifications of :func:`simulations.simulate`: background-match rejection is ignored
    (the background is taken as i.i.d. draws from its base frequencies) and scattered elements
    are placed independently (their non-overlap with one another and with the chain is ignored).
    Chains, gap distributions, placement modes, strands and the order flip are exact.

    Parameters
    ----------
    spec : dict, str, Path or ResolvedSpec
        The grammar (a spec dict, a YAML path or a preset name), as given to ``simulate``.
    x : (N, 4, L) one-hot
        Sequences of the spec's length.

    Returns
    -------
    (N, C) float64
        One column per class, in the spec's order; ``-inf`` where a class cannot emit the sequence.
    """
    resolved = parse_spec(spec)
    s = resolved.spec
    x = check_one_hot(x)
    if x.shape[2] != s.length:
        raise ValueError(f"x has length {x.shape[2]} but the spec's sequences have length {s.length}")
    if s.background.model != "iid":
        raise ValueError(f"background.model: the likelihood supports 'iid' backgrounds, got {s.background.model!r}")
    codes = x.argmax(axis=1)
    log_bg = np.log(BackgroundModel(s.background).freqs)
    motifs = resolved.motifs
    decoys = sum((_scatter_log_lr(codes, el, motifs, log_bg) for el in s.decoys), np.zeros(len(codes)))
    columns = []
    for cls in s.classes:
        w = np.array([c.weight for c in cls.configs], dtype=float)
        config_terms = []
        for cfg, weight in zip(cls.configs, w / w.sum()):
            if weight == 0:
                continue
            term = _chain_log_lr(codes, cfg, motifs, log_bg, s.length)
            for el in cfg.scatter:
                term = term + _scatter_log_lr(codes, el, motifs, log_bg)
            config_terms.append(np.log(weight) + term)
        columns.append(logsumexp(np.stack(config_terms, axis=1), axis=1) + decoys)
    return np.stack(columns, axis=1)
