"""Background sequence models: i.i.d. bases and first-order Markov chains.

Sequences are handled as integer codes ``(N, L)`` with ``0..3 = A, C, G, T`` until
the very end, where they become one-hot ``(N, 4, L)``.
"""

from __future__ import annotations

import numpy as np

from .grammar import Background


def base_frequencies(gc: float) -> np.ndarray:
    """A, C, G, T frequencies for a GC content in [0, 1]."""
    if not 0 <= gc <= 1:
        raise ValueError(f"gc must be within [0, 1], got {gc}")
    return np.array([(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2])


def markov_transitions(freqs, cpg_ratio: float = 1.0) -> np.ndarray:
    """A first-order transition matrix whose CpG frequency is ``cpg_ratio`` times its expectation.

    Starts from independence (``P[a, b] ∝ f_a f_b``), scales the C→G dinucleotide by
    ``cpg_ratio`` (about 0.25 in the human genome), and renormalizes rows.
    """
    f = np.asarray(freqs, dtype=float)
    d = np.outer(f, f)
    d[1, 2] *= cpg_ratio
    rows = d.sum(axis=1, keepdims=True)
    rows[rows == 0] = 1
    t = d / rows
    t[f == 0] = f  # a base that never occurs still needs a valid row
    return t


def stationary(transitions: np.ndarray) -> np.ndarray:
    """The stationary distribution of a 4x4 transition matrix."""
    vals, vecs = np.linalg.eig(np.asarray(transitions, dtype=float).T)
    v = np.real(vecs[:, np.argmin(np.abs(vals - 1))])
    v = np.abs(v)
    return v / v.sum()


class BackgroundModel:
    """Draws background bases under an i.i.d. or first-order Markov model.

    Parameters
    ----------
    spec : Background
        The validated background block of a spec.
    """

    def __init__(self, spec: Background):
        self.spec = spec
        if spec.freqs is not None:
            freqs = np.asarray(spec.freqs, dtype=float)
        elif spec.gc is not None:
            freqs = base_frequencies(spec.gc)
        else:
            freqs = np.full(4, 0.25)
        if spec.model == "iid":
            self.transitions = None
            self.freqs = freqs
        else:
            if spec.transitions is not None:
                self.transitions = np.asarray(spec.transitions, dtype=float)
            else:
                ratio = 1.0 if spec.cpg_ratio is None else spec.cpg_ratio
                self.transitions = markov_transitions(freqs, ratio)
            self.freqs = stationary(self.transitions)
        self._cum_freqs = np.cumsum(self.freqs)
        if self.transitions is not None:
            self._cum_trans = np.cumsum(self.transitions, axis=1)

    def sample(self, n: int, length: int, rng: np.random.Generator) -> np.ndarray:
        """Codes ``(n, length)`` int8."""
        if self.transitions is None:
            return _draw(self._cum_freqs, rng.random((n, length)))
        codes = np.empty((n, length), dtype=np.int8)
        u = rng.random((n, length))
        codes[:, 0] = _draw(self._cum_freqs, u[:, 0])
        for j in range(1, length):
            codes[:, j] = _draw_rows(self._cum_trans, codes[:, j - 1], u[:, j])
        return codes

    def redraw(self, codes: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> None:
        """Replace ``codes[mask]`` in place with fresh background bases.

        Under a Markov model each redrawn base is conditioned on its left neighbour
        (the right neighbour is not conditioned on, a small, documented distortion).
        """
        if self.transitions is None:
            codes[mask] = _draw(self._cum_freqs, rng.random(int(mask.sum())))
            return
        cols = np.flatnonzero(mask.any(axis=0))
        for j in cols:
            rows = np.flatnonzero(mask[:, j])
            u = rng.random(rows.size)
            if j == 0:
                codes[rows, 0] = _draw(self._cum_freqs, u)
            else:
                codes[rows, j] = _draw_rows(self._cum_trans, codes[rows, j - 1], u)


def _draw(cum: np.ndarray, u: np.ndarray) -> np.ndarray:
    # cum[-1] may round below 1; clip so u near 1 still maps to T
    return np.minimum(np.searchsorted(cum, u, side="right"), 3).astype(np.int8)


def _draw_rows(cum_rows: np.ndarray, prev: np.ndarray, u: np.ndarray) -> np.ndarray:
    c = cum_rows[prev.astype(np.int64)]
    return np.minimum((u[:, None] >= c).sum(axis=1), 3).astype(np.int8)


def dinucleotide_frequencies(codes: np.ndarray) -> np.ndarray:
    """Observed 4x4 dinucleotide frequencies (rows: first base) of codes ``(N, L)``."""
    codes = np.asarray(codes, dtype=np.int64)
    pairs = codes[:, :-1] * 4 + codes[:, 1:]
    counts = np.bincount(pairs.ravel(), minlength=16).reshape(4, 4)
    return counts / counts.sum()
