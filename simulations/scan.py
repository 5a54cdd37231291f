"""Fast motif scanning of integer-coded sequences, used to reject accidental motif matches.

Two match rules:

- ``pvalue``: the log-odds score of a window reaches the score whose probability
  under the background is ``pvalue`` (computed exactly on a 0.01-bit grid, as FIMO does);
- ``mean_prob``: the mean PFM probability of the observed bases reaches a threshold
  (the ARGMINN paper's simulator, which used 0.9).
"""

from __future__ import annotations

import numpy as np

from .motifs import Motif

_CHUNK = 4  # windows are scored four bases at a time through a 256-entry table


def kmer_codes(codes: np.ndarray, k: int = _CHUNK) -> np.ndarray:
    """Codes of the ``k``-mer starting at each position, ``(N, L)`` (zero-padded at the right end)."""
    codes = np.asarray(codes)
    n, length = codes.shape
    padded = np.zeros((n, length + k - 1), dtype=np.int32)
    padded[:, :length] = codes
    out = np.zeros((n, length), dtype=np.int32)
    for j in range(k):
        out = out * 4 + padded[:, j:j + length]
    return out


def window_scores(kcodes: np.ndarray, matrix: np.ndarray, length: int) -> np.ndarray:
    """Sum of ``matrix[base, column]`` over every window, ``(N, L - W + 1)`` float32.

    Parameters
    ----------
    kcodes : numpy.ndarray, shape (N, L)
        Output of :func:`kmer_codes` on the sequences.
    matrix : numpy.ndarray, shape (4, W)
        Per-base, per-column scores (log-odds, or probabilities for the mean rule).
    length : int
        The true sequence length ``L`` (``kcodes`` may be padded).
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    width = matrix.shape[1]
    n_windows = length - width + 1
    if n_windows <= 0:
        return np.zeros((kcodes.shape[0], 0), dtype=np.float32)
    pad = (-width) % _CHUNK
    m = np.concatenate([matrix, np.zeros((4, pad))], axis=1)
    scores = np.zeros((kcodes.shape[0], n_windows), dtype=np.float32)
    idx = np.arange(4 ** _CHUNK)
    digits = [(idx // 4 ** (_CHUNK - 1 - j)) % 4 for j in range(_CHUNK)]
    for c in range(0, m.shape[1], _CHUNK):
        table = sum(m[digits[j], c + j] for j in range(_CHUNK)).astype(np.float32)
        scores += table[kcodes[:, c:c + n_windows]]
    return scores


def score_distribution(logodds: np.ndarray, background, resolution: float = 0.01):
    """Exact null distribution of a log-odds matrix's window score on a grid.

    Returns ``(scores, probabilities)`` with scores ascending.
    """
    lo = np.asarray(logodds, dtype=np.float64)
    bg = np.asarray(background, dtype=np.float64)
    ints = np.rint(lo / resolution).astype(np.int64)
    dist, lowest = column_sum_distribution(ints, np.repeat(bg[:, None], ints.shape[1], axis=1))
    scores = (np.arange(dist.size) + lowest) * resolution
    return scores, dist


def column_sum_distribution(ints: np.ndarray, probs: np.ndarray) -> tuple[np.ndarray, int]:
    """Exact distribution of the sum of one integer score per column.

    Parameters
    ----------
    ints : (4, W) int
        The score of each base in each column.
    probs : (4, W) float
        The probability of each base in each column (a background repeated, or a PFM's own columns).

    Returns
    -------
    mass : (S,) float
        Probability of each sum, from the lowest reachable one up.
    lowest : int
        The lowest sum.
    """
    offset = ints.min(axis=0)
    dist = np.array([1.0])
    for col in range(ints.shape[1]):
        shifted = ints[:, col] - offset[col]
        step = np.zeros(shifted.max() + 1)
        np.add.at(step, shifted, probs[:, col])
        dist = np.convolve(dist, step)
    return dist, int(offset.sum())


def pvalue_threshold(logodds: np.ndarray, background, pvalue: float) -> float:
    """The smallest score whose upper-tail probability under the background is ≤ ``pvalue``."""
    scores, probs = score_distribution(logodds, background)
    tail = np.cumsum(probs[::-1])[::-1]  # P(S >= scores[i])
    ok = np.flatnonzero(tail <= pvalue)
    if ok.size == 0:
        return float("inf")
    return float(scores[ok[0]] - 1e-6)


class MatchRule:
    """Scores windows of one motif on both strands and says which reach the match threshold.

    Parameters
    ----------
    motif : Motif
    rule : {"pvalue", "mean_prob"}
    threshold : float
        The p-value (``pvalue``) or the mean probability (``mean_prob``).
    background : array-like, shape (4,)
        Base frequencies for log-odds and p-values.
    """

    def __init__(self, motif: Motif, rule: str, threshold: float, background):
        self.motif = motif
        self.width = motif.width
        if rule == "pvalue":
            lo = motif.log_odds(background)
            self.matrices = (lo, lo[::-1, ::-1])
            self.cutoff = pvalue_threshold(lo, background, threshold)
        elif rule == "mean_prob":
            p = motif.pfm
            self.matrices = (p, p[::-1, ::-1])
            self.cutoff = threshold * motif.width - 1e-6
        else:
            raise ValueError(f"rule must be 'pvalue' or 'mean_prob', got {rule!r}")

    def hits(self, kcodes: np.ndarray, length: int) -> np.ndarray:
        """Boolean ``(N, L - W + 1)``: a window matches on either strand."""
        fwd = window_scores(kcodes, self.matrices[0], length) >= self.cutoff
        fwd |= window_scores(kcodes, self.matrices[1], length) >= self.cutoff
        return fwd
