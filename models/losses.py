"""ARGMINN's loss terms (notes §3): prediction, filter overlap, L1, attention entropy.

All per-example terms return shape (N,); the trainer weights and averages them.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from . import overlap_kernels


def _check_acts_weights(acts: torch.Tensor, weight: torch.Tensor) -> None:
    if acts.ndim != 3:
        raise ValueError(f"acts must have shape (N, F, L'), got {tuple(acts.shape)}")
    if weight.ndim != 3:
        raise ValueError(f"weight must have shape (F, C, W), got {tuple(weight.shape)}")
    if acts.shape[1] != weight.shape[0]:
        raise ValueError(f"acts has {acts.shape[1]} filters but weight has {weight.shape[0]}")


def overlap_masses(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-shift overlap masses of each filter (notes §3.2).

    Parameters
    ----------
    weight : torch.Tensor, shape (F, C, W)
        First-layer conv weights.

    Returns
    -------
    A : torch.Tensor, shape (F, 2W-1)
        Mass of the stationary filter inside the overlap at shift ``δ = s - (W-1)``.
    B : torch.Tensor, shape (F, 2W-1)
        Mass of the moving filter inside the overlap, ``B(δ) = A(-δ)``.
    M : torch.Tensor, scalar
        Total |weight| (bias excluded).
    """
    m = weight.abs().sum(dim=1)  # (F, W) per-position L1 mass
    W = m.shape[1]
    prefix = F.pad(torch.cumsum(m, dim=1), (1, 0))  # (F, W+1): prefix[:, j] = sum_{k<j} m[:, k]
    deltas = torch.arange(-(W - 1), W, device=weight.device)
    lo = deltas.clamp(min=0)  # first stationary position inside the overlap
    hi = W - (-deltas).clamp(min=0)  # one past the last
    A = prefix[:, hi] - prefix[:, lo]
    B = A.flip(1)
    return A, B, m.sum()


class _TopFilterPenalty(torch.autograd.Function):
    """``Σ_{f,j} acts[n,f,j] · G[n,f,j]`` with ``G = K ⋆ onehot(top)``, per example, by dense convolutions.

    ``G[n, f, j]`` is what one unit of activation of filter f at j pays against the top filters
    around it, so ``G`` is also the gradient w.r.t. the activations: the backward needs no
    convolution for them, only the kernel's weight gradient (a correlation of the one-hot top map
    with the activations). The form for GPUs; on CPU :class:`_TopFilterPenaltyLoops` is faster.
    """

    @staticmethod
    def forward(ctx, acts, kernel):
        pad = (kernel.shape[2] - 1) // 2
        # max(dim).indices returns the first maximal index, as the reference's argmax does for ties
        # (incl. all-zero positions → filter 0), and is ~10x faster than argmax over the filter axis on CPU
        top = acts.max(dim=1).indices  # (N, L')
        onehot = torch.zeros_like(acts).scatter_(1, top[:, None, :], 1.0)
        # conv1d with the kernel's roles swapped and flipped == conv_transpose1d, ~7x faster on CPU
        penalty_map = F.conv1d(onehot, kernel.transpose(0, 1).flip(2), padding=pad)
        ctx.save_for_backward(acts, onehot, penalty_map)
        ctx.kernel_shape, ctx.pad = kernel.shape, pad
        return (acts * penalty_map).sum(dim=(1, 2))

    @staticmethod
    def backward(ctx, grad_out):
        acts, onehot, penalty_map = ctx.saved_tensors
        scale = grad_out[:, None, None]
        grad_acts = penalty_map * scale if ctx.needs_input_grad[0] else None
        grad_kernel = None
        if ctx.needs_input_grad[1]:
            grad_kernel = torch.nn.grad.conv1d_weight(acts, ctx.kernel_shape, onehot * scale, padding=ctx.pad)
        return grad_acts, grad_kernel


class _TopFilterPenaltyLoops(torch.autograd.Function):
    """What :class:`_TopFilterPenalty` computes, by the compiled loops of :mod:`models.overlap_kernels`
    (CPU only; they visit each position's top filter only, not all F of the one-hot map)."""

    @staticmethod
    def forward(ctx, acts, kernel):
        acts_c = acts.detach().contiguous()
        N, _, Lp = acts_c.shape
        penalty = torch.empty_like(acts_c)
        top = torch.empty(N, Lp, dtype=torch.int32)
        kernel_gsf = kernel.detach().permute(0, 2, 1).contiguous()  # (F_top, 2W-1, F_other)
        total = overlap_kernels.top_filter_penalty(acts_c.numpy(), penalty.numpy(), top.numpy(), kernel_gsf.numpy())
        ctx.save_for_backward(acts_c, penalty, top)
        ctx.width = kernel.shape[2]
        return torch.from_numpy(total).to(acts.dtype)

    @staticmethod
    def backward(ctx, grad_out):
        acts_c, penalty, top = ctx.saved_tensors
        grad_acts = penalty * grad_out[:, None, None] if ctx.needs_input_grad[0] else None
        grad_kernel = None
        if ctx.needs_input_grad[1]:
            scale = grad_out.detach().to(torch.float64).contiguous().numpy()
            grad_gsf = overlap_kernels.kernel_gradient(acts_c.numpy(), top.numpy(), scale, ctx.width)
            grad_kernel = torch.from_numpy(grad_gsf).permute(0, 2, 1).to(grad_out.dtype)
        return grad_acts, grad_kernel


