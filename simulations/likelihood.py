"""The simulator's own likelihood: how probable a sequence is under each class of a grammar.

A reader that knows the generative model exactly (the grammar, the PFMs, the background) and
scores a sequence by the ratio of its class likelihoods is the best any model can do on the
task (Neyman-Pearson). Its auROC is therefore the ceiling the simulation sets, counting both what
the grammar plants and how recognizable each PFM-sampled site is against the background.

The likelihood mirrors :func:`simulations.simulate` term by term (class configs, gap and
count distributions, placement modes, strands, the order flip, i.i.d. and first-order Markov
backgrounds) with the simplifications stated on :func:`class_log_likelihood_ratios`.
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy.special import gammaln, logsumexp
from scipy.stats import norm

from .backgrounds import BackgroundModel
from .dataset import check_one_hot
from .grammar import Choice, Normal, Range, dist_bounds, parse_spec

_MAX_GAP_COMBINATIONS = 100_000
_LOG_FLOOR = -1000.0  # a Markov background's log-probability 0, in ratios' denominators


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


class _Background:
    """The background of one batch of sequences, as the likelihood ratios need it.

    i.i.d.: a window's ratio is its PFM probability over its bases' frequencies, and nothing else.

    First-order Markov: the simulator draws a whole background chain and then overwrites each planted
    window, so the base after a run of planted bases was drawn conditioned on the *overwritten* base
    before it. Summing those hidden bases out, a run of ``n`` planted bases at ``s..s+n-1`` has

        P(x | run) / P_bg(x) = PFM(x_s..x_{s+n-1}) * T^(n+1)[x_{s-1}, x_{s+n}]
                               / (P_bg(x_s..x_{s+n-1} | x_{s-1}) * T[x_{s-1+n}, x_{s+n}])

    (``pi T^n`` in place of ``T^(n+1)[x_{s-1}, .]`` at the sequence start, no bridge at its end). It splits
    into :meth:`window` (the PFM over the bases' own background terms, per window) and :meth:`boundary`
    (the bridge over the transition into the base after the run, per run), so adjacent windows of a chain
    share one run. A background probability of 0 (a forbidden transition, e.g. ``cpg_ratio: 0``) is
    floored at ``exp(_LOG_FLOOR)`` in the denominator only: a sequence the background cannot emit gets a
    large finite ratio under every class that can (their differences stay exact), instead of NaN.
    """

    def __init__(self, model: BackgroundModel, codes: np.ndarray):
        self.codes = codes
        self.log_freqs = np.log(model.freqs)
        self.markov = model.transitions is not None
        if not self.markov:
            return
        self.transitions = np.asarray(model.transitions, dtype=float)
        self.freqs = np.asarray(model.freqs, dtype=float)
        with np.errstate(divide="ignore"):
            log_t = np.maximum(np.log(self.transitions), _LOG_FLOOR)
            log_f = np.maximum(np.log(self.freqs), _LOG_FLOOR)
        step = np.empty(codes.shape)  # log P_bg(x_j | x_{j-1}), floored; log pi(x_0) at j = 0
        step[:, 0] = log_f[codes[:, 0]]
        step[:, 1:] = log_t[codes[:, :-1], codes[:, 1:]]
        self.log_step = step
        self._powers, self._boundaries = {}, {}

    def power(self, n: int) -> np.ndarray:
        """T^n (not floored)."""
        if n not in self._powers:
            self._powers[n] = np.linalg.matrix_power(self.transitions, n)
        return self._powers[n]

    def window(self, pfm: np.ndarray) -> np.ndarray:
        """A window's own log-ratio at every start, ``(N, L - W + 1)``; Markov: without its run's boundary."""
        if not self.markov:
            return _window_log_lr(self.codes, pfm, self.log_freqs)
        codes, width = self.codes, pfm.shape[1]
        n_windows = codes.shape[1] - width + 1
        with np.errstate(divide="ignore"):
            log_pfm = np.log(pfm)
        out = np.zeros((codes.shape[0], n_windows))
        for k in range(width):
            out += log_pfm[codes[:, k:k + n_windows], k] - self.log_step[:, k:k + n_windows]
        return out

    def boundary(self, n: int) -> np.ndarray:
        """Markov only: log bridge - log T[last base, next base] of a run of ``n`` planted bases at every
        start, ``(N, L - n + 1)``; 0 for a run ending the sequence."""
        if n in self._boundaries:
            return self._boundaries[n]
        codes, step = self.codes, self.log_step
        length = codes.shape[1]
        out = np.zeros((codes.shape[0], length - n + 1))
        if n < length:
            with np.errstate(divide="ignore"):
                first = np.log(self.freqs @ self.power(n))  # x_n's marginal below a run at the start
                bridge = np.log(self.power(n + 1))
            out[:, 0] = first[codes[:, n]] - step[:, n]
            s = np.arange(1, length - n)
            out[:, 1:length - n] = bridge[codes[:, s - 1], codes[:, s + n]] - step[:, s + n]
        self._boundaries[n] = out
        return out


def _element_log_lr(bg: _Background, motif, orientation: str) -> np.ndarray:
    """Window log-ratios of one planted element, averaged over its strand distribution."""
    forward = bg.window(motif.pfm)
    if orientation == "+":
        return forward
    reverse = bg.window(motif.pfm[::-1, ::-1])
    if orientation == "-":
        return reverse
    return np.logaddexp(forward, reverse) - np.log(2.0)


def _runs(starts, widths):
    """Maximal runs of abutting windows: (first start, length) of each."""
    order = np.argsort(starts, kind="stable")
    runs = []
    for i in order:
        s, w = int(starts[i]), int(widths[i])
        if runs and runs[-1][0] + runs[-1][1] == s:
            runs[-1][1] += w
        else:
            runs.append([s, w])
    return runs


def _chain_log_lr(bg: _Background, cfg, motifs, length: int) -> np.ndarray:
    elems = cfg.motifs
    if not elems:
        return np.zeros(bg.codes.shape[0])
    widths = np.array([motifs[e.motif].width for e in elems], dtype=np.int64)
    element_lr = [_element_log_lr(bg, motifs[e.motif], e.orientation) for e in elems]
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
            if bg.markov:
                for run_start, run_length in _runs(starts, widths):
                    joint = joint + bg.boundary(run_length)[:, bases + run_start]
            terms.append(log_p_gaps + log_p_flip + logsumexp(joint, axis=1))
    return logsumexp(np.stack(terms, axis=1), axis=1)


def _log_n_sets(length: int, width: int, counts: np.ndarray) -> np.ndarray:
    """log of the number of ways to place ``c`` non-overlapping windows of ``width`` in ``length``."""
    counts = np.asarray(counts, dtype=np.int64)
    free = length - counts * width
    out = np.full(counts.shape, -np.inf)
    ok = free >= 0
    out[ok] = gammaln(free[ok] + counts[ok] + 1) - gammaln(counts[ok] + 1) - gammaln(free[ok] + 1)
    return out


def _set_sums_iid(lr: np.ndarray, width: int, max_count: int) -> np.ndarray:
    """log of the sum, over every set of ``k`` non-overlapping windows, of the product of their ratios.

    ``lr``: ``(N, L - W + 1)`` window log-ratios. Returns ``(N, max_count + 1)``, ``k = 0..max_count``.
    A recursion over prefix lengths: the last window ends at ``j`` or no window ends there.
    """
    n, n_windows = lr.shape
    length = n_windows + width - 1
    ring = [None] * (width + 1)
    empty = np.full((n, max_count + 1), -np.inf)
    empty[:, 0] = 0.0
    for j in range(width):
        ring[j % (width + 1)] = empty
    for j in range(width, length + 1):  # prefix x_0..x_{j-1}
        cur = ring[(j - 1) % (width + 1)].copy()
        before = ring[(j - width) % (width + 1)]
        cur[:, 1:] = np.logaddexp(cur[:, 1:], before[:, :-1] + lr[:, j - width, None])
        ring[j % (width + 1)] = cur
    return ring[length % (width + 1)]


def _set_sums_markov(bg: _Background, lr: np.ndarray, width: int, max_count: int) -> np.ndarray:
    """:func:`_set_sums_iid` under a Markov background, with each run of abutting windows bridged.

    A forward pass over positions ``j``, as ratios to the background probability of ``x_0..x_j``:
    ``a[k]``, position ``j`` is background and ``k`` windows lie before it; ``m[k]`` and ``v[k, h]``, a
    window (the ``k``-th) ends at ``j`` with total weight ``m`` and the hidden background base under its
    end distributed as ``v`` (the chain runs on under the planted bases, through ``T``).
    """
    codes, step = bg.codes, bg.log_step
    n, length = codes.shape
    k1 = max_count + 1
    t, tw = bg.transitions, bg.power(width)
    start_v = bg.freqs @ bg.power(width - 1)  # the hidden base under the end of a window at 0
    size = width + 1
    a_ring, m_ring, v_ring = [None] * size, [None] * size, [None] * size
    for j in range(length):
        if j == 0:
            a = np.full((n, k1), -np.inf)
            a[:, 0] = 0.0
        else:
            a = a_ring[(j - 1) % size].copy()
            m_prev, v_prev = m_ring[(j - 1) % size], v_ring[(j - 1) % size]
            if m_prev is not None:  # leave a window: the hidden base steps to x_j
                p_next = np.einsum("nkh,nh->nk", v_prev, t[:, codes[:, j]].T)
                with np.errstate(divide="ignore"):
                    a = np.logaddexp(a, m_prev + np.log(p_next) - step[:, j, None])
        m = v = None
        s = j - width + 1
        if s >= 0:
            m = np.full((n, k1), -np.inf)
            v = np.zeros((n, k1, 4))
            if s == 0:
                m[:, 1] = 0.0
                v[:, 1, :] = start_v
            else:
                from_a = a_ring[(s - 1) % size][:, :-1]
                v_a = tw[codes[:, s - 1]][:, None, :]
                m_b = m_ring[(s - 1) % size]
                if m_b is None:
                    m[:, 1:] = from_a
                    v[:, 1:, :] = v_a
                else:
                    m_b, v_b = m_b[:, :-1], v_ring[(s - 1) % size][:, :-1] @ tw
                    total = np.logaddexp(from_a, m_b)
                    ref = np.where(np.isfinite(total), total, 0.0)
                    w_a, w_b = np.exp(from_a - ref), np.exp(m_b - ref)
                    m[:, 1:] = total
                    v[:, 1:, :] = w_a[..., None] * v_a + w_b[..., None] * v_b
            m += lr[:, s, None]
        a_ring[j % size], m_ring[j % size], v_ring[j % size] = a, m, v
    a, m = a_ring[(length - 1) % size], m_ring[(length - 1) % size]
    return a if m is None else np.logaddexp(a, m)


def _convolved_count(elements):
    """The total count of several scattered elements: the values and log-probabilities of its sum."""
    values, log_p = np.zeros(1, dtype=np.int64), np.zeros(1)
    for el in elements:
        v, lp = dist_log_pmf(el.count)
        values = (values[:, None] + v[None, :]).ravel()
        log_p = (log_p[:, None] + lp[None, :]).ravel()
        values, inverse = np.unique(values, return_inverse=True)
        log_p = np.array([logsumexp(log_p[inverse == i]) for i in range(values.size)])
    return values, log_p


def _scatter_log_lr(bg: _Background, elements, motifs) -> np.ndarray:
    """Scattered copies of one motif on one strand distribution (the elements of a config that share both).

    At most one copy: exact. More: the copies are a uniform draw among the sets of non-overlapping
    windows (each set weighted ``1 / #sets``), their strands independent.
    """
    element = elements[0]
    motif = motifs[element.motif]
    lr = _element_log_lr(bg, motif, element.orientation)
    counts, log_p = (dist_log_pmf(element.count) if len(elements) == 1 else _convolved_count(elements))
    if counts.max() <= 1:
        if bg.markov:
            lr = lr + bg.boundary(motif.width)
        mean_lr = logsumexp(lr, axis=1)
        mean_lr -= np.log(bg.codes.shape[1] - motif.width + 1)
        # no copy planted contributes a ratio of 1 even where the motif cannot be emitted (mean_lr = -inf)
        with np.errstate(invalid="ignore"):
            per_count = np.where(counts[None, :] == 0, 0.0, counts[None, :] * mean_lr[:, None])
        return logsumexp(log_p[None, :] + per_count, axis=1)
    max_count = int(counts.max())
    if bg.markov:
        sums = _set_sums_markov(bg, lr, motif.width, max_count)
    else:
        sums = _set_sums_iid(lr, motif.width, max_count)
    per_count = sums[:, counts] - _log_n_sets(bg.codes.shape[1], motif.width, counts)[None, :]
    return logsumexp(log_p[None, :] + per_count, axis=1)


def _scatter_groups(elements):
    """Scattered elements grouped by (motif, orientation), in order of first appearance."""
    groups = {}
    for el in elements:
        groups.setdefault((el.motif, el.orientation), []).append(el)
    return list(groups.values())


def class_log_likelihood_ratios(spec, x) -> np.ndarray:
    """log P(sequence | class) - log P(sequence | background) for every class of a grammar.

    The background is i.i.d. or first-order Markov; under a Markov background the chain runs under each
    planted window and the base after it was drawn from the overwritten base, which the likelihood sums
    out (see :class:`_Background`). Simplifications of :func:`simulations.simulate`:

    - background-match rejection is ignored (the background is taken as drawn from its model);
    - the scattered copies of one motif on one strand distribution in a config (its scatter elements
      sharing both are pooled, their counts summed) are a uniform draw among the sets of non-overlapping
      windows; the simulator draws them one at a time, which favours spread-out sets slightly (exact for
      at most one copy);
    - such pools, the decoys and the chain are placed independently of one another (their non-overlap is
      ignored; under a Markov background a site abutting a site of another pool gets the boundary of a
      lone site).

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
    codes = x.argmax(axis=1)
    bg = _Background(BackgroundModel(s.background), codes)
    motifs = resolved.motifs
    decoys = sum((_scatter_log_lr(bg, group, motifs) for group in _scatter_groups(s.decoys)),
                 np.zeros(len(codes)))
    columns = []
    for cls in s.classes:
        w = np.array([c.weight for c in cls.configs], dtype=float)
        config_terms = []
        for cfg, weight in zip(cls.configs, w / w.sum()):
            if weight == 0:
                continue
            term = _chain_log_lr(bg, cfg, motifs, s.length)
            for group in _scatter_groups(cfg.scatter):
                term = term + _scatter_log_lr(bg, group, motifs)
            config_terms.append(np.log(weight) + term)
        columns.append(logsumexp(np.stack(config_terms, axis=1), axis=1) + decoys)
    return np.stack(columns, axis=1)
