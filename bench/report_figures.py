"""Report figures read from cached stage outputs: planted motifs beside discovered ones, as logos."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

MAX_MOTIFS_SHOWN = 6


def _logo(ax, pfm, title):
    import logomaker

    df = pd.DataFrame(np.asarray(pfm).T, columns=list("ACGT"))
    info = logomaker.transform_matrix(df, from_type="probability", to_type="information")
    logomaker.Logo(info, ax=ax, color_scheme="classic")
    ax.set_ylim(0, 2)
    ax.set_title(title, fontsize=7)
    ax.set_xticks([])
    ax.tick_params(axis="y", labelsize=6)


def motif_logo_figures(df: pd.DataFrame, cache_root: Path, out: Path, title: str) -> dict:
    """One figure per simulation: planted motifs, then each route's discovered motifs (first seed).

    Discovered motifs are ordered by their best similarity to a planted motif and
    trimmed by information content, so what is shown is what the metrics scored.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from simulations import read_meme

    from .metrics import aligned_pearson, trim_by_ic

    entries = []
    for meta_path in sorted((cache_root / "interpretation").glob("*/meta.json")):
        meta = json.loads(meta_path.read_text())
        labels = meta.get("labels")
        motifs_file = meta_path.parent / "interpretation" / "motifs.meme"
        if labels and motifs_file.exists() and motifs_file.stat().st_size > 0:
            entries.append((labels, motifs_file))
    figures = {}
    for sim in sorted(df.simulation.unique()):
        mine = [(lab, f) for lab, f in entries if lab["simulation"] == sim]
        if not mine:
            continue
        seed = min(lab["seed"] for lab, _ in mine)
        mine = sorted([(lab, f) for lab, f in mine if lab["seed"] == seed],
                      key=lambda e: (e[0]["model"], e[0]["method"]))
        truth = _truth_motifs(cache_root, sim, df)
        rows = [("planted", [(m.name, m.pfm) for m in truth])]
        for lab, f in mine:
            try:
                found = list(read_meme(f).values())
            except ValueError:
                found = []
            scored = []
            for m in found:
                pfm = trim_by_ic(m.pfm)
                sim_best = max((aligned_pearson(pfm, t.pfm) for t in truth), default=0.0)
                scored.append((sim_best, m.name, pfm))
            if not scored:  # attribution-only routes discover no motifs
                continue
            scored.sort(key=lambda s: -s[0])
            rows.append((f"{lab['model']} · {lab['method']}",
                         [(f"{name} (sim {s:.2f})", pfm) for s, name, pfm in scored[:MAX_MOTIFS_SHOWN]]))
        ncol = max(1, max(len(r[1]) for r in rows))
        fig, axes = plt.subplots(len(rows), ncol, figsize=(2.1 * ncol + 1.6, 1.05 * len(rows) + 0.6), squeeze=False)
        for i, (route_name, motifs) in enumerate(rows):
            axes[i, 0].annotate(route_name, xy=(-0.35, 0.5), xycoords="axes fraction", ha="right", va="center",
                                fontsize=7)
            for j in range(ncol):
                ax = axes[i, j]
                if j < len(motifs) and np.asarray(motifs[j][1]).size:
                    _logo(ax, motifs[j][1], motifs[j][0])
                else:
                    ax.axis("off")
        fig.suptitle(f"{title} / {sim} (seed {seed}): planted motifs and what each route discovered", fontsize=9)
        fig.tight_layout(rect=(0.12, 0, 1, 0.96))
        path = out / f"logos_{sim}.png"
        fig.savefig(path, dpi=100)
        fig.savefig(path.with_suffix(".pdf"))
        plt.close(fig)
        figures[f"Motif logos: {sim}"] = path
    return figures


def _truth_motifs(cache_root: Path, sim: str, df: pd.DataFrame) -> list:
    from simulations.dataset import SimulatedDataset

    for meta_path in sorted((cache_root / "dataset").glob("*/meta.json")):
        ds_dir = meta_path.parent / "dataset"
        meta = json.loads(meta_path.read_text())
        if meta.get("simulation", {}).get("spec", {}).get("name") == sim or meta.get("label") == sim:
            ds = SimulatedDataset.load(ds_dir)
            names = sorted(set(ds.instances.loc[ds.instances.functional, "motif"]))
            return [ds.motifs[n] for n in names]
    return []
