"""Axes-level plots: each draws one thing on ``ax`` (a new figure's when None) and returns the Axes.

The report's figure builders (:mod:`bench.report_figures`, :mod:`bench.report`) lay these out and save
them; a notebook user calls them on data of their own. Inputs are plain arrays: PFMs ``(4, W)``,
contribution tracks ``(4, L)`` (one-hot layout, A C G T rows), instance tables with ``start``, ``end``
and ``motif`` columns.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

BASES = list("ACGT")


def _axes(ax, figsize=(6, 1.6)):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize)
    return ax


def _matrix(a, name: str) -> np.ndarray:
    a = np.asarray(a, dtype=float)
    if a.ndim != 2 or a.shape[0] != 4:
        raise ValueError(f"{name} must have shape (4, W) (rows A, C, G, T), got shape {a.shape}")
    return a


def plot_logo(pfm, ax=None, title: str | None = None):
    """A motif's logo in bits (logomaker).

    Parameters
    ----------
    pfm : (4, W) array
        Base probabilities per column (each column sums to 1).
    ax : matplotlib Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib Axes
    """
    import logomaker

    ax = _axes(ax, (max(1.5, 0.3 * np.shape(pfm)[1]), 1.2))
    df = pd.DataFrame(_matrix(pfm, "pfm").T, columns=BASES)
    info = logomaker.transform_matrix(df, from_type="probability", to_type="information")
    logomaker.Logo(info, ax=ax, color_scheme="classic")
    ax.set_ylim(0, 2)
    if title is not None:
        ax.set_title(title, fontsize=7)
    ax.set_xticks([])
    ax.tick_params(axis="y", labelsize=6)
    return ax


def plot_track(contributions, ax=None, start: int = 0, planted=None, title: str | None = None, colors=None):
    """A contribution track as a logo: each base drawn at its height (negative below the axis).

    Parameters
    ----------
    contributions : (4, L) array
        Per-base contributions of the window shown (actual ones: non-zero at the observed base only).
    ax : matplotlib Axes, optional
    start : int
        The window's first position in the sequence (the x axis reads sequence positions).
    planted : DataFrame, optional
        Planted instances (``start``, ``end``, ``motif``; optional ``functional``) in sequence
        coordinates, shaded and named where they fall in the window.
    title : str, optional
    colors : dict, optional
        motif name -> colour of its shading.

    Returns
    -------
    matplotlib Axes
    """
    import logomaker

    c = _matrix(contributions, "contributions")
    ax = _axes(ax, (max(4.0, 0.06 * c.shape[1]), 1.4))
    df = pd.DataFrame(c.T, columns=BASES, index=np.arange(start, start + c.shape[1]))
    logomaker.Logo(df, ax=ax, color_scheme="classic", flip_below=False)
    ax.axhline(0, color="0.5", lw=0.4)
    if planted is not None and len(planted):
        palette = colors or {}
        for k, p in enumerate(planted.itertuples()):
            lo, hi = max(p.start, start), min(p.end, start + c.shape[1])
            if lo >= hi:
                continue
            functional = bool(getattr(p, "functional", True))
            ax.axvspan(lo - 0.5, hi - 0.5, color=palette.get(p.motif, "0.85"), alpha=0.3 if functional else 0.12, lw=0)
            ax.text((lo + hi) / 2, 1.02 + 0.12 * (k % 2), str(p.motif) + ("" if functional else " (decoy)"),
                    ha="center", fontsize=6, transform=ax.get_xaxis_transform())
    ax.set_xlim(start - 0.5, start + c.shape[1] - 0.5)
    ax.tick_params(labelsize=6)
    if title is not None:
        ax.set_title(title, fontsize=7, loc="left", pad=14)
    return ax


def plot_calls(calls_by_route: dict, length: int, ax=None, planted=None, colors=None, title: str | None = None):
    """Each route's instance calls on one sequence, one row per route, over the planted instances.

    Parameters
    ----------
    calls_by_route : dict
        Route label -> DataFrame of its calls on this sequence (``start``, ``end``, ``motif``); an empty
        frame draws an empty row (the route called nothing here).
    length : int
        The sequence's length.
    ax : matplotlib Axes, optional
    planted : DataFrame, optional
        The sequence's planted instances (``start``, ``end``, ``motif``; optional ``functional``), shaded.
    colors : dict, optional
        motif name -> colour of its shading.
    title : str, optional

    Returns
    -------
    matplotlib Axes
    """
    routes = list(calls_by_route)
    ax = _axes(ax, (8, 0.3 * len(routes) + 0.8))
    palette = colors or {}
    if planted is not None:
        for p in planted.itertuples():
            functional = bool(getattr(p, "functional", True))
            ax.axvspan(p.start, p.end, color=palette.get(p.motif, "0.85"), alpha=0.35 if functional else 0.15, lw=0)
    for i, route in enumerate(routes):
        calls = calls_by_route[route]
        for c in (calls.itertuples() if calls is not None else ()):
            ax.plot([c.start, c.end], [i, i], color="black", lw=4, solid_capstyle="butt")
    ax.set_yticks(range(len(routes)))
    ax.set_yticklabels(routes, fontsize=6)
    ax.set_ylim(len(routes) - 0.5, -0.5)
    ax.set_xlim(0, length)
    ax.tick_params(axis="x", labelsize=6)
    if title is not None:
        ax.set_title(title, fontsize=7, loc="left")
    return ax


def plot_training_curves(runs: list, ax=None, title: str | None = None):
    """Validation auROC per epoch of one model's seeds, with the events of each run marked.

    Parameters
    ----------
    runs : list of (label, history, health)
        ``history``: a DataFrame with ``epoch``, ``valid_auroc`` and optional ``best`` (the epoch kept) and
        ``weight_overlap`` (the regularizer's weight; epochs with it on are shaded); ``health``: a dict
        with optional ``ramp_start`` (marked ``|``) and ``collapse_epochs`` (marked ``x``), as
        :func:`models.health.training_health` returns it.
    ax : matplotlib Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib Axes
    """
    ax = _axes(ax, (3.6, 3.2))
    on = [h.epoch[h.get("weight_overlap", pd.Series(0.0, index=h.index)) > 0] for _, h, _ in runs]
    start = min((r.min() for r in on if len(r)), default=None)
    if start is not None:
        ax.axvspan(start - 0.5, max(h.epoch.max() for _, h, _ in runs) + 0.5, color="0.92", lw=0,
                   label="overlap loss on")
    for label, hist, health in runs:
        line, = ax.plot(hist.epoch, hist.valid_auroc, lw=1.1, label=label)
        best = hist[hist.get("best", pd.Series(False, index=hist.index)).astype(bool)]
        if len(best):
            last = best.iloc[-1]
            ax.plot([last.epoch], [last.valid_auroc], "o", ms=4, color=line.get_color())
        by_epoch = hist.set_index("epoch")["valid_auroc"]
        if health.get("ramp_start") is not None and health["ramp_start"] in by_epoch.index:
            ax.plot([health["ramp_start"]], [by_epoch[health["ramp_start"]]], "|", ms=9, mew=1.5,
                    color=line.get_color())
        for e in health.get("collapse_epochs", []):
            if e in by_epoch.index:
                ax.plot([e], [by_epoch[e]], "x", ms=6, mew=1.5, color=line.get_color())
    if title is not None:
        ax.set_title(title, fontsize=9)
    ax.set_xlabel("epoch", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=6, loc="lower right")
    return ax


def plot_attention_example(example: dict, length: int, ax=None, colors=None, layer_colors=None):
    """ARGMINN's read-out on one sequence: each attention layer's pooled attention along the sequence, the
    0.9 call threshold, the planted instances (shaded, named) and the instances ARGMINN calls (bars).

    Parameters
    ----------
    example : dict
        ``seq``, ``class``, ``planted`` (dicts with ``start, end, motif, strand, functional``),
        ``attention`` (one list per layer: the max over heads at each scanner window) and ``calls``
        (dicts with ``start, end, motif``), as :func:`bench.registry.argminn_examples` records them.
    length : int
        The sequence's length.
    ax : matplotlib Axes, optional
    colors : dict, optional
        motif name -> colour of its shading.
    layer_colors : list, optional
        One colour per attention layer.

    Returns
    -------
    matplotlib Axes
    """
    ax = _axes(ax, (12, 2.4))
    colors = colors or {}
    layer_colors = layer_colors or [None] * len(example["attention"])
    for k, p in enumerate(example["planted"]):
        ax.axvspan(p["start"], p["end"], color=colors.get(p["motif"], "0.85"), alpha=0.35 if p["functional"] else 0.15,
                   lw=0)
        # alternate label heights: planted pairs sit a few bases apart
        ax.text((p["start"] + p["end"]) / 2, 1.03 + 0.1 * (k % 2), f"{p['motif']}{p['strand']}"
                + ("" if p["functional"] else " (decoy)"), ha="center", fontsize=7, transform=ax.get_xaxis_transform())
    for layer, curve in enumerate(example["attention"]):
        ax.plot(np.arange(len(curve)), curve, color=layer_colors[layer], lw=0.9, label=f"layer {layer + 1}")
    ax.axhline(0.9, color="0.4", ls="--", lw=0.7)
    for c in example["calls"]:
        ax.plot([c["start"], c["end"]], [-0.08, -0.08], color="black", lw=3, solid_capstyle="butt")
        ax.text(c["start"], -0.2, c["motif"].replace("filter_", "f"), fontsize=6)
    ax.set_xlim(0, length)
    ax.set_ylim(-0.28, 1.02)
    ax.set_ylabel("attention (max over heads)", fontsize=7)
    ax.set_title(f"test sequence {example['seq']} (class {example['class']}); black bars: ARGMINN instance calls",
                 fontsize=8, loc="left", pad=20)
    return ax
