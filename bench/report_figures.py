"""Report figures and tables about the trained models, read from what the run wrote: the results'
``record/*`` rows (training curves, seed selection, ceilings, shortfall, ARGMINN's read-out examples) and,
for the logos, the cached interpretations' motifs. Nothing here runs a model."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

MAX_MOTIFS_SHOWN = 6
# the positive control's motifs are the planted row again and the negative control's are random:
# as logos they add drawing time (~0.25 s a logo) and nothing to read
CONTROL_METHODS = {"positive_control", "negative_control"}


def _logo(ax, pfm, title):
    from .plots import plot_logo

    plot_logo(pfm, ax=ax, title=title)


def discovered_logo_panels(found, truth) -> list:
    """A route's discovered motifs as logo panels ``[(title, trimmed pfm), ...]``, at most
    ``MAX_MOTIFS_SHOWN``: trimmed by information content as the metrics score them; those that pass
    the quality rule first, by their best similarity to a planted motif, then those it drops, marked
    so. A one- or two-column pattern can correlate near 1 with some column of a planted motif, but
    the metrics never score it."""
    from simulations.quality import passes_quality

    from .metrics import aligned_pearson, trim_by_ic

    scored = []
    for m in found:
        pfm = trim_by_ic(m.pfm)
        if pfm.size == 0:  # nothing above the information cut: nothing to draw
            continue
        best = max((aligned_pearson(pfm, t.pfm) for t in truth), default=0.0)
        scored.append((passes_quality(m.pfm), best, m.name, pfm))
    scored.sort(key=lambda s: (not s[0], -s[1]))
    return [(f"{name} (sim {s:.2f}{'' if ok else ', fails quality'})", pfm) for ok, s, name, pfm in scored[:MAX_MOTIFS_SHOWN]]


def motif_logo_figures(df: pd.DataFrame, cache_root: Path, out: Path, title: str) -> dict:
    """One figure per simulation: planted motifs, then each route's discovered motifs (first seed).

    Each route's row is :func:`discovered_logo_panels`.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from simulations import read_meme


    entries = []
    for lab, keys in stage_keys(df, "runtime_s/interpret"):
        motifs_file = cache_root / "interpretation" / keys["interpretation_key"] / "interpretation" / "motifs.meme"
        if motifs_file.exists() and motifs_file.stat().st_size > 0:
            entries.append((dict(lab, dataset_key=keys.get("dataset_key")), motifs_file))
    figures = {}
    for sim in sorted(df.simulation.unique()):
        mine = [(lab, f) for lab, f in entries if lab["simulation"] == sim]
        if not mine:
            continue
        seed = min(lab["seed"] for lab, _ in mine)
        mine = sorted([(lab, f) for lab, f in mine if lab["seed"] == seed],
                      key=lambda e: (e[0]["model"], e[0]["method"]))
        truth = _truth_motifs(cache_root / "dataset" / mine[0][0]["dataset_key"] / "dataset")
        rows = [("planted", [(m.name, m.pfm) for m in truth])]
        for lab, f in mine:
            if lab["method"] in CONTROL_METHODS:
                continue
            try:
                found = list(read_meme(f).values())
            except ValueError:
                found = []
            shown = discovered_logo_panels(found, truth)
            if not shown:  # attribution-only routes discover no motifs
                continue
            rows.append((f"{lab['model']} · {lab['method']}", shown))
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
        # fixed margins: tight_layout over dozens of logo axes costs more than drawing them
        fig.subplots_adjust(left=0.16, right=0.99, bottom=0.03, top=1 - 0.7 / fig.get_figheight(),
                            wspace=0.25, hspace=0.9)
        path = _save(fig, out / f"logos_{sim}.png")
        figures[f"Motif logos: {sim}"] = path
    return figures


