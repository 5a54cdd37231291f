"""`simulate(spec, n, seed)`: plant motifs into backgrounds under a grammar, and record where."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .backgrounds import BackgroundModel
from .dataset import TRUTH_COLUMNS, SimulatedDataset
from .grammar import ResolvedSpec, Rejection, parse_spec, sample_dist
from .scan import MatchRule, kmer_codes

_MAX_PLACEMENT_TRIES = 500


class _Planted:
    """Accumulates planted instances as parallel arrays."""

    def __init__(self):
        self.seq, self.start, self.motif, self.strand, self.functional, self.role = [], [], [], [], [], []

    def add(self, seq, start, motif: str, strand, functional: bool, role: str):
        n = len(seq)
        self.seq.append(np.asarray(seq, dtype=np.int64))
        self.start.append(np.asarray(start, dtype=np.int64))
        self.motif.append(np.full(n, motif, dtype=object))
        self.strand.append(np.asarray(strand, dtype=object))
        self.functional.append(np.full(n, functional, dtype=bool))
        self.role.append(np.full(n, role, dtype=object))

    def arrays(self):
        if not self.seq:
            e = np.array([], dtype=np.int64)
            return e, e, np.array([], dtype=object), np.array([], dtype=object), np.array([], bool), np.array([], object)
        return tuple(np.concatenate(a) for a in
                     (self.seq, self.start, self.motif, self.strand, self.functional, self.role))


def simulate(spec, n: int, seed: int) -> SimulatedDataset:
    """Simulate ``n`` sequences under a grammar spec.

    Parameters
    ----------
    spec : dict, str or Path
        A spec dict, a YAML path, or a preset name (see :mod:`simulations.grammar`).
    n : int
        Number of sequences (classes are split by their ``fraction``, rounded).
    seed : int
        Same seed, same dataset.

    Returns
    -------
    SimulatedDataset
        ``x`` one-hot ``(n, 4, L)``; ``instances`` records every planted motif, on its strand.
    """
    resolved = parse_spec(spec)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer number of sequences, got {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    s = resolved.spec
    n, length = int(n), s.length
    rng = np.random.default_rng(int(seed))
    background = BackgroundModel(s.background)

    class_of = _assign_classes(resolved, n, rng)
    codes = background.sample(n, length, rng)
    occupied = np.zeros((n, length), dtype=bool)
    planted = _Planted()

    for ci, cls in enumerate(s.classes):
        rows = np.flatnonzero(class_of == ci)
        if rows.size == 0:
            continue
        w = np.array([c.weight for c in cls.configs], dtype=float)
        choice = rng.choice(len(cls.configs), size=rows.size, p=w / w.sum())
        for gi, cfg in enumerate(cls.configs):
            sub = rows[choice == gi]
            if sub.size == 0:
                continue
            _place_chain(resolved, cfg, sub, occupied, planted, rng, length)
            for el in cfg.scatter:
                role = el.role or f"{cfg.name}:scatter:{el.motif}"
                _place_scattered(resolved, el, sub, occupied, planted, rng, length, el.functional, role)
    all_rows = np.arange(n)
    for el in s.decoys:
        _place_scattered(resolved, el, all_rows, occupied, planted, rng, length, False, el.role or "decoy")

    seq, start, motif, strand, functional, role = planted.arrays()
    scores = _plant_bases(resolved, codes, seq, start, motif, strand, background.freqs, rng)
    if s.reject_matches is not False:
        _reject_background_matches(resolved, s.reject_matches, codes, occupied, seq, start, motif,
                                   background, rng)

    widths = np.array([resolved.motifs[m].width for m in motif], dtype=np.int64)
    instances = pd.DataFrame({
        "seq": seq, "start": start, "end": start + widths, "strand": strand.astype(str),
        "motif": motif.astype(str), "score": scores, "role": role.astype(str), "functional": functional,
    }, columns=TRUTH_COLUMNS)
    instances = instances.sort_values(["seq", "start"], kind="stable").reset_index(drop=True)

    x = (codes[:, None, :] == np.arange(4, dtype=np.int8)[None, :, None]).astype(np.uint8)
    labels = np.array([np.atleast_1d(np.asarray(c.label, dtype=np.float32)) for c in s.classes])
    y = labels[class_of]
    if np.ndim(s.classes[0].label) == 0:
        y = y[:, 0]
    splits = _splits(n, s.splits.valid, s.splits.test, rng)
    class_names = np.array([c.name for c in s.classes])[class_of]
    return SimulatedDataset(x=x, y=y, instances=instances, motifs=dict(resolved.motifs),
                            spec=resolved.to_dict(), splits=splits, seed=int(seed), classes=class_names)


def _assign_classes(resolved: ResolvedSpec, n: int, rng) -> np.ndarray:
    """Exact class counts by largest remainder, then shuffled."""
    f = np.array([c.fraction for c in resolved.spec.classes], dtype=float)
    want = n * f / f.sum()
    counts = np.floor(want).astype(int)
    counts[np.argsort(-(want - counts), kind="stable")[: n - counts.sum()]] += 1
    return rng.permutation(np.repeat(np.arange(f.size), counts))


def _strands(orientation: str, m: int, rng) -> np.ndarray:
    if orientation == "random":
        return np.where(rng.random(m) < 0.5, "+", "-").astype(object)
    return np.full(m, orientation, dtype=object)


def _place_chain(resolved, cfg, rows, occupied, planted, rng, length):
    elems = cfg.motifs
    if not elems:
        return
    m, k = rows.size, len(elems)
    widths = np.array([resolved.motifs[e.motif].width for e in elems], dtype=np.int64)
    gaps = np.zeros((m, k), dtype=np.int64)
    for e in range(1, k):
        gaps[:, e] = sample_dist(elems[e].gap, m, rng)
    rel = np.cumsum(gaps + np.r_[0, widths[:-1]][None, :], axis=1)
    total = rel[:, -1] + widths[-1]
    if cfg.order == "random":
        # mirror the chain: the same gaps between neighbours, the motifs in reverse order
        flip = rng.random(m) < 0.5
        rel = np.where(flip[:, None], total[:, None] - (rel + widths[None, :]), rel)
    pos = cfg.position
    if pos.mode == "fixed":
        base = np.full(m, pos.start, dtype=np.int64)
    elif pos.mode == "uniform":
        base = (rng.random(m) * (length - total + 1)).astype(np.int64)
    else:
        base = (length - total) // 2 + rng.integers(-pos.jitter, pos.jitter + 1, size=m)
    base = np.clip(base, 0, length - total)
    for e, el in enumerate(elems):
        starts = base + rel[:, e]
        planted.add(rows, starts, el.motif, _strands(el.orientation, m, rng), el.functional,
                    el.role or f"{cfg.name}:{el.motif}")
        _mark(occupied, rows, starts, widths[e])


def _place_scattered(resolved, el, rows, occupied, planted, rng, length, functional, role):
    width = resolved.motifs[el.motif].width
    counts = sample_dist(el.count, rows.size, rng)
    for slot in range(int(counts.max(initial=0))):
        todo = rows[counts > slot]
        placed_rows, placed_starts = [], []
        for _ in range(_MAX_PLACEMENT_TRIES):
            if todo.size == 0:
                break
            starts = rng.integers(0, length - width + 1, size=todo.size)
            csum = np.concatenate([np.zeros((todo.size, 1), np.int64),
                                   np.cumsum(occupied[todo], axis=1)], axis=1)
            idx = np.arange(todo.size)
            free = (csum[idx, starts + width] - csum[idx, starts]) == 0
            ok_rows, ok_starts = todo[free], starts[free]
            _mark(occupied, ok_rows, ok_starts, width)
            placed_rows.append(ok_rows)
            placed_starts.append(ok_starts)
            todo = todo[~free]
        if todo.size:
            raise RuntimeError(
                f"could not place motif {el.motif!r} without overlap in {todo.size} sequences; "
                "lower its count or the number of motifs per sequence"
            )
        r, st = np.concatenate(placed_rows), np.concatenate(placed_starts)
        planted.add(r, st, el.motif, _strands(el.orientation, r.size, rng), functional, role)


def _mark(occupied, rows, starts, width):
    cols = starts[:, None] + np.arange(width)[None, :]
    occupied[rows[:, None], cols] = True


def _plant_bases(resolved, codes, seq, start, motif, strand, bg_freqs, rng) -> np.ndarray:
    """Write PFM samples into ``codes``; return each instance's log-odds score on its strand."""
    scores = np.zeros(seq.size, dtype=np.float64)
    for name, mot in resolved.motifs.items():
        for sign in ("+", "-"):
            sel = np.flatnonzero((motif == name) & (strand == sign))
            if sel.size == 0:
                continue
            pfm = mot.pfm if sign == "+" else mot.pfm[::-1, ::-1]
            cum = np.cumsum(pfm, axis=0)  # (4, W)
            u = rng.random((sel.size, mot.width))
            bases = np.minimum((u[:, :, None] >= cum.T[None, :, :]).sum(axis=2), 3).astype(np.int8)
            cols = start[sel, None] + np.arange(mot.width)[None, :]
            codes[seq[sel, None], cols] = bases
            lo = mot.log_odds(bg_freqs)
            lo = lo if sign == "+" else lo[::-1, ::-1]
            scores[sel] = lo[bases, np.arange(mot.width)[None, :]].sum(axis=1)
    return scores