def overlap_loss(acts: torch.Tensor, weight: torch.Tensor, implementation: str = "auto") -> torch.Tensor:
    """Filter-overlap loss, exact form of notes §3.2, vectorized.

    ``L(n) = 1/(L'·F·(2W-1)) Σ_i Σ_{f≠a(i)} Σ_δ [0≤i+δ<L'] r[i+δ,f] A_{a(i)}(δ) B_f(δ) / M`` with
    ``a(i) = argmax_f r[i,f]`` (filter 0 where nothing fires).

    With the kernel ``K[g, f, s] = A_g(δ) B_f(δ) · [f ≠ g]``, the sum over (f, δ) at a position whose
    top filter is g is the cross-correlation ``(acts ⋆ K)[g, i]`` (zero padding gives the range
    indicator). Summed over positions, that equals ``Σ acts · G`` with ``G`` the transposed
    convolution of the one-hot top-filter map with K, which is computed once and is also the
    activations' gradient. Only K's entries at each position's top filter are ever used, so the CPU
    form adds one (2W-1)·F block of K per position (N·L'·F·(2W-1) additions forward, the same again
    for K's gradient); the GPU form runs dense convolutions of the one-hot map, F times that work.

    Parameters
    ----------
    acts : torch.Tensor, shape (N, F, L')
        Post-ReLU, pre-BN activations r.
    weight : torch.Tensor, shape (F, C, W)
        The conv weights the activations came from (gradients flow through A, B and M).
    implementation : {"auto", "loops", "convolution"}
        "loops": the compiled CPU loops (float32 or float64); "convolution": dense convolutions (any
        device and dtype); "auto": loops where they apply, convolutions otherwise. Both give the same
        values up to rounding.

    Returns
    -------
    torch.Tensor, shape (N,)
    """
    _check_acts_weights(acts, weight)
    if implementation not in ("auto", "loops", "convolution"):
        raise ValueError(f"implementation must be 'auto', 'loops' or 'convolution', got {implementation!r}")
    loops_take = acts.device.type == "cpu" and acts.dtype in (torch.float32, torch.float64)
    if implementation == "auto":
        implementation = "loops" if loops_take else "convolution"
    if implementation == "loops" and not loops_take:
        raise ValueError(f"implementation='loops' takes float32 or float64 CPU tensors, got {acts.dtype} acts on "
                         f"{acts.device}")
    N, Fn, Lp = acts.shape
    W = weight.shape[2]
    A, B, M = overlap_masses(weight)
    off_diag = 1.0 - torch.eye(Fn, dtype=acts.dtype, device=acts.device)
    kernel = (A[:, None, :] * B[None, :, :] * off_diag[:, :, None]).to(acts.dtype)  # (F_top, F_other, 2W-1)
    penalty = _TopFilterPenaltyLoops if implementation == "loops" else _TopFilterPenalty
    total = penalty.apply(acts, kernel)
    return total / (Lp * Fn * (2 * W - 1)) / M


def overlap_loss_bruteforce(acts: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Literal loop form of :func:`overlap_loss` (slow; for tests). Shapes as there."""
    _check_acts_weights(acts, weight)
    acts = acts.double()
    m = weight.double().abs().sum(dim=1)
    N, Fn, Lp = acts.shape
    W = m.shape[1]
    M = m.sum()

    def mass(f, delta):
        return m[f, max(0, delta): W - max(0, -delta)].sum()

    out = torch.zeros(N, dtype=torch.float64)
    for n in range(N):
        for i in range(Lp):
            a = int(torch.argmax(acts[n, :, i]))
            for f in range(Fn):
                if f == a:
                    continue
                for delta in range(-(W - 1), W):
                    if 0 <= i + delta < Lp:
                        out[n] += acts[n, f, i + delta] * mass(a, delta) * mass(f, -delta) / M
    return out / (Lp * Fn * (2 * W - 1))


def l1_loss(weight: torch.Tensor, n: int) -> torch.Tensor:
    """Sum of |conv weights| (bias excluded), tiled to shape (n,) as in the reference."""
    return weight.abs().sum().expand(n)


def attention_entropy_loss(attention: torch.Tensor) -> torch.Tensor:
    """Attention entropy in bits, notes §3.4.

    Parameters
    ----------
    attention : torch.Tensor, shape (N, AL, NH, L')
        Softmax weights over positions.

    Returns
    -------
    torch.Tensor, shape (N,)
        Mean over layers and heads of ``-Σ_t α log2(α + 1e-6)`` minus the reference's constant
        ``c = -log2(1/L' + 1e-6)/L'`` (kept for parity; it does not affect gradients).
    """
    if attention.ndim != 4:
        raise ValueError(f"attention must have shape (N, AL, NH, L'), got {tuple(attention.shape)}")
    Lp = attention.shape[-1]
    ent = -(attention * torch.log2(attention + 1e-6)).sum(dim=-1)
    c = -math.log2(1.0 / Lp + 1e-6) / Lp
    return ent.mean(dim=(1, 2)) - c


def prediction_loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-example BCE on logits (numerically safer than the reference's BCE on probabilities).

    Parameters
    ----------
    logits, y : torch.Tensor, shape (N, 1) or (N,)

    Returns
    -------
    torch.Tensor, shape (N,)
    """
    return F.binary_cross_entropy_with_logits(logits.reshape(-1), y.reshape(-1).to(logits.dtype),
                                              reduction="none")