def fit_margins(fig, axes, bottom: float = 0.0, top: float = 1.0, pad: float = 0.08) -> None:
    """Lay out a grid of axes so that their tick labels and titles fit, as ``tight_layout`` would.

    ``tight_layout`` measures every artist of every axes, thousands of scatter points included
    (about 0.12 s a figure here, a third of drawing it). Only the axes' tick labels and titles reach
    outside them, so only those are measured here. The axes start below the suptitle, if any, and
    ``bottom`` and ``top`` (figure fractions) keep bands free, e.g. for a legend.

    Parameters
    ----------
    fig : matplotlib Figure
    axes : (nrow, ncol) array of Axes
        The grid, as ``plt.subplots(..., squeeze=False)`` returns it; axes switched off are ignored.
    """
    from matplotlib.transforms import Bbox

    renderer = fig.canvas.get_renderer()
    width, height = fig.get_size_inches()
    nrow, ncol = np.shape(axes)
    suptitle = getattr(fig, "_suptitle", None)
    if suptitle is not None and suptitle.get_text():  # the axes start below it
        top = min(top, suptitle.get_window_extent(renderer).y0 / (fig.dpi * height) - pad / height)
    # how far each axes' labels and title reach beyond it, in inches: left, right, below, above
    reach = np.zeros((nrow, ncol, 4))
    for (i, j), ax in np.ndenumerate(np.asarray(axes, dtype=object)):
        if not ax.axison:
            continue
        parts = [ax.xaxis.get_tightbbox(renderer), ax.yaxis.get_tightbbox(renderer)]
        if ax.title.get_text():
            parts.append(ax.title.get_window_extent(renderer))
        box = Bbox.union([b for b in parts if b is not None and b.width > 0])
        own = ax.get_window_extent(renderer)
        reach[i, j] = np.maximum(0, [own.x0 - box.x0, box.x1 - own.x1, own.y0 - box.y0, box.y1 - own.y1]) / fig.dpi
    left = reach[:, 0, 0].max() + pad
    right = reach[:, -1, 1].max() + pad
    below = reach[-1, :, 2].max() + pad
    above = reach[0, :, 3].max() + pad
    gap_w = max((reach[:, c, 1].max() + reach[:, c + 1, 0].max() for c in range(ncol - 1)), default=0) + pad
    gap_h = max((reach[r, :, 2].max() + reach[r + 1, :, 3].max() for r in range(nrow - 1)), default=0) + pad
    cell_w = max((width - left - right - (ncol - 1) * gap_w) / ncol, 0.1)
    cell_h = max((height * (top - bottom) - below - above - (nrow - 1) * gap_h) / nrow, 0.1)
    fig.subplots_adjust(left=left / width, right=1 - right / width, bottom=bottom + below / height,
                        top=top - above / height, wspace=gap_w / cell_w, hspace=gap_h / cell_h)


def _save(fig, path: Path) -> Path:
    """Write ``fig`` as PNG (100 dpi) and PDF beside it, close it, and return the PNG's path."""
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=100)
    fig.savefig(path.with_suffix(".pdf"))
    plt.close(fig)
    return path


def stage_keys(df: pd.DataFrame, metric: str) -> list:
    """``(labels, keys)`` of each ok row of ``metric`` whose detail names the cached stage outputs.

    Labels are the row's simulation, model, seed and method; keys hold ``model_key``,
    ``interpretation_key`` and ``dataset_key`` as the runner recorded them.
    """
    out = []
    for r in df[(df.metric == metric) & (df.status == "ok")].itertuples():
        try:
            keys = json.loads(r.detail) if r.detail else {}
        except (TypeError, ValueError):
            continue
        if isinstance(keys, dict) and keys:
            out.append(({"simulation": r.simulation, "model": r.model, "seed": int(r.seed), "method": r.method},
                        keys))
    return out


def _truth_motifs(ds_dir: Path) -> list:
    from simulations.dataset import SimulatedDataset

    ds = SimulatedDataset.load(ds_dir)
    names = sorted(set(ds.instances.loc[ds.instances.functional, "motif"]))
    return [ds.motifs[n] for n in names]


