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