def _reject_background_matches(resolved, rejection: Rejection, codes, occupied, seq, start, motif,
                               background, rng):
    """Redraw background bases until no window matches a spec motif except the planted ones.

    Unlike the paper's simulator this also checks windows that straddle a planted
    motif and the background next to it; a window lying wholly inside planted bases
    cannot be redrawn and is left (it is a property of the motifs, not an accident); the
    same holds for a window whose bases are mostly planted: only windows with at least half
    their bases in the background count as background matches.
    """
    n, length = codes.shape
    if rejection.pvalue is not None:
        rules = [MatchRule(m, "pvalue", rejection.pvalue, background.freqs) for m in resolved.motifs.values()]
    else:
        rules = [MatchRule(m, "mean_prob", rejection.mean_prob, background.freqs)
                 for m in resolved.motifs.values()]
    own = {}
    for name in resolved.motifs:
        mask = np.zeros((n, length), dtype=bool)
        sel = motif == name
        mask[seq[sel], start[sel]] = True
        own[name] = mask
    free_csum_all = np.concatenate([np.zeros((n, 1), np.int64), np.cumsum(~occupied, axis=1)], axis=1)
    rows = np.arange(n)
    for _ in range(rejection.max_rounds):
        kc = kmer_codes(codes[rows])
        redraw = np.zeros((rows.size, length), dtype=bool)
        for rule in rules:
            w = rule.width
            hits = rule.hits(kc, length)
            if hits.shape[1] == 0:
                continue
            hits &= ~own[rule.motif.name][rows, : hits.shape[1]]
            fc = free_csum_all[rows]
            # a window mostly made of planted bases is the motifs' own likeness (TRE inside CRE),
            # not an accident of the background, and redrawing its few free bases cannot remove it
            n_free = fc[:, w:w + hits.shape[1]] - fc[:, : hits.shape[1]]
            hits &= 2 * n_free >= w
            if not hits.any():
                continue
            for k in range(w):
                redraw[:, k:k + hits.shape[1]] |= hits
        redraw &= ~occupied[rows]
        dirty = redraw.any(axis=1)
        if not dirty.any():
            return
        rows, redraw = rows[dirty], redraw[dirty]
        sub = codes[rows]
        background.redraw(sub, redraw, rng)
        codes[rows] = sub
    raise RuntimeError(
        f"background match rejection did not converge in {rejection.max_rounds} rounds "
        f"({rows.size} sequences still hold accidental matches); the threshold is too loose for "
        "these motifs (lower reject_matches.pvalue or raise mean_prob)"
    )


def _splits(n: int, valid: float, test: float, rng) -> dict:
    perm = rng.permutation(n)
    n_test, n_valid = int(round(test * n)), int(round(valid * n))
    return {
        "test": np.sort(perm[:n_test]),
        "valid": np.sort(perm[n_test:n_test + n_valid]),
        "train": np.sort(perm[n_test + n_valid:]),
    }
