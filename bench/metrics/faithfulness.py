"""Faithfulness of attribution maps to the model they explain: deletion curves and the
model-parameter randomization check.

Both ask the model, not the planted truth. A map is *faithful* when the positions it ranks first
are the ones the model's output depends on: replacing them by a reference should move the logit
sooner than replacing positions in a random order (deletion, after Petsiuk et al. 2018's RISE
deletion metric, as genomics benchmarks use it). A map is *model-dependent* when the attributions
of the same sequences under a randomly re-initialized copy of the model differ from those of the
trained model (Adebayo et al. 2018's sanity check): a method whose map survives randomization
shows the input, not what the model learned.

The functions take plain callables and arrays: ``predict(x) -> (M,)`` logits for ``(M, 4, L)``
float32 inputs, and ``attribute(model, x, references) -> (N, 4, L)`` maps.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .attributions import _check_maps, _contribution, _nanmean, track_agreement


def composition_reference(x) -> np.ndarray:
    """Each sequence's base composition at every position: a soft reference ``(N, 4, L)``.

    Parameters
    ----------
    x : (N, 4, L) one-hot

    Returns
    -------
    (N, 4, L) float32: column ``i`` of row ``n`` is the mean of ``x[n]`` over positions.
    """
    x = _check_maps(x, "x")
    return np.broadcast_to(x.mean(axis=2, keepdims=True), x.shape).astype(np.float32).copy()


def _deletion_steps(length: int, max_fraction: float, n_steps: int) -> np.ndarray:
    if not 0 < max_fraction <= 1:
        raise ValueError(f"max_fraction must be in (0, 1], got {max_fraction!r}")
    if isinstance(n_steps, bool) or int(n_steps) != n_steps or n_steps < 1:
        raise ValueError(f"n_steps must be a positive integer, got {n_steps!r}")
    ks = np.unique(np.round(np.linspace(0.0, max_fraction * length, int(n_steps) + 1)).astype(np.int64))
    if ks.size < 2:
        raise ValueError(f"max_fraction {max_fraction} of {length} positions deletes no position")
    return ks


def deletion_curves(predict, x, attr, reference, max_fraction: float = 0.2, n_steps: int = 20,
                    seed: int = 0) -> dict:
    """The logit as the top-attributed positions are replaced by a reference, and in a random order.

    Positions are ordered by the actual contribution ``Σ_c attr · x`` (signed, largest first: the
    positions the map says raise the logit most go first; ties in a seeded random order). At each
    step the first ``k`` positions of the order take the reference's columns and the model is
    asked again; the same is done for one seeded random order per sequence.

    Parameters
    ----------
    predict : callable
        ``(M, 4, L)`` float32 → ``(M,)`` logits.
    x : (N, 4, L) one-hot
    attr : (N, 4, L) float
        Attribution map (actual or hypothetical contributions).
    reference : (N, 4, L) float
        What a deleted position becomes: a dinucleotide shuffle of the sequence (hard bases) or
        :func:`composition_reference` (soft).
    max_fraction : float in (0, 1]
        The curve stops when this share of the positions is replaced (the planted content of a
        sequence is a few percent of it; past it both orders have removed the motifs).
    n_steps : int
        Equal steps in the number of replaced positions, ``k = round(j · max_fraction · L / n_steps)``
        (duplicates dropped).
    seed : int
        Tie-break and random order; same inputs and seed, same curves.

    Returns
    -------
    dict: ``k`` (S,) positions replaced at each step, ``fraction`` (S,) = k / L, ``logits`` (N, S)
    in attribution order, ``logits_random`` (N, S) in random order (column 0 of both is f(x)),
    ``reference_logit`` (N,) = f(reference).
    """
    x = _check_maps(x, "x")
    attr = _check_maps(attr, "attr")
    reference = _check_maps(reference, "reference")
    if attr.shape != x.shape or reference.shape != x.shape:
        raise ValueError(f"attr and reference must have the shape of x {x.shape}, got {attr.shape} and "
                         f"{reference.shape}")
    n, _, length = x.shape
    ks = _deletion_steps(length, max_fraction, n_steps)
    rng = np.random.default_rng(seed)
    score = _contribution(attr, x)
    tiebreak = rng.random(score.shape)
    orders = {"logits": np.lexsort((tiebreak, -score), axis=-1),
              "logits_random": np.argsort(rng.random(score.shape), axis=1, kind="stable")}
    xf = x.astype(np.float32)
    ref = reference.astype(np.float32)

    def ask(batch):
        out = np.asarray(predict(np.ascontiguousarray(batch, dtype=np.float32)), dtype=np.float64).reshape(-1)
        if out.shape != (len(batch),):
            raise ValueError(f"predict must return one logit per sequence ({len(batch)}), got shape {out.shape}")
        return out

    f_x = ask(xf) if n else np.zeros(0)
    out = {"k": ks, "fraction": ks / length, "reference_logit": ask(ref) if n else np.zeros(0)}
    for key, order in orders.items():
        rank = np.empty_like(order)
        np.put_along_axis(rank, order, np.arange(length)[None, :].repeat(n, axis=0), axis=1)
        logits = np.empty((n, ks.size))
        logits[:, 0] = f_x
        for j, k in enumerate(ks[1:], start=1):
            deleted = (rank < k)[:, None, :]
            logits[:, j] = ask(np.where(deleted, ref, xf)) if n else 0.0
        out[key] = logits
    return out


def deletion_components(curves: dict) -> pd.DataFrame:
    """Per-sequence areas of :func:`deletion_curves`, as ratio-of-sums components.

    ``area`` (``area_random``) is the mean over ``[0, max_fraction]`` (trapezoid rule) of
    ``f(x_k) − f(reference)`` in attribution (random) order; ``scale`` = ``f(x) − f(reference)``.
    The normalized area over a set of sequences is Σ area / Σ scale: 1 when nothing moves the
    logit before the end, 0 when the first positions already take it to the reference's.

    Returns
    -------
    DataFrame with ``seq``, ``area``, ``area_random``, ``scale``.
    """
    frac = np.asarray(curves["fraction"], dtype=np.float64)
    base = np.asarray(curves["reference_logit"], dtype=np.float64)[:, None]
    width = frac[-1] - frac[0]

    def area(logits):
        return np.trapezoid(np.asarray(logits) - base, frac, axis=1) / width

    n = base.shape[0]
    return pd.DataFrame({"seq": np.arange(n, dtype=np.int64), "area": area(curves["logits"]),
                         "area_random": area(curves["logits_random"]),
                         "scale": np.asarray(curves["logits"])[:, 0] - base[:, 0]})


def deletion_scores(curves: dict, rows=None) -> dict[str, float]:
    """Normalized deletion areas of :func:`deletion_curves`, attribution order against random order.

    Parameters
    ----------
    curves : the output of :func:`deletion_curves`
    rows : boolean (N,) or index array or None
        The sequences to pool (e.g. those carrying a functional planted instance, where the logit
        has something to lose); None: all.

    Returns
    -------
    dict: ``deletion_auc`` (Σ area / Σ scale, lower is more faithful; below 0 where deleting takes
    the logit under the reference's, above 1 where it first rises), ``deletion_auc_random``,
    ``deletion_gain`` (random − attribution order: positive when the map finds what the model
    uses sooner than chance), ``deletion_scale`` (mean f(x) − f(reference)), ``n_sequences``.
    The areas are NaN when Σ scale <= 0 (the reference scores as high as the sequences: nothing to
    delete).
    """
    parts = deletion_components(curves)
    if rows is not None:
        parts = parts.iloc[np.flatnonzero(np.asarray(rows)) if np.asarray(rows).dtype == bool
                           else np.asarray(rows, dtype=np.int64)]
    scale = float(parts["scale"].sum())
    ok = len(parts) > 0 and scale > 0
    auc = float(parts["area"].sum()) / scale if ok else np.nan
    auc_random = float(parts["area_random"].sum()) / scale if ok else np.nan
    return {"deletion_auc": auc, "deletion_auc_random": auc_random,
            "deletion_gain": auc_random - auc if ok else np.nan,
            "deletion_scale": float(parts["scale"].mean()) if len(parts) else np.nan,
            "n_sequences": float(len(parts))}


# --------------------------------------------------------------------------- randomization


def randomized_copy(model, seed: int = 0):
    """A copy of a torch model with every parameter re-drawn (the model itself is untouched).

    Modules with ``reset_parameters`` (convolutions, linear layers, norms) are re-initialized by it
    (PyTorch's own initializers; BatchNorm's running statistics reset too); a parameter held by a
    module without one (a learned vector of a custom module) becomes a random permutation of its
    own entries. Seeded (by a seed derived from ``seed``), and the global torch random state is left
    as it was.

    Parameters
    ----------
    model : torch.nn.Module
    seed : int

    Returns
    -------
    torch.nn.Module in the mode of ``model``.
    """
    import copy

    import torch

    clone = copy.deepcopy(model)
    covered = set()
    # a seed derived from ``seed``, not ``seed`` itself: a model built right after
    # ``torch.manual_seed(seed)`` would otherwise be re-drawn into itself
    derived = int(np.random.SeedSequence([int(seed), 0x5A17]).generate_state(1)[0])
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(derived)
        for module in clone.modules():
            reset = getattr(module, "reset_parameters", None)
            if callable(reset):
                reset()
                covered.update(id(p) for p in module.parameters(recurse=False))
        g = torch.Generator().manual_seed(derived + 1)
        for p in clone.parameters():
            if id(p) not in covered and p.numel() > 1:
                flat = p.data.reshape(-1)
                p.data.copy_(flat[torch.randperm(flat.numel(), generator=g)].reshape(p.shape))
    return clone


def randomization_check(model, x, attribute, seed: int = 0, references=None, attr=None) -> dict[str, float]:
    """Attributions of a trained model against those of its randomly re-initialized copy.

    Parameters
    ----------
    model : torch.nn.Module
    x : (N, 4, L) one-hot
    attribute : callable
        ``attribute(model, x, references) -> (N, 4, L)`` map (actual or hypothetical
        contributions; multiplied by ``x`` before comparing).
    seed : int
        Seed of the re-initialization.
    references : optional, passed to both calls (the same references for both models).
    attr : (N, 4, L) or None
        The trained model's map when already computed (``attribute`` is then called once).

    Returns
    -------
    dict: ``spearman``, ``spearman_abs`` (means over sequences of the rank correlation of the two
    contribution tracks, signed and absolute), ``cosine`` (mean per-sequence cosine), and
    ``n_sequences`` (scored: both tracks non-constant). Near 0 passes the check; near 1 means the
    map does not depend on what the model learned.
    """
    x = _check_maps(x, "x")
    trained = _check_maps(attribute(model, x, references) if attr is None else attr, "attr")
    random = _check_maps(attribute(randomized_copy(model, seed), x, references), "randomized attr")
    if trained.shape != x.shape or random.shape != x.shape:
        raise ValueError(f"attribute must return maps of the shape of x {x.shape}")
    per = track_agreement(_contribution(trained, x), _contribution(random, x))
    return {"spearman": _nanmean(per["spearman"]), "spearman_abs": _nanmean(per["spearman_abs"]),
            "cosine": _nanmean(per["cosine"]), "n_sequences": float(np.isfinite(per["spearman"]).sum())}