def _records(df: pd.DataFrame, metric: str) -> dict:
    """``(simulation, model, seed) -> record`` of the run's ``record/...`` rows (the runner writes them:
    :func:`bench.runner._record_rows`); results written before the records existed give none."""
    rows = df[(df.metric == metric) & df.detail.astype(bool)]
    return {(r.simulation, r.model, int(r.seed)): json.loads(r.detail) for r in rows.itertuples()}


def argminn_example_figures(df: pd.DataFrame, out: Path, title: str) -> dict:
    """ARGMINN's single-pass read-out on example test sequences, one figure per simulation, from the
    run's ``record/argminn_examples`` (the ARGMINN of the smallest seed).

    For each example: the pooled attention (max over heads) of every layer along the sequence,
    the reference's 0.9 call threshold, the planted motif instances (shaded, named) and the
    instances ARGMINN calls (ticks, named by filter).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    from .plots import plot_attention_example

    chosen = {}
    for (sim, model, seed), rec in sorted(_records(df, "record/argminn_examples").items(), key=lambda e: e[0][2]):
        if model == "argminn" and sim not in chosen and rec.get("examples"):
            chosen[sim] = rec
    figures = {}
    for sim, rec in sorted(chosen.items()):
        examples = rec["examples"]
        colors = _motif_colors(rec["motifs"])
        n_layers = len(examples[0]["attention"])
        layer_colors = sns.color_palette("rocket", n_layers)
        fig, axes = plt.subplots(len(examples), 1, figsize=(12, 2.4 * len(examples) + 0.6), squeeze=False)
        for ax, ex in zip(axes[:, 0], examples):
            plot_attention_example(ex, rec["length"], ax=ax, colors=colors, layer_colors=layer_colors)
        axes[-1, 0].set_xlabel("position (bp; attention at the first base of each scanner window)")
        axes[0, 0].legend(fontsize=7, loc="upper right", ncol=n_layers)
        fig.suptitle(f"{title} / {sim}: ARGMINN attention and instance calls vs planted motifs (shaded)",
                     fontsize=10)
        # tight_layout here: the left-aligned titles and the motif names above each axes must fit too
        fig.tight_layout(rect=(0, 0, 1, 0.97))
        path = _save(fig, out / f"argminn_examples_{sim}.png")
        figures[f"ARGMINN read-out on examples: {sim}"] = path
    return figures


def training_histories(df: pd.DataFrame) -> dict:
    """``(simulation, model, seed) -> (history, test metrics)`` of every trained model of the run, from its
    ``record/training_history`` row and its ``prediction/*`` rows.

    The history has one row per epoch (``epoch``, ``valid_auroc``, ``best`` marks the epoch kept,
    ``weight_overlap``); a model that kept no validation curve is left out.
    """
    tests = {}
    for r in df[(df.status.isin(["ok", "not_learned"])) & df.metric.str.startswith("prediction/")].itertuples():
        tests.setdefault((r.simulation, r.model, int(r.seed)), {})[r.metric.split("/", 1)[1]] = r.value
    histories = {}
    for key, curve in _records(df, "record/training_history").items():
        hist = pd.DataFrame(curve)
        if "valid_auroc" in hist and len(hist):
            hist["valid_auroc"] = hist["valid_auroc"].astype(float)
            histories[key] = (hist, tests.get(key, {}))
    return histories


def seed_selection_table(df: pd.DataFrame) -> pd.DataFrame:
    """Per simulation and model, the test auROC of the seed a practitioner would keep.

    Among the seeds, the one whose kept epoch has the best validation auROC is selected (the test
    split plays no part), and its test auROC is set beside the mean over seeds and the paper's number
    (one run per grammar). Returns columns ``simulation, model, n_seeds, mean_test_auroc,
    selected_seed, selected_valid_auroc, selected_test_auroc, paper, difference, verdict``; empty
    when the run recorded no training history.
    """
    from .paper import PAPER, auroc_verdict

    ok = df[(df.status == "ok") & (df.metric == "prediction/auroc")]
    test = ok.groupby(["simulation", "model", "seed"])["value"].mean()
    rows = []
    for (sim, model, seed), (hist, _) in training_histories(df).items():
        kept = hist[hist["best"].astype(bool)] if "best" in hist else hist.iloc[0:0]
        valid = float((kept if len(kept) else hist).iloc[-1]["valid_auroc"])
        if (sim, model, seed) in test.index:
            rows.append({"simulation": sim, "model": model, "seed": seed, "valid": valid,
                         "test": float(test[(sim, model, seed)])})
    columns = ["simulation", "model", "n_seeds", "mean_test_auroc", "selected_seed", "selected_valid_auroc",
               "selected_test_auroc", "paper", "difference", "verdict"]
    if not rows:
        return pd.DataFrame(columns=columns)
    out = []
    for (sim, model), g in pd.DataFrame(rows).groupby(["simulation", "model"], sort=True):
        best = g.loc[g["valid"].idxmax()]
        paper = PAPER.get((sim, "prediction/auroc", model, "(model)"), float("nan"))
        diff = float(best["test"]) - paper
        verdict = "" if np.isnan(diff) else auroc_verdict(diff)
        out.append({"simulation": sim, "model": model, "n_seeds": len(g), "mean_test_auroc": round(g["test"].mean(), 3),
                    "selected_seed": int(best["seed"]), "selected_valid_auroc": round(float(best["valid"]), 3),
                    "selected_test_auroc": round(float(best["test"]), 3), "paper": paper,
                    "difference": round(diff, 3), "verdict": verdict})
    return pd.DataFrame(out, columns=columns)


def simulation_ceilings(df: pd.DataFrame) -> pd.DataFrame:
    """Per simulation, the best auROC its test split allows, beside each model's mean test auROC.

    Two oracles scored each dataset's test split in the run (``record/held_out``): the likelihood
    ratio of the generative model (:func:`bench.metrics.prediction.likelihood_ratio_oracle`: grammar,
    PFMs and background, so weak PFM-sampled sites count) and the planted content alone
    (:func:`bench.metrics.prediction.planted_content_oracle`, fitted on train + valid). Returns one row
    per simulation: ``simulation, n_datasets, ceiling_likelihood_ratio, ceiling_planted_content``, one
    column per model, and ``paper_argminn``; empty when the run recorded none.
    """
    from .paper import PAPER

    per_dataset = {}
    for (sim, _, seed), rec in _records(df, "record/held_out").items():
        per_dataset[(sim, seed)] = rec  # one dataset per (simulation, seed): its models share it
    if not per_dataset:
        return pd.DataFrame()
    ceilings = pd.DataFrame([{"simulation": sim, **rec} for (sim, _), rec in per_dataset.items()])
    ok = df[(df.status == "ok") & (df.metric == "prediction/auroc")]
    model_means = ok.groupby(["simulation", "model"])["value"].mean().unstack("model")
    out = []
    for sim, g in ceilings.groupby("simulation", sort=True):
        row = {"simulation": sim, "n_datasets": len(g),
               "ceiling_likelihood_ratio": round(float(g["ceiling_likelihood_ratio"].mean()), 3),
               "ceiling_planted_content": round(float(pd.to_numeric(g["ceiling_planted_content"]).mean()), 3)}
        for model in model_means.columns:
            value = model_means.loc[sim, model] if sim in model_means.index else float("nan")
            row[model] = round(float(value), 3)
        row["paper_argminn"] = PAPER.get((sim, "prediction/auroc", "argminn", "(model)"), float("nan"))
        out.append(row)
    return pd.DataFrame(out)


def ceiling_shortfall(df: pd.DataFrame, selection: pd.DataFrame | None = None) -> pd.DataFrame:
    """Where each model's seed selected on validation falls short of the likelihood-ratio ceiling.

    From the run's ``record/shortfall`` of that seed (:func:`bench.metrics.shortfall.shortfall_record`):
    on its test split, the model's logits and the likelihood ratio are each split over the positives
    grouped by their weakest planted site. ``gap`` = ceiling − auROC is the sum of the ``gap: <group>``
    columns; the auROC of the model and of the ceiling are also given for the positives whose weakest
    site is in the bottom quarter and in the top half. ``selection`` is :func:`seed_selection_table`'s
    result, computed here when not given. Returns one row per simulation and model.
    """
    selection = seed_selection_table(df) if selection is None else selection
    records = _records(df, "record/shortfall")
    rows = []
    for sel in selection.itertuples():
        rec = records.get((sel.simulation, sel.model, int(sel.selected_seed)))
        if rec:
            rows.append({"simulation": sel.simulation, "model": sel.model, "seed": int(sel.selected_seed), **rec})
    return pd.DataFrame(rows)


def model_tables(df: pd.DataFrame) -> tuple:
    """The seed selection, the simulation ceilings and the shortfall, from the run's records."""
    selection = seed_selection_table(df)
    return selection, simulation_ceilings(df), ceiling_shortfall(df, selection)


def training_curve_figures(df: pd.DataFrame, out: Path, title: str) -> dict:
    """Validation auROC per epoch of every trained model, one figure per simulation.

    One panel per model, one line per seed (the epoch kept by early stopping marked), the
    epochs in which the overlap regularizer is on shaded: whether a model converged, and whether
    it learned before the regularizers ramped up, is read here rather than assumed.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .plots import plot_training_curves

    histories = training_histories(df)
    health = {(r.simulation, r.model, r.seed): json.loads(r.detail or "{}")
              for r in df[df.metric == "training/healthy"].itertuples()}
    figures = {}
    for sim in sorted({k[0] for k in histories}):
        model_names = sorted({k[1] for k in histories if k[0] == sim})
        fig, axes = plt.subplots(1, len(model_names), figsize=(3.6 * len(model_names) + 0.4, 3.2), squeeze=False,
                                 sharey=True)
        for ax, name in zip(axes[0], model_names):
            runs = []
            for seed, (hist, test) in sorted((k[2], v) for k, v in histories.items() if k[0] == sim and k[1] == name):
                h = health.get((sim, name, seed), {})
                status = f", {h['status']}" if h.get("status") and h["status"] != "converged" else ""
                runs.append((f"seed {seed} (test {test.get('auroc', float('nan')):.2f}{status})", hist, h))
            # the run's events (models/health.py): where the regularizer started, where it collapsed
            plot_training_curves(runs, ax=ax, title=name)
        axes[0, 0].set_ylabel("validation auROC", fontsize=8)
        fig.suptitle(f"{title} / {sim}: training curves\n(dot: the epoch kept; |: the regularizer starts; "
                     f"x: a collapse)", fontsize=9)
        fit_margins(fig, axes)
        path = _save(fig, out / f"training_{sim}.png")
        figures[f"Training curves: {sim}"] = path
    return figures


# --------------------------------------------------------------------------- the talk's figures

#: attribution tracks: the window drawn around a sequence's planted instances (bases)
TRACK_WINDOW = 80
#: instance calls: sequences drawn per simulation
N_CALL_SEQUENCES = 3


def _interpreted(df: pd.DataFrame, sim: str, seed: int):
    """``(dataset rows read, dataset key)`` of a (simulation, seed), as the run recorded them; None for
    results written before it recorded them."""
    rows = df[(df.metric == "interpret/n_sequences") & (df.simulation == sim) & (df.seed == seed)]
    for r in rows.itertuples():
        d = json.loads(r.detail or "{}")
        if "index" in d and d.get("dataset_key"):
            return np.asarray(d["index"], dtype=int), d["dataset_key"]
    return None


def _first_seed_interpretations(df: pd.DataFrame, cache_root: Path, sim: str):
    """``(seed, {(model, method label): interpretation folder}, dataset, index)`` for the smallest seed of
    ``sim`` whose interpretations are cached; None when none is."""
    from simulations.dataset import SimulatedDataset

    entries = [(lab, keys) for lab, keys in stage_keys(df, "runtime_s/interpret") if lab["simulation"] == sim]
    for seed in sorted({lab["seed"] for lab, _ in entries}):
        found = _interpreted(df, sim, seed)
        if found is None:
            continue
        index, ds_key = found
        ds_dir = cache_root / "dataset" / ds_key / "dataset"
        folders = {(lab["model"], lab["method"]): cache_root / "interpretation" / keys["interpretation_key"]
                   / "interpretation" for lab, keys in entries if lab["seed"] == seed}
        folders = {k: v for k, v in folders.items() if v.exists()}
        if folders and ds_dir.exists():
            return seed, folders, SimulatedDataset.load(ds_dir), index
    return None


def _first_seeds(df: pd.DataFrame, cache_root: Path):
    """``(simulation, (seed, folders, dataset, index))`` for each simulation with cached interpretations
    (:func:`_first_seed_interpretations`)."""
    for sim in sorted(df.simulation.unique()):
        found = _first_seed_interpretations(df, cache_root, sim)
        if found is not None:
            yield sim, found


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _calls_instances(folder: Path) -> bool:
    """Whether the method behind a cached interpretation declares instance calls (its ``produces``)."""
    from .plugins import find_method

    try:
        name = json.loads((folder / "details.json").read_text())["details"]["method"]
    except (OSError, ValueError, KeyError):
        return False
    method = find_method(name)
    return method is not None and "instances" in method.produces


def _motif_colors(names) -> dict:
    """One colour per motif name (sorted), the same in every figure that shades planted sites."""
    import seaborn as sns

    names = sorted(set(map(str, names)))
    return dict(zip(names, sns.color_palette("Set2", len(names))))


def attribution_track_figures(df: pd.DataFrame, cache_root: Path, out: Path, title: str) -> dict:
    """DeepLiftSHAP and Integrated Gradients on the same sequences, as logos over the planted sites.

    For the smallest seed and each model with both maps: the interpreted sequence whose planted bases
    the two maps sign alike most often, and the one where they differ most (share of a sequence's
    functional planted bases whose contributions have the same sign), each drawn as two tracks (DLS,
    IG) over a window around its planted instances. One figure per simulation.
    """
    from bench.methods import Interpretation

    from .plots import plot_track

    plt = _pyplot()
    figures = {}
    for sim, (seed, folders, ds, index) in _first_seeds(df, cache_root):
        x = ds.x[index].astype(np.float32)
        truth = ds.truth_for(index)
        func = truth[truth.functional.astype(bool)]
        panels = []
        for model in sorted({m for m, _ in folders}):
            dls_dir, ig_dir = folders.get((model, "deeplift_shap")), folders.get((model, "integrated_gradients"))
            if dls_dir is None or ig_dir is None:
                continue
            dls = Interpretation.load(dls_dir).attributions
            ig = Interpretation.load(ig_dir).attributions
            if dls is None or ig is None or func.empty:
                continue
            a, b = (np.asarray(dls, dtype=float) * x).sum(axis=1), (np.asarray(ig, dtype=float) * x).sum(axis=1)
            agree = {}
            for seq, sites in func.groupby("seq"):
                pos = np.unique(np.concatenate([np.arange(s, e) for s, e in zip(sites.start, sites.end)]))
                agree[int(seq)] = float(np.mean(np.sign(a[seq, pos]) == np.sign(b[seq, pos])))
            if not agree:
                continue
            order = sorted(agree, key=lambda k: (agree[k], k))
            for what, seq in (("differ most", order[0]), ("agree most", order[-1])):
                panels.append((model, seq, what, agree[seq], {"DeepLiftSHAP": dls, "IG": ig}))
        if not panels:
            continue
        colors = _motif_colors(ds.instances.motif)
        n_rows = 2 * len(panels)
        fig, axes = plt.subplots(n_rows, 1, figsize=(11, 1.35 * n_rows + 0.7), squeeze=False)
        row_i = 0
        for model, seq, what, share, maps in panels:
            sites = truth[truth.seq == seq]
            lo, hi = int(sites.start.min()), int(sites.end.max())
            mid, half = (lo + hi) // 2, max(TRACK_WINDOW, hi - lo + 10) // 2
            start = int(np.clip(mid - half, 0, max(0, ds.length - 2 * half)))
            end = min(ds.length, start + 2 * half)
            for route, m in maps.items():
                ax = axes[row_i, 0]
                plot_track((np.asarray(m[seq]) * x[seq])[:, start:end], ax=ax, start=start, planted=sites,
                           colors=colors, title=f"{model} · {route} · sequence {int(index[seq])} (signs agree at "
                                                f"{share:.0%} of planted bases: {what})")
                row_i += 1
        axes[-1, 0].set_xlabel("position (bp)", fontsize=7)
        fig.suptitle(f"{title} / {sim} (seed {seed}): DeepLiftSHAP and IG on the same sequences, planted sites shaded",
                     fontsize=9)
        fig.tight_layout(rect=(0, 0, 1, 0.98))
        path = _save(fig, out / f"attribution_tracks_{sim}.png")
        figures[f"DeepLiftSHAP and IG on the same sequences: {sim}"] = path
    return figures


def instance_call_figures(df: pd.DataFrame, cache_root: Path, out: Path, title: str) -> dict:
    """Every instance route's calls on the same sequences, over the planted instances.

    For the smallest seed: the :data:`N_CALL_SEQUENCES` interpreted sequences with the most planted
    instances, one panel each, one row per (model, route) that calls instances. One figure per
    simulation.
    """
    from .plots import plot_calls

    plt = _pyplot()
    figures = {}
    for sim, (seed, folders, ds, index) in _first_seeds(df, cache_root):
        calls = {}
        for (model, method), folder in sorted(folders.items()):
            f = folder / "instances.parquet"
            # routes that declare instance calls only (an attribution route's empty table is no finding)
            if not f.exists() or not _calls_instances(folder):
                continue
            calls[f"{model} · {method}"] = pd.read_parquet(f)
        if not calls:
            continue
        truth = ds.truth_for(index)
        counts = truth.groupby("seq").size().sort_values(ascending=False, kind="stable")
        chosen = [int(s) for s in counts.index[:N_CALL_SEQUENCES]]
        if not chosen:
            continue
        colors = _motif_colors(ds.instances.motif)
        height = 0.22 * len(calls) + 0.9
        fig, axes = plt.subplots(len(chosen), 1, figsize=(11, height * len(chosen) + 0.6), squeeze=False)
        for ax, seq in zip(axes[:, 0], chosen):
            plot_calls({k: v[v.seq == seq] for k, v in calls.items()}, ds.length, ax=ax,
                       planted=truth[truth.seq == seq], colors=colors,
                       title=f"sequence {int(index[seq])} (class {ds.classes[int(index[seq])]}): "
                             + ", ".join(f"{r.motif}{r.strand}" for r in truth[truth.seq == seq].itertuples()))
        axes[-1, 0].set_xlabel("position (bp)", fontsize=7)
        fig.suptitle(f"{title} / {sim} (seed {seed}): each route's instance calls (bars) over the planted sites "
                     f"(shaded)", fontsize=9)
        fig.tight_layout(rect=(0, 0, 1, 0.98))
        path = _save(fig, out / f"instance_calls_{sim}.png")
        figures[f"Instance calls of every route on the same sequences: {sim}"] = path
    return figures
