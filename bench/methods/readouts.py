"""Read-outs that need no attributions: first-layer filters of any CNN, and ARGMINN's mechanism.

Both defer to ``models.readout`` (imported where used, so importing ``bench.methods`` stays light), so
that a CNN's filters are read with exactly ARGMINN's activation rule (argminn-notes.md §4.1).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from simulations import Motif, empty_instances

ACTIVATION_FRACTION = 0.5  # tau_f = 0.5 * max activation of filter f, ARGMINN's rule


def scanner_activations(model, x: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """First-layer activations ``(N, F, L')`` in eval mode, batched."""
    from .attribution import eval_mode, model_device

    device = model_device(model)
    out = []
    with eval_mode(model), torch.no_grad():
        for i in range(0, len(x), batch_size):
            a = model.scanner_activations(torch.from_numpy(np.ascontiguousarray(x[i:i + batch_size])).to(device))
            out.append(torch.as_tensor(a).detach().float().cpu().numpy())
    return np.concatenate(out)


def _as_motifs(result, prefix: str = "filter") -> list[Motif]:
    """models.readout results -> Motifs named ``filter_<f>``: accepts a list of Motifs, a dict
    ``f -> (4, W)`` or an array ``(F, 4, W)``; all-zero or empty PFMs are skipped."""
    if isinstance(result, dict):
        items = list(result.items())
    elif isinstance(result, np.ndarray) or torch.is_tensor(result):
        items = list(enumerate(np.asarray(result)))
    else:
        items = [(getattr(m, "name", i), m) for i, m in enumerate(result)]
    motifs = []
    for key, m in items:
        if isinstance(m, Motif):
            if not m.source.get("empty"):  # a filter that never fires has nothing to read
                motifs.append(m)
            continue
        pfm = np.asarray(m, dtype=np.float64)
        sums = pfm.sum(axis=0) if pfm.size else np.zeros(0)
        if pfm.size == 0 or np.any(sums <= 0):
            continue
        name = key if isinstance(key, str) else f"{prefix}_{key}"
        motifs.append(Motif(name, pfm / sums, {"route": prefix}))
    return motifs


def activation_calls(acts: np.ndarray, width: int, names: dict, floor: np.ndarray | None = None) -> pd.DataFrame:
    """One call per run of consecutive above-threshold positions of a filter, at the run's peak.

    A filter fires at every offset around a match, so each run is one instance (start = the conv
    position, i.e. the window's first base, end = start + width). The threshold of filter f is
    ``ACTIVATION_FRACTION`` × its maximum activation, raised to ``floor[f]`` where given.

    Parameters
    ----------
    acts : numpy.ndarray (N, F, L')
    width : int
        The filter width.
    names : dict filter index -> motif name
        Only these filters are called.
    floor : numpy.ndarray (F,), optional
        Per-filter minimum threshold (e.g. a background quantile, see :func:`background_floor`).
    """
    rows = []
    for f, name in names.items():
        a = acts[:, f]
        tau = ACTIVATION_FRACTION * a.max()
        if floor is not None:
            tau = max(tau, float(floor[f]))
        if tau <= 0:
            continue
        above = a > tau
        for s in np.flatnonzero(above.any(axis=1)):
            row = above[s]
            edges = np.diff(np.concatenate([[0], row.astype(np.int8), [0]]))
            for r0, r1 in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)):
                t = r0 + int(np.argmax(a[s, r0:r1]))
                rows.append((int(s), t, t + width, "+", name, float(a[s, t])))
    if not rows:
        return empty_instances()
    return pd.DataFrame(rows, columns=["seq", "start", "end", "strand", "motif", "score"])


def background_floor(model, x: np.ndarray, fpr: float, seed: int = 0) -> np.ndarray:
    """Per-filter (1 - ``fpr``) quantile of the activations on dinucleotide shuffles of ``x``.

    Why: half a filter's maximum is a low bar for a baseline CNN's diffuse filters (the trained
    paper CNN fired ~190 times per 500-bp sequence under it alone); a background quantile gives
    each call a stated false-positive rate per position, as the calibrated ARGMINN read-out does.
    """
    from tangermeme.ersatz import dinucleotide_shuffle

    shuffled = dinucleotide_shuffle(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)), n=1,
                                    random_state=int(seed))[:, 0].numpy()
    bg = scanner_activations(model, shuffled)  # (N, F, L')
    return np.quantile(bg.transpose(1, 0, 2).reshape(bg.shape[1], -1), 1.0 - fpr, axis=1)


def filter_readout(model, x: np.ndarray, params: dict, seed: int = 0):
    """First-layer filters -> PFMs (ARGMINN's activation rule) and above-threshold windows -> instances.

    Returns ``(motifs, instances, details)``.
    """
    from models import readout

    width = int(model.scanner_width)
    acts = scanner_activations(model, x)
    details = {"n_filters": int(acts.shape[1]), "filter_width": width, "readout_impl": "models.readout"}
    motifs = _as_motifs(readout.activation_pfms(model, x))
    if params.get("quality"):
        motifs = list(readout.trim_and_filter(motifs, params["quality"]))
    keep = {m.name for m in motifs}
    names = {f: f"filter_{f}" for f in range(acts.shape[1]) if f"filter_{f}" in keep}
    floor = None
    if params.get("background_fpr"):
        floor = background_floor(model, x, float(params["background_fpr"]), seed)
        details["background_floor"] = [float(v) for v in floor]
    instances = activation_calls(acts, width, names, floor)
    details["n_motifs"] = len(motifs)
    return motifs, instances, details


def argminn_readout(model, x: np.ndarray, params: dict):
    """ARGMINN's mechanistic read-out (models.readout): filter motifs and attention-based instances.

    Returns ``(motifs, instances, details)``.
    """
    from models import readout

    from .attribution import eval_mode

    with eval_mode(model), torch.no_grad():
        motifs = _as_motifs(readout.argminn_motifs(model, x))
        instances = readout.argminn_instances(model, x, motifs=motifs)
    instances = pd.DataFrame(instances)
    names = {m.name for m in motifs}
    n_all = len(instances)
    if len(instances):
        instances = instances[instances["motif"].astype(str).isin(names)]
    return motifs, instances, {"readout_impl": "models.readout", "n_motifs": len(motifs),
                               "instances_dropped_unknown_motif": int(n_all - len(instances))}
