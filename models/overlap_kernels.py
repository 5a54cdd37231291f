"""Compiled CPU loops for the filter-overlap loss (numba).

Why loops: at every position the top filter is one filter, so the loss's convolution with the
(F, F, 2W-1) kernel touches one (2W-1)·F block of it per position, and the kernel's gradient
likewise. Dense convolutions of the one-hot top-filter map (the form :mod:`models.losses` keeps for
GPUs) do F times that work; these loops do only the nonzero part.

Both functions run single-threaded with the GIL released (splitting a batch over two threads was no
faster on 2 cores); numba compiles them on first use and caches them on disk. Indices are unsigned on
purpose: numba then drops its negative-index wraparound check, which is what lets LLVM vectorize the
inner loops (the block addition runs 9x faster here). Shapes are checked once per call, since the
loops index without bounds checks.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import uint64 as _u


@numba.njit(nogil=True, cache=True, boundscheck=False)
def top_filter_penalty(acts, penalty, top, kernel):
    """Penalty map and per-example total of the overlap loss (before normalization).

    Parameters
    ----------
    acts : np.ndarray, shape (N, F, L), C-contiguous, float32 or float64
        Post-ReLU activations.
    penalty : np.ndarray, shape (N, F, L), written
        ``penalty[n, f, j] = Σ_s kernel[top[n, j - δ_s], s, f]`` over in-range positions; it is also
        the total's gradient with respect to ``acts``.
    top : np.ndarray, shape (N, L), int32, written
        First filter with the largest activation at each position (filter 0 where none fires).
    kernel : np.ndarray, shape (F, S, F), C-contiguous, dtype of ``acts``
        ``kernel[g, s, f]``: what one unit of activation of filter f at shift ``s - (S-1)/2`` from
        a position whose top filter is g pays (S = 2W-1, odd).

    Returns
    -------
    np.ndarray, shape (N,), float64
        ``Σ_{f, j} acts[n, f, j] · penalty[n, f, j]``.
    """
    N, F, L = acts.shape
    S = kernel.shape[1]
    if penalty.shape != acts.shape or top.shape != (N, L) or kernel.shape != (F, S, F) or S % 2 == 0:
        raise ValueError("top_filter_penalty: penalty must be (N, F, L) like acts, top (N, L), "
                         "kernel (F, S, F), S odd")
    pad = (S - 1) // 2
    Fu, Lu, SF = _u(F), _u(L), _u(S * F)
    # the penalty map of one example, position-major and padded, so that the block a position adds
    # (all shifts × all filters) is one contiguous run of S·F values
    rows = np.empty((L + 2 * pad) * F, dtype=acts.dtype)
    best = np.empty(L, dtype=acts.dtype)
    winner = np.empty(L, dtype=np.uint64)
    flat_kernel = kernel.reshape(-1)
    total = np.empty(N, dtype=np.float64)
    for n in range(N):
        a = acts[n].reshape(-1)
        for i in range(Lu):
            best[i] = a[i]
            winner[i] = 0
        for f in range(_u(1), Fu):
            off = f * Lu
            for i in range(Lu):
                v = a[off + i]
                higher = v > best[i]  # strict: ties keep the first filter, as argmax does
                best[i] = v if higher else best[i]
                winner[i] = f if higher else winner[i]
        rows[:] = 0.0
        for i in range(Lu):
            src = winner[i] * SF
            dst = i * Fu  # padded row i + s holds position i + s - pad
            for t in range(SF):
                rows[dst + t] += flat_kernel[src + t]
        out = penalty[n].reshape(-1)
        first = _u(pad) * Fu
        example_total = 0.0
        for f in range(Fu):
            off = f * Lu
            acc = 0.0
            for j in range(Lu):
                v = rows[first + j * Fu + f]
                out[off + j] = v
                acc += v * a[off + j]
            example_total += acc
        total[n] = example_total
        for i in range(Lu):
            top[n, i] = winner[i]
    return total


@numba.njit(nogil=True, cache=True, boundscheck=False)
def kernel_gradient(acts, top, scale, width):
    """Gradient of ``Σ_n scale[n] · total[n]`` with respect to the kernel of :func:`top_filter_penalty`.

    Parameters
    ----------
    acts : np.ndarray, shape (N, F, L), C-contiguous
    top : np.ndarray, shape (N, L), int32
        As written by :func:`top_filter_penalty`.
    scale : np.ndarray, shape (N,), float64
        Upstream gradient of each example's total.
    width : int
        S, the number of shifts (2W-1).

    Returns
    -------
    np.ndarray, shape (F, S, F), float64
        ``grad[g, s, f] = Σ_n scale[n] Σ_{i: top[n,i]=g} acts[n, f, i + δ_s]`` (zero outside the
        sequence). Each example is summed in the activations' dtype, examples in float64.
    """
    N, F, L = acts.shape
    S = width
    if top.shape != (N, L) or scale.shape != (N,) or S % 2 == 0 or S < 1:
        raise ValueError("kernel_gradient: top must be (N, L) and scale (N,) for acts (N, F, L), width odd")
    pad = (S - 1) // 2
    Fu, Lu, SF = _u(F), _u(L), _u(S * F)
    rows = np.zeros((L + 2 * pad) * F, dtype=acts.dtype)  # position-major, padded, like the penalty
    example_grad = np.empty(F * S * F, dtype=acts.dtype)
    grad = np.zeros(F * S * F, dtype=np.float64)
    first = _u(pad) * Fu
    for n in range(N):
        a = acts[n].reshape(-1)
        for f in range(Fu):
            off = f * Lu
            for i in range(Lu):
                rows[first + i * Fu + f] = a[off + i]
        example_grad[:] = 0.0
        for i in range(Lu):
            dst = _u(top[n, i]) * SF
            src = i * Fu
            for t in range(SF):
                example_grad[dst + t] += rows[src + t]
        sc = scale[n]
        for t in range(_u(F * S * F)):
            grad[t] += sc * example_grad[t]
    return grad.reshape(F, S, F)
