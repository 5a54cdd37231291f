"""The report: tables (method × simulation per metric), seaborn figures, README.md and index.html.

Everything is derived from the tidy results table the run wrote (plus, for motif logos, the cached
interpretations when a cache folder is given); nothing is typed in by hand.
"""

from __future__ import annotations

import html
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .executors import frozen_heap, share_work
from .families import headline_measures

FAMILY_TITLES = {
    "prediction": "Prediction on held-out sequences",
    "motifs": "Motif recovery (discovered vs planted motifs)",
    "instances": "Motif instances (calls vs planted sites)",
    "attributions": "Attributions vs planted positions",
    "agreement": "Attribution agreement (DeepLiftSHAP vs IG; DeepLiftSHAP vs itself with redrawn references)",
    "completeness": "Attribution completeness (exactness)",
    "syntax": "Syntax recovery (in-silico experiments)",
    "faithfulness": "Faithfulness to the model (deletion curves, reverse complement, randomized model)",
    "consistency": "Consistency across training seeds (maps) and strands (instance calls)",
    "runtime_s": "Run time per stage (seconds)",
    "training": "Training health: the learned gate",
}

log = logging.getLogger("bench")

# The measures each family's figure shows; every measure is in the tables. Counts that only
# explain other measures (n_truth, n_calls, ...) would crowd the figures and slow the report.
HEADLINE_METRICS = {
    **headline_measures(),  # each family's own (bench/families); None: all of its measures
    # what the runner writes beside the families: method diagnostics, stage times, training health
    "completeness": ["median_abs", "p90_abs", "max_abs"],
    "runtime_s": ["train", "interpret"],
    "training": ["learned", "ceiling_likelihood_ratio"],
}
MAX_PANELS = 9
UNLEARNED_NOTE = ("These models did not close a quarter of the distance from chance to the grammar's likelihood-ratio "
                  "ceiling on held-out sequences (`bench/gate.py`), so every interpretation of them reads an "
                  "untrained network. Their rows stay in `results.parquet` with status `not_learned`; they enter no "
                  "mean (the `[n/N]` of each table cell counts them in N only) and no verdict.")
HEALTH_NOTE = ("How each model's training went, read off its validation curve (`models/health.py`): `converged`; "
               "`still rising` (the last 5 epochs beat every earlier one by more than 0.01: the budget may have cut "
               "it off); `recovered` / `collapsed, not recovered` (validation auROC fell to within 0.02 of chance after "
               "the regularizer started, from a best of at least 0.54 before it, or the kept epoch lost more than "
               "half the gain over chance the model had before it; the adaptive schedule restores the "
               "weights from before the ramp and ramps again, more gently); `never learned` (validation auROC never "
               "reached 0.6). `ramp start` is the first epoch with the overlap regularizer on. The training curves "
               "mark the same events.")
VERDICT_NOTE = ("Each row compares route A with route B on one grammar, paired on the same seeds, interpreted "
                "sequences and shuffled references: a hierarchical bootstrap (seeds, then sequences; "
                "2,000 replicates) gives the 95% interval of A − B. `better`/`worse` (for A) only where the interval "
                "excludes 0; `tie` otherwise; `not learned` where no seed is left once models that failed the "
                "learned gate are set aside. For `motifs/*` (one value per trained model) the interval is over seeds "
                "only, so with two seeds it spans their two differences. `floor` is the negative control's mean "
                "(random motifs): a value near it is no recovery. Full table: `tables/verdicts.csv`.")
HEADLINE_NOTE = ("The comparisons a reader looks for first (`bench.verdicts.HEADLINE`): ARGMINN's one-pass read-out "
                 "against DeepLiftSHAP + MoDISco on the standard CNN (instances by FIMO scan of the patterns, and by "
                 "MoDISco's own seqlets), ARGMINN's DeepLiftSHAP maps against the CNN's, DeepLiftSHAP against IG, and "
                 "the one-hot gradient correction, each per grammar with its paired 95% interval; every other "
                 "comparison is below.")
SUMMARY_NOTE = "Across grammars: how often route A is better than, ties with or is worse than route B."
CONTROL_NOTE = ("The positive control scans the true motifs. At the routes' cut-off rule it also calls the "
                "background's weaker matches of them, so there its F1 bounds nothing; at its best cut-off (the one "
                "where its F1 is highest, chosen with the truth: `instances/best_f1`) it bounds what a scan of the "
                "true motifs can reach. A route's F1 (either kind) should not beat that, nor the control's motif "
                "recall. These rows do (interval of route − control above 0): the route knows what a scan cannot "
                "(which sites the model uses, from their context), or the score is an artefact; explain it before "
                "reading the route's numbers. Full table: `tables/control_bounds.csv`.")
PAPER_NOTE = ("The paper's numbers come from the reference repository's notebook outputs (one run each, "
              "20,000 sequences, 40 epochs). Instance precision and recall use the paper's rule (recall counts "
              "calls, so it can exceed the share of sites found); motif counts use its asymmetric quality rule. "
              "The paper's MoDISco route ran on the standard CNN. Differences are ours minus the paper's.")

SELECTION_NOTE = ("The paper reports one trained model per grammar. Given several seeds, a practitioner keeps the "
                  "one whose kept epoch has the best validation auROC; the test split plays no part in the choice. "
                  "Its test auROC is set beside the mean over seeds and the paper's number (difference: selected "
                  "minus paper).")


CEILING_NOTE = ("The best test auROC any model can reach on these simulations, bounded from both sides by two "
                "readers that need no training. The likelihood-ratio reader knows the generative model (grammar, "
                "PFMs, background) and reads the sequence, so a PFM-sampled site that looks like background costs it "
                "what it costs a model. It is exact without background-match rejection (and the non-overlap of "
                "scattered motifs), which it ignores, so here it is a lower bound. The planted-content reader sees "
                "only what was planted (motifs, strands, spacings); where the sequence is drawn from that content "
                "in the same way for both classes, as in the paper grammars, it is an upper bound. Model columns "
                "are mean test auROC over seeds. A paper number above the bounds points to a simulation easier "
                "than ours (`python -m bench ceiling` without rejection gives the exact value).")


SHORTFALL_NOTE = ("Where the seed selected on validation loses to the likelihood-ratio reader, on that seed's test "
                  "split. Each positive is grouped by its weakest functional planted site, ranked among all the "
                  "sites sampled from the same PFM (bottom quarter: three quarters of that motif's sites are "
                  "stronger). `gap` = ceiling - auroc, and it is exactly the sum of the `gap: <group>` columns "
                  "(the group's share of the positives times the two readers' difference on its positives ranked "
                  "against every negative). The last columns give both readers' auROC on the positives of the "
                  "bottom quarter and of the top half.")


SELECTION_NOTE_OWN = ("Given several seeds, a practitioner keeps the one whose kept epoch has the best validation "
                      "auROC; the test split plays no part in the choice. Its test auROC is set beside the mean "
                      "over seeds.")
CEILING_NOTE_OWN = ("The best test auROC any model can reach on these simulations, from readers that need no "
                    "training: the likelihood-ratio reader knows the generative model (grammar, PFMs, background) "
                    "and reads the sequence (exact without background-match rejection, a lower bound with it); the "
                    "planted-content reader sees only what was planted. Model columns are mean test auROC over "
                    "seeds.")


SELECTED_ROUTES_NOTE = ("The means elsewhere in this report include every seed, so a seed that trained poorly "
                        "pulls down every route through its model. Here each route is read on the one seed per "
                        "model and grammar that a practitioner would keep (best validation auROC; table above), "
                        "so no comparison is won against an under-trained model.")


def route(df: pd.DataFrame) -> pd.Series:
    """A route is a model read by a method: ``model · method``."""
    return df["model"].astype(str) + " · " + df["method"].astype(str)


#: families of rows that feed other tables, never a table or figure of their own
HIDDEN_FAMILIES = ("per_sequence", "interpret", "record")


def metric_tables(df: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """For each metric, route × simulation: ``mean ± sd [n/N]`` over seeds.

    ``n`` counts the seeds with a defined value that enters the mean (status ok); ``N`` every seed
    that has a row for it, so a seed whose value is undefined (a precision without calls) or whose
    model did not learn shows as ``n < N`` instead of silently shrinking the mean.
    """
    rows = df[~df.metric.map(_family).isin(HIDDEN_FAMILIES) & ~df.metric.astype(str).str.startswith("(")]
    if rows.empty:
        return {}
    rows = rows.assign(route=route(rows))
    keys = ["metric", "route", "simulation"]
    totals = rows.groupby(keys)["seed"].nunique()
    ok = rows[rows.status == "ok"]
    stats = ok.groupby(keys)["value"].agg(["mean", "std", "count"]).reindex(totals.index)
    text = []
    for (m, sd, n), total in zip(stats[["mean", "std", "count"]].itertuples(index=False), totals):
        n = 0 if pd.isna(n) else int(n)
        value = "—" if pd.isna(m) else f"{m:.3g} ± {sd:.2g}" if n > 1 and not pd.isna(sd) else f"{m:.3g}"
        text.append(f"{value} [{n}/{total}]")
    cells = pd.Series(text, index=totals.index, dtype=object)
    return {metric: g.droplevel("metric").unstack("simulation").fillna("")
            for metric, g in cells.groupby(level="metric", sort=True)}


def unlearned_models(df: pd.DataFrame) -> pd.DataFrame:
    """Trained models that failed the learned gate (:mod:`bench.gate`): every route through them is
    kept in the results with status ``not_learned`` and left out of every mean and verdict."""
    gate = df[(df.metric == "training/learned") & (df.value == 0)]
    if gate.empty:
        return pd.DataFrame(columns=["simulation", "model", "seed", "test_auroc", "bar", "reason"])
    auroc = df[df.metric == "prediction/auroc"].set_index(["simulation", "model", "seed"])["value"]
    out = []
    for r in gate.itertuples():
        detail = json.loads(r.detail or "{}")
        out.append({"simulation": r.simulation, "model": r.model, "seed": r.seed,
                    "test_auroc": round(float(auroc.get((r.simulation, r.model, r.seed), np.nan)), 3),
                    "bar": round(float(detail.get("bar", np.nan)), 3), "reason": detail.get("reason", "")})
    return pd.DataFrame(out).sort_values(["simulation", "model", "seed"]).reset_index(drop=True)


def training_health_table(df: pd.DataFrame) -> pd.DataFrame:
    """Per simulation, model and seed: the schedule, the health status, when the regularizer started, the
    collapses, the epochs trained and the kept epoch (rows ``training/healthy`` written by the runner)."""
    columns = ["simulation", "model", "seed", "schedule", "status", "ramp_start", "collapses", "epochs",
               "kept_epoch", "kept_valid_auroc", "learned_gate"]
    rows = df[(df.metric == "training/healthy") & (df.status.isin(["ok", "not_learned"]))]
    if rows.empty:
        return pd.DataFrame(columns=columns)
    gate = df[df.metric == "training/learned"].set_index(["simulation", "model", "seed"])["value"]
    out = []
    for r in rows.itertuples():
        h = json.loads(r.detail or "{}")
        passed = gate.get((r.simulation, r.model, r.seed), np.nan)
        out.append({"simulation": r.simulation, "model": r.model, "seed": r.seed,
                    "schedule": h.get("schedule", ""), "status": h.get("status", ""),
                    "ramp_start": "" if h.get("ramp_start") is None else int(h["ramp_start"]),
                    "collapses": ", ".join(map(str, h.get("collapse_epochs", []))),
                    "epochs": h.get("epochs_trained"), "kept_epoch": h.get("best_epoch"),
                    "kept_valid_auroc": h.get("kept_valid_auroc"),
                    "learned_gate": "" if pd.isna(passed) else ("yes" if passed else "no")})
    return pd.DataFrame(out, columns=columns).sort_values(["simulation", "model", "seed"]).reset_index(drop=True)


SELECTED_ROUTE_METRICS = ("instances/f1", "instances/paper_precision", "motifs/n_recovered", "motifs/n_redundant",
                          "attributions/auroc")


def selected_seed_routes(df: pd.DataFrame, selection: pd.DataFrame,
                         metrics=SELECTED_ROUTE_METRICS) -> pd.DataFrame:
    """Each interpretation route read on the seed selected on validation only (one value per cell).

    Parameters
    ----------
    df : results table
    selection : the seed-selection table (``simulation, model, selected_seed``)
    metrics : the metrics shown

    Returns
    -------
    DataFrame with ``metric, route`` and one column per simulation; empty without a selection.
    """
    if selection.empty:
        return pd.DataFrame()
    keep = selection.set_index(["simulation", "model"])["selected_seed"]
    ok = df[(df.status == "ok") & df.metric.isin(metrics) & (df.method != "(model)")].copy()
    chosen = [keep.get((sim, model)) == seed for sim, model, seed in zip(ok.simulation, ok.model, ok.seed)]
    ok = ok[chosen]
    if ok.empty:
        return pd.DataFrame()
    ok["route"] = route(ok)
    wide = ok.groupby(["metric", "route", "simulation"])["value"].mean().round(3).unstack("simulation")
    order = {m: i for i, m in enumerate(metrics)}
    wide = wide.reset_index().sort_values(["metric", "route"], key=lambda c: c.map(order) if c.name == "metric" else c)
    return wide.reset_index(drop=True).rename_axis(None, axis=1)


def status_table(df: pd.DataFrame) -> pd.DataFrame:
    """Skipped and failed rows with their reasons (never dropped silently; rows of models that did not
    learn have their own section)."""
    bad = df[df.status.isin(["skipped", "failed"])]
    if bad.empty:
        return pd.DataFrame(columns=["simulation", "model", "seed", "method", "metric", "status", "reason"])
    return (bad[["simulation", "model", "seed", "method", "metric", "status", "reason"]]
            .drop_duplicates().reset_index(drop=True))


def _family(metric: str) -> str:
    return metric.split("/", 1)[0]


def _save_figure(fig, out: Path, stem: str, dpi: int = 110) -> list[Path]:
    """Write ``out/stem.png`` and ``out/stem.pdf``, close the figure, return both paths."""
    import matplotlib.pyplot as plt

    paths = [out / f"{stem}.{ext}" for ext in ("png", "pdf")]
    for p in paths:
        fig.savefig(p, dpi=dpi)
    plt.close(fig)
    return paths


#: one hue family per model (ARGMINN orange, the CNN blue, ...), one shade per method within it
MODEL_HUES = ("Oranges", "Blues", "Greens", "Purples", "Reds", "Greys", "YlOrBr", "PuBuGn")
METHOD_MARKERS = ("o", "s", "D", "^", "v", "P", "X", "<", ">", "p", "h", "*", "d", "8")


def route_palette(routes) -> dict:
    """``{route: (colour, marker)}`` for ``model · method`` routes: a hue family per model (models in
    order of appearance after sorting, ARGMINN first), a shade and marker per method."""
    import seaborn as sns

    routes = sorted(set(routes), key=lambda r: (r.split(" · ")[0] != "argminn", r))
    models = list(dict.fromkeys(r.split(" · ")[0] for r in routes))
    out = {}
    for i, model in enumerate(models):
        mine = [r for r in routes if r.split(" · ")[0] == model]
        shades = sns.color_palette(MODEL_HUES[i % len(MODEL_HUES)], len(mine) + 3)[3:]
        for j, r in enumerate(mine):
            out[r] = (shades[j], METHOD_MARKERS[j % len(METHOD_MARKERS)])
    return out


def _y_bounds(metric: str, values: np.ndarray) -> tuple | None:
    """Axis limits that start at a meaningful bound: chance (0.5) for an auROC, 0 for a share or count."""
    v = values[np.isfinite(values)]
    if not v.size:
        return None
    lo, hi = float(v.min()), float(v.max())
    if "auroc" in metric:
        return (min(0.45, lo - 0.02), 1.01)
    if lo >= 0 and hi <= 1:
        return (0.0, 1.02)
    if lo >= 0:
        return (0.0, hi * 1.08 + 1e-9)
    return None


def family_figure(df: pd.DataFrame, family: str, title: str, out: Path, intervals=None) -> list[Path]:
    """Per route and grammar, faceted by measure: the mean over seeds with its 95% bootstrap interval
    (:func:`bench.verdicts.route_intervals`, where the measure has per-sequence parts; else the range
    over seeds) and each seed as a small point. Routes grouped by model (one hue family each). PNG, PDF."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .report_figures import fit_margins

    sub = df[(df.status == "ok") & (df.metric.map(_family) == family)].copy()
    if sub.empty:
        return []
    sub["route"] = route(sub)
    sub["key"] = sub.metric
    sub["metric"] = sub.metric.str.split("/", n=1).str[1].fillna(sub.metric)
    headline = HEADLINE_METRICS.get(family)
    present = set(sub.metric.unique())
    if headline:
        metrics = [m for m in headline if m in present]
    else:
        metrics = sorted(m for m in present if not m.endswith("_peak_delta"))[:MAX_PANELS]
    if not metrics:
        return []
    sub = sub[sub.metric.isin(metrics)]
    ncol = min(3, len(metrics))
    nrow = int(np.ceil(len(metrics) / ncol))
    palette = route_palette(sub.route.unique())
    n_routes = len(palette)
    sims = sorted(sub.simulation.unique())
    fig, axes = plt.subplots(nrow, ncol, figsize=(5.4 * ncol, 3.8 * nrow + 0.3 * n_routes / 3), squeeze=False)
    step = 0.84 / n_routes
    offsets = {r: (i - (n_routes - 1) / 2) * step for i, r in enumerate(palette)}
    jitter = np.random.default_rng(0)
    sim_pos = {s: i for i, s in enumerate(sims)}
    ci = {}
    if intervals is not None and len(intervals):
        ci = {(r.simulation, f"{r.model} · {r.method}", r.metric): (r.value, r.ci_low, r.ci_high)
              for r in intervals.itertuples()}
    for ax, metric in zip(axes.ravel(), metrics):
        m = sub[sub.metric == metric]
        key = f"{family}/{metric}"
        for (r, sim), g in m.groupby(["route", "simulation"], sort=False):
            colour, marker = palette[r]
            x0 = sim_pos[sim] + offsets[r]
            ax.scatter(x0 + jitter.uniform(-0.3, 0.3, len(g)) * step, g.value, s=6, color=colour, alpha=0.45,
                       linewidths=0)
            mean, lo, hi = ci.get((sim, r, key), (g.value.mean(), g.value.min(), g.value.max()))
            if np.isfinite(lo) and np.isfinite(hi):
                ax.vlines(x0, lo, hi, color=colour, linewidth=1.1)
            ax.scatter([x0], [mean], s=18, color=colour, marker=marker, edgecolors="black", linewidths=0.3,
                       zorder=3)
        bounds = _y_bounds(metric, m.value.to_numpy(float))
        if bounds is not None:
            ax.set_ylim(*bounds)
        if "auroc" in metric:
            ax.axhline(0.5, color="0.5", linestyle="--", linewidth=0.8)
        for i in range(1, len(sims)):
            ax.axvline(i - 0.5, color="0.9", linewidth=0.8, zorder=0)
        ax.set_xticks(range(len(sims)), sims)
        ax.set_xlim(-0.5, len(sims) - 0.5)
        ax.set_title(_measure_label(key), fontsize=10)
        ax.set_ylabel(_measure_label(key), fontsize=8)
        ax.set_xlabel("")
        ax.tick_params(axis="x", rotation=30, labelsize=8)
        for lbl in ax.get_xticklabels():
            lbl.set_horizontalalignment("right")
    for ax in axes.ravel()[len(metrics):]:
        ax.axis("off")
    handles = [plt.Line2D([], [], marker=mk, linestyle="", color=c, markeredgecolor="black", markeredgewidth=0.3,
                          label=r) for r, (c, mk) in palette.items()]
    n_legend_cols = min(4, n_routes)
    fig.legend(handles=handles, loc="lower center", ncol=n_legend_cols, fontsize=7.5, frameon=False)
    has_ci = any(k[2].startswith(family + "/") for k in ci)
    fig.suptitle(f"{title}\n" + ("mean over seeds with its 95% bootstrap interval (seeds, then sequences); dots: "
                                  "seeds" if has_ci else "mean over seeds, bar: their range; dots: seeds"),
                 fontsize=11)
    fit_margins(fig, axes, bottom=0.03 + 0.022 * int(np.ceil(n_routes / n_legend_cols)))
    return _save_figure(fig, out, family)


def syntax_curve_figure(df: pd.DataFrame, title: str, out: Path) -> list[Path]:
    """Spacing curves: mean logit change for planted pair A+B at each gap, per model (lines per seed).

    Grey bars are the planted spacing distribution; a model that learnt the grammar peaks over them.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    from .report_figures import fit_margins

    sub = df[(df.status == "ok") & df.metric.str.endswith("_peak_delta") & (df.detail.astype(str) != "")]
    if sub.empty:
        return []
    records, planted = [], {}
    for r in sub.itertuples():
        curve = json.loads(r.detail)
        pair = r.metric.removeprefix("syntax/").removesuffix("_peak_delta")
        panel = (r.simulation, pair)
        planted[panel] = (curve["planted"], curve["planted_weight"])
        for sp, d in zip(curve["spacing"], curve["delta"]):
            records.append({"panel": panel, "model": r.model, "seed": r.seed, "spacing": sp, "delta": d})
    curves = pd.DataFrame(records)
    panels = sorted(planted)
    models = sorted(curves.model.unique())
    palette = dict(zip(models, sns.color_palette("tab10", len(models))))
    ncol = min(3, len(panels))
    nrow = int(np.ceil(len(panels) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(5.2 * ncol, 3.4 * nrow + 0.5), squeeze=False)
    for ax, panel in zip(axes.ravel(), panels):
        c = curves[curves.panel == panel]
        gaps, weights = planted[panel]
        twin = ax.twinx()
        twin.bar(gaps, weights, width=0.9, color="0.8", zorder=0)
        twin.set_ylim(0, max(weights) * 3)
        twin.set_yticks([])
        ax.set_zorder(twin.get_zorder() + 1)
        ax.patch.set_visible(False)
        for model in models:
            m = c[c.model == model]
            for _, s in m.groupby("seed"):
                ax.plot(s.spacing, s.delta, color=palette[model], alpha=0.3, lw=0.8)
            if not m.empty:
                mean = m.groupby("spacing").delta.mean()
                ax.plot(mean.index, mean.values, color=palette[model], lw=1.8, label=model)
        ax.axhline(0, color="0.5", lw=0.6)
        ax.set_title(f"{panel[0]}: {panel[1]}", fontsize=9)
        ax.set_xlabel("gap between A and B (bp)")
        ax.set_ylabel("mean Δ logit (A+B inserted)")
    for ax in axes.ravel()[len(panels):]:
        ax.axis("off")
    handles = [plt.Line2D([], [], color=palette[m], lw=2, label=m) for m in models]
    handles.append(plt.Rectangle((0, 0), 1, 1, color="0.8", label="planted gap distribution"))
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=8, frameon=False)
    fig.suptitle(f"{title}: spacing curves of planted motif pairs (thin: seeds, thick: mean)", fontsize=11)
    fit_margins(fig, axes, bottom=0.05)
    return _save_figure(fig, out, "syntax_curves")


VERDICT_COLOURS = {"better": "#1b7837", "tie": "#f0f0f0", "worse": "#b2182b", "not learned": "#bdbdbd",
                   "no data": "#ffffff"}


def verdict_grid_figure(verdicts: pd.DataFrame, title: str, out: Path, stem: str = "verdicts",
                        heading: str = "paired verdicts") -> list[Path]:
    """Grammar × comparison, each cell coloured by the verdict and labelled with A − B and its interval.

    With a ``question`` column (:func:`bench.verdicts.headline_verdicts`) the rows are labelled by it and
    the metric; otherwise by the metric and both routes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if verdicts.empty:
        return []
    if "question" in verdicts:
        v = verdicts.assign(comparison=verdicts.question + ": " + verdicts.metric.map(_measure_label))
    else:
        v = verdicts.assign(comparison=verdicts.metric + ": " + verdicts.route_a + "  vs  " + verdicts.route_b)
    comparisons = list(dict.fromkeys(v.comparison))
    sims = sorted(v.simulation.unique())
    label_in = 0.055 * max(len(c) for c in comparisons)  # the comparisons' labels, left of the grid
    fig, ax = plt.subplots(figsize=(label_in + 1.0 + 1.75 * len(sims), 1.2 + 0.3 * len(comparisons)))
    lookup = v.set_index(["comparison", "simulation"])
    for i, comp in enumerate(comparisons):
        for j, sim in enumerate(sims):
            if (comp, sim) not in lookup.index:
                continue
            r = lookup.loc[(comp, sim)]
            ax.add_patch(plt.Rectangle((j, i), 1, 1, color=VERDICT_COLOURS.get(r.verdict, "white"), ec="white"))
            label = (r.verdict if pd.isna(r.difference) else
                     f"{r.difference:+.3f}" if pd.isna(r.ci_low) else
                     f"{r.difference:+.3f} [{r.ci_low:+.3f}, {r.ci_high:+.3f}]")
            ax.text(j + 0.5, i + 0.5, label, ha="center", va="center", fontsize=6.5,
                    color="white" if r.verdict in ("better", "worse") else "black")
    ax.set_xlim(0, len(sims))
    ax.set_ylim(len(comparisons), 0)
    ax.set_xticks(np.arange(len(sims)) + 0.5, sims, rotation=30, ha="right", fontsize=8)
    ax.set_yticks(np.arange(len(comparisons)) + 0.5, comparisons, fontsize=7)
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    handles = [plt.Rectangle((0, 0), 1, 1, color=c, ec="0.6", label=k) for k, c in VERDICT_COLOURS.items()
               if k != "no data"]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7, frameon=False,
              title="A against B", title_fontsize=7)
    ax.set_title(f"{title}: {heading}\nA − B [95% hierarchical bootstrap interval]", fontsize=9, loc="left")
    fig.subplots_adjust(left=label_in / fig.get_figwidth(), right=1 - 1.0 / fig.get_figwidth(),
                        top=1 - 0.6 / fig.get_figheight(), bottom=0.8 / fig.get_figheight())
    return _save_figure(fig, out, stem, dpi=130)


#: readable names of the measures the figures show (the tables keep the keys)
MEASURE_LABELS = {
    "instances/f1": "instance F1", "instances/f1_identity": "instance F1 (motif identity)",
    "instances/precision": "instance precision", "instances/recall": "instance recall",
    "instances/paper_precision": "instance precision (paper rule)", "instances/paper_recall": "instance recall (paper rule)",
    "instances/average_precision": "instance average precision",
    "instances/best_f1": "instance F1 at the best cut-off", "instances/best_f1_identity":
        "instance F1 at the best cut-off (motif identity)",
    "motifs/recall": "motif recall", "motifs/n_redundant": "redundant motifs", "motifs/n_recovered": "motifs recovered",
    "motifs/n_passing": "motifs passing quality", "motifs/non_motif_patterns": "patterns matching no motif",
    "motifs/best_similarity_mean": "best similarity to a planted motif",
    "attributions/auroc": "attribution auROC (planted positions)", "attributions/auprc": "attribution auPRC",
    "attributions/pooled_auroc": "attribution auROC, pooled", "attributions/mass_in_motifs": "attribution mass in motifs",
    "attributions/pooled_topk_recall": "top-k positional recall", "attributions/site_pfm_cosine": "site vs PFM cosine",
    "prediction/auroc": "test auROC", "prediction/average_precision": "test average precision",
    "prediction/accuracy": "test accuracy",
}


def _measure_label(metric: str) -> str:
    return MEASURE_LABELS.get(metric, metric.split("/", 1)[-1].replace("_", " "))


def motif_sweep_figure(df: pd.DataFrame, title: str, out: Path) -> list[Path]:
    """Motif recall against the similarity threshold of a match, per route, the negative control dashed.

    A route recovers a motif only at thresholds where random motifs (the negative control) do not.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    sub = df[(df.status == "ok") & df.metric.str.startswith("motifs/recall_at_")].copy()
    if sub.empty:
        return []
    sub["threshold"] = sub.metric.str.removeprefix("motifs/recall_at_").astype(float)
    sub["route"] = route(sub)
    sims = sorted(sub.simulation.unique())
    routes = sorted(sub.route.unique())
    palette = dict(zip(routes, sns.color_palette("husl", len(routes))))
    ncol = min(4, len(sims))
    nrow = int(np.ceil(len(sims) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.6 * ncol, 2.9 * nrow + 0.9), squeeze=False, sharey=True)
    for ax, sim in zip(axes.ravel(), sims):
        g = sub[sub.simulation == sim].groupby(["route", "threshold"])["value"].mean().reset_index()
        for r, c in g.groupby("route"):
            ax.plot(c.threshold, c.value, color=palette[r], lw=1.4,
                    ls="--" if "negative_control" in r else "-", marker="o", ms=3)
        ax.set_title(sim, fontsize=9)
        ax.set_xlabel("similarity threshold (Pearson)", fontsize=8)
        ax.set_ylabel("motif recall (mean over seeds)", fontsize=8)
        ax.set_ylim(-0.03, 1.03)
    for ax in axes.ravel()[len(sims):]:
        ax.axis("off")
    handles = [plt.Line2D([], [], color=palette[r], ls="--" if "negative_control" in r else "-", label=r)
               for r in routes]
    fig.legend(handles=handles, loc="lower center", ncol=min(4, len(routes)), fontsize=7, frameon=False)
    fig.suptitle(f"{title}: motif recall against the match threshold (dashed: random motifs)", fontsize=10)
    fig.tight_layout(rect=(0, 0.05 + 0.03 * int(np.ceil(len(routes) / 4)), 1, 0.95))
    return _save_figure(fig, out, "motif_sweep")


def _guarded_figures(name: str, draw, *args) -> dict:
    """Figures beyond the families' are a bonus: a failure is logged and listed, and the tables are
    still written."""
    try:
        return draw(*args)
    except Exception as exc:
        log.exception("report figure %s failed", name)
        return {f"{name} (failed)": f"{type(exc).__name__}: {exc}"}


def _guarded_table(name: str, make, df: pd.DataFrame):
    """Tables read from the run's records, or None when they cannot be made (logged; the report goes on)."""
    try:
        return make(df)
    except Exception:
        log.exception("report table %r failed", name)
        return None


REPORT_MARKER = ".argminn-bench-report"


class ReportFolderError(ValueError):
    """The report's folder holds files a report did not write."""


def claim_report_folder(out: Path) -> None:
    """Make ``out`` a report folder, refusing one that holds anything else.

    A report writes ``README.md`` and ``index.html`` into its folder: over a folder of someone's own,
    that would replace their files. Allowed: a new or empty folder, or one an earlier report wrote (its
    marker file, or a README.md that is one of our reports, as the committed reports are).
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ReportFolderError(f"report folder {out} is a file, not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / REPORT_MARKER).exists():
        readme = out / "README.md"
        ours = readme.is_file() and "ARGMINN-Bench report" in readme.read_text(errors="replace").split("\n", 1)[0]
        if not ours:
            raise ReportFolderError(f"report folder {out} holds files no report wrote "
                                    f"({', '.join(sorted(p.name for p in out.iterdir())[:5])}); give an empty or "
                                    "new folder, so that none of them is replaced")
    out.mkdir(parents=True, exist_ok=True)
    (out / REPORT_MARKER).write_text("written by python -m bench report / run; safe to replace\n")


@frozen_heap()
def build_report(df: pd.DataFrame, out_dir, title: str = "results", cache_root=None,
                 description: str | None = None) -> Path:
    """Write ``README.md``, ``index.html``, ``tables/*.csv`` and ``figures/*.{png,pdf}``; returns index.html.

    The report leads with the verdicts (grid, summary, the paired rows collapsed), then a table of
    contents; every per-measure table is collapsed (and in ``tables/``). ``description``: the suite's
    own (its ``description:``), shown first. A run without the paper's grammars gets no paper section
    and no paper columns.

    Raises :class:`ReportFolderError` for a folder that holds files no report wrote.
    """
    out = Path(out_dir)
    claim_report_folder(out)
    (out / "tables").mkdir(parents=True, exist_ok=True)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    tables = metric_tables(df)
    for metric, t in tables.items():
        t.to_csv(out / "tables" / (metric.replace("/", "__") + ".csv"))
    statuses = status_table(df)
    statuses.to_csv(out / "tables" / "status.csv", index=False)
    from .verdicts import control_bounds, verdict_summary, verdict_table

    verdicts = verdict_table(df)
    verdicts.to_csv(out / "tables" / "verdicts.csv", index=False)
    summary = verdict_summary(verdicts)
    summary.to_csv(out / "tables" / "verdict_summary.csv", index=False)
    bounds = control_bounds(df)
    bounds.to_csv(out / "tables" / "control_bounds.csv", index=False)

    # "(method)" rows only carry a skipped or failed status: they go to the status table, not a section
    families = sorted({_family(m) for m in df.metric.unique()
                       if not str(m).startswith("(") and _family(m) not in HIDDEN_FAMILIES})
    # every figure is an independent job, spread over the cores (one per simulation for the
    # figures read from the cache)
    from .verdicts import route_intervals

    intervals = route_intervals(df)
    jobs = [(family_figure, (df, fam, f"{title}: {FAMILY_TITLES.get(fam, fam)}", out / "figures",
                             intervals[intervals.metric.str.startswith(fam + "/")]))
            for fam in families]
    jobs.append((syntax_curve_figure, (df, title, out / "figures")))
    jobs.append((verdict_grid_figure, (verdicts, title, out / "figures")))
    from .verdicts import headline_verdicts

    headline = headline_verdicts(verdicts, df)
    jobs.append((verdict_grid_figure, (headline, title, out / "figures", "verdicts_headline", "headline verdicts")))
    jobs.append((motif_sweep_figure, (df, title, out / "figures")))
    from .report_figures import (argminn_example_figures, attribution_track_figures, instance_call_figures,
                                 model_tables, motif_logo_figures, training_curve_figures)

    # from the run's records (results rows); the logos read the cached interpretations' motifs
    jobs.append((_guarded_table, ("seed selection, ceilings and shortfall", model_tables, df)))
    sims = sorted(df.simulation.unique())
    if cache_root is not None:
        jobs += [(_guarded_figures, (f"{name}: {sim}", draw, df[df.simulation == sim], Path(cache_root),
                                     out / "figures", title))
                 for name, draw in (("logos", motif_logo_figures), ("attribution tracks", attribution_track_figures),
                                    ("instance calls", instance_call_figures))
                 for sim in sims]
    jobs += [(_guarded_figures, (f"{name}: {sim}", draw, df[df.simulation == sim], out / "figures", title))
             for name, draw in (("ARGMINN examples", argminn_example_figures), ("training curves", training_curve_figures))
             for sim in sims]
    drawn = share_work(jobs)
    figures = {fam: paths[0] for fam, paths in zip(families, drawn) if paths}
    extra = {}
    curves, grid, head_grid, sweep = drawn[len(families):len(families) + 4]
    if curves:
        extra["Syntax: spacing curves of planted pairs"] = curves[0]
    if sweep:
        extra["Motif recall against the match threshold"] = sweep[0]
    first = len(families) + 4
    selection, ceilings, shortfall = drawn[first] or (pd.DataFrame(),) * 3
    for more in drawn[first + 1:]:
        extra.update(more)
    selected_routes = selected_seed_routes(df, selection)
    for name, table in (("seed_selected_on_validation", selection), ("simulation_ceilings", ceilings),
                        ("ceiling_shortfall", shortfall),
                        ("routes_on_selected_seed", selected_routes), ("training_health", training_health_table(df))):
        if not table.empty:
            table.to_csv(out / "tables" / f"{name}.csv", index=False)

    from .paper import paper_comparison

    against = paper_comparison(df)
    against.to_csv(out / "tables" / "against_paper.csv", index=False)
    paper_run = not against.empty
    sims = sorted(df.simulation.unique())
    methods = sorted(m for m in df.method.unique() if not str(m).startswith("("))
    intro = (f"Simulations: {', '.join(sims)}. Models: {', '.join(sorted(df.model.unique()))}. "
             f"Methods: {', '.join(methods)}. "
             f"Seeds: {', '.join(map(str, sorted(df.seed.unique())))}. Each value is the mean over seeds "
             "± the standard deviation, with `[n/N]`: n seeds with a defined value from a model that learned, of N "
             "seeds run; every number comes from the run's `results.parquet` (copied into committed reports).")
    if not paper_run:  # a user's own grammars: no paper columns, no notes about the paper
        selection, ceilings = _without_paper(selection), _without_paper(ceilings)
    # the sections of one table each, with a note saying how to read it; the verdicts lead
    lead = [s_ for s_ in (
        Section("Headline verdicts", HEADLINE_NOTE, _verdict_display(headline, question=True)),
        Section("Verdicts: summary across grammars", SUMMARY_NOTE, summary, collapsed=len(summary) > 20),
        Section("Verdicts: paired comparisons", VERDICT_NOTE, _verdict_display(verdicts), collapsed=True),
        Section("Routes that beat the positive control", CONTROL_NOTE,
                _verdict_display(bounds[bounds.beats_control]) if not bounds.empty else bounds, collapsed=True))
        if not s_.table.empty]
    rest = [s_ for s_ in (
        Section("Models that did not learn", UNLEARNED_NOTE, unlearned_models(df)),
        Section("Training health", HEALTH_NOTE, training_health_table(df), collapsed=True),
        Section("Interpreted sequences", INTERPRETED_NOTE, interpreted_table(df)),
        Section("Against the paper", PAPER_NOTE, against, collapsed=True),
        Section("The seed selected on validation", SELECTION_NOTE if paper_run else SELECTION_NOTE_OWN, selection),
        Section("The ceiling set by the simulation", CEILING_NOTE if paper_run else CEILING_NOTE_OWN, ceilings),
        Section("Where the models fall short of the ceiling", SHORTFALL_NOTE, shortfall, collapsed=True),
        Section("Routes on the seed selected on validation", SELECTED_ROUTES_NOTE, selected_routes, collapsed=True))
        if not s_.table.empty]
    fam_sections = [(FAMILY_TITLES.get(fam, fam), fam) for fam in families]
    skipped = Section("Skipped and failed", STATUS_NOTE, status_summary(statuses))
    toc = ([s_.title for s_ in rest] + [t for t, _ in fam_sections] + list(extra) + [skipped.title])

    md = [f"# {title}: ARGMINN-Bench report", ""]
    if description:
        md += ["> " + " ".join(str(description).split()), ""]
    md += [intro, ""]
    if head_grid:
        md += ["![headline verdicts](figures/verdicts_headline.png)", ""]
    for sec in lead:
        md += sec.markdown()
    if grid:
        md += ["Every comparison: [figures/verdicts.png](figures/verdicts.png).", ""]
    md += ["## Contents", ""] + [f"- [{t}](#{_anchor(t)})" for t in toc] + [""]
    for sec in rest:
        md += sec.markdown()
    for fam_title, fam in fam_sections:
        md += [f"## {fam_title}", ""]
        if fam in figures:
            md += [f"![{fam}](figures/{figures[fam].name})", ""]
        for metric in sorted(m for m in tables if _family(m) == fam):
            md += [f"<details><summary><b>{metric}</b> (<code>tables/{metric.replace('/', '__')}.csv</code>)</summary>",
                   "", _markdown(tables[metric], index=True), "", "</details>", ""]
    for name, path in extra.items():
        md += [f"## {name}", "",
               f"![{name}](figures/{Path(str(path)).name})" if isinstance(path, Path) else str(path), ""]
    md += skipped.markdown(empty="(none)")
    (out / "README.md").write_text("\n".join(md) + "\n")
    (out / "index.html").write_text(_html(title, description, intro, lead, rest, toc, fam_sections, tables, figures,
                                          extra, skipped, grid_path=head_grid[0] if head_grid else None,
                                          full_grid=grid[0] if grid else None))
    return out / "index.html"


@dataclass
class Section:
    """One table of the report with the note that says how to read it; ``collapsed``: inside a
    ``<details>`` block (long tables, all also in ``tables/``)."""

    title: str
    note: str
    table: pd.DataFrame
    collapsed: bool = False

    def markdown(self, empty: str | None = None) -> list[str]:
        body = empty if (self.table.empty and empty is not None) else _markdown(self.table)
        if self.collapsed:
            body = "\n".join([f"<details><summary>{len(self.table)} rows</summary>", "", body, "", "</details>"])
        return [f"## {self.title}", "", self.note, "", body, ""]

    def html(self, empty: str | None = None) -> str:
        body = (f"<p>{html.escape(empty)}</p>" if (self.table.empty and empty is not None)
                else self.table.to_html(index=False, escape=True))
        if self.collapsed:
            body = f"<details><summary>{len(self.table)} rows</summary>{body}</details>"
        return (f"<h2 id='{_anchor(self.title)}'>{html.escape(self.title)}</h2>"
                f"<p>{html.escape(self.note)}</p>{body}")


def _anchor(title: str) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens."""
    keep = "".join(ch for ch in title.lower() if ch.isalnum() or ch in " -_")
    return keep.replace(" ", "-")


def _markdown(table: pd.DataFrame, index: bool = False) -> str:
    return table.to_markdown(index=index) if _has_tabulate() else table.to_string(index=index)


def _without_paper(table: pd.DataFrame) -> pd.DataFrame:
    """A table without its paper columns (a run on other grammars has no paper number to show)."""
    if table.empty:
        return table
    drop = [c for c in table.columns if "paper" in str(c) or c in ("difference", "verdict")]
    return table.drop(columns=drop)


STATUS_NOTE = ("Rows without a value that enters a mean, grouped by status and reason, with how many rows and "
               "which grammars, models and methods they touch (every row: `tables/status.csv`). `skipped` rows "
               "are undefined values (a precision without calls) or routes a model cannot take; `failed` rows "
               "are stages that raised, retried on the next run.")


def status_summary(statuses: pd.DataFrame) -> pd.DataFrame:
    """The skipped and failed rows grouped by (status, reason): counts and what they touch."""
    if statuses.empty:
        return statuses

    def join(v, cap=6):
        u = sorted({str(x) for x in v})
        return ", ".join(u[:cap]) + (f" (+{len(u) - cap})" if len(u) > cap else "")

    g = statuses.assign(reason=statuses.reason.fillna("").astype(str).str.slice(0, 160))
    out = (g.groupby(["status", "reason"], as_index=False)
           .agg(rows=("metric", "size"), simulations=("simulation", join), models=("model", join),
                methods=("method", join)))
    return out.sort_values(["status", "rows"], ascending=[True, False]).reset_index(drop=True)


INTERPRETED_NOTE = ("Which sequences every route read: the test split's positives, plus (``classes: auto``) the "
                    "classes that hold a motif no positive holds, so a repressor is read where it represses. Every "
                    "model of a seed reads the same sequences against the same shuffled references.")


def interpreted_table(df: pd.DataFrame) -> pd.DataFrame:
    """Per simulation: the classes interpreted and how many sequences (the run's ``interpret/*`` rows)."""
    rows = df[df.metric == "interpret/n_sequences"]
    if rows.empty:
        return pd.DataFrame(columns=["simulation", "classes", "n_sequences"])
    out = [{"simulation": r.simulation, "classes": ", ".join(json.loads(r.detail or "{}").get("classes", [])),
            "n_sequences": int(r.value)} for r in rows.itertuples()]
    return (pd.DataFrame(out).groupby(["simulation", "classes"], as_index=False)["n_sequences"]
            .agg(lambda v: f"{int(v.min())}" if v.min() == v.max() else f"{int(v.min())}-{int(v.max())}"))


def _verdict_display(verdicts: pd.DataFrame, question: bool = False) -> pd.DataFrame:
    """The verdict rows for reading: the difference with its interval in one column (``question``: led by
    the headline question each row answers)."""
    if verdicts.empty:
        return verdicts
    v = verdicts.copy()
    v["A − B [95% CI]"] = [("—" if pd.isna(d) else f"{d:+.3f} (no interval)" if pd.isna(lo) else
                            f"{d:+.3f} [{lo:+.3f}, {hi:+.3f}]")
                           for d, lo, hi in zip(v.difference, v.ci_low, v.ci_high)]
    cols = ["simulation", "metric", "route_a", "route_b", "A − B [95% CI]", "verdict", "n_seeds", "n_sequences"]
    if question and "question" in v:
        cols = ["question"] + cols
    if "control_metric" in v:  # the control bounds: route B's measure is not route A's
        cols.insert(cols.index("metric") + 1, "control_metric")
    for c in ("value_a", "value_b", "floor"):
        if c in v:
            v[c] = v[c].round(3)
            cols.append(c)
    return v[cols].reset_index(drop=True)


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401

        return True
    except ImportError:
        return False


def _html(title, description, intro, lead, rest, toc, fam_sections, tables, figures, extra, skipped,
          grid_path=None, full_grid=None) -> str:
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
             "<style>body{font-family:sans-serif;max-width:1200px;margin:auto;padding:1em}"
             "table{border-collapse:collapse;font-size:12px;margin-bottom:1em}"
             "td,th{border:1px solid #ccc;padding:2px 6px}img{max-width:100%}"
             "blockquote{color:#444;border-left:4px solid #ccc;margin-left:0;padding-left:1em}"
             "summary{cursor:pointer}</style></head><body>",
             f"<h1>{html.escape(title)}: ARGMINN-Bench report</h1>"]
    if description:
        parts.append(f"<blockquote>{html.escape(' '.join(str(description).split()))}</blockquote>")
    parts.append(f"<p>{html.escape(intro)}</p>")
    if grid_path is not None:
        parts.append(f"<img src='figures/{Path(str(grid_path)).name}' alt='headline verdicts'>")
    parts += [sec.html() for sec in lead]
    if full_grid is not None:
        parts.append(f"<p>Every comparison: <a href='figures/{Path(str(full_grid)).name}'>figures/"
                     f"{Path(str(full_grid)).name}</a>.</p>")
    parts.append("<h2>Contents</h2><ul>" + "".join(f"<li><a href='#{_anchor(t)}'>{html.escape(t)}</a></li>"
                                                 for t in toc) + "</ul>")
    parts += [sec.html() for sec in rest]
    for fam_title, fam in fam_sections:
        parts.append(f"<h2 id='{_anchor(fam_title)}'>{html.escape(fam_title)}</h2>")
        if fam in figures:
            parts.append(f"<img src='figures/{figures[fam].name}' alt='{fam}'>")
        for metric in sorted(m for m in tables if _family(m) == fam):
            parts.append(f"<details><summary><b>{html.escape(metric)}</b></summary>{tables[metric].to_html(escape=True)}"
                         "</details>")
    for name, path in extra.items():
        parts.append(f"<h2 id='{_anchor(name)}'>{html.escape(name)}</h2>")
        parts.append(f"<img src='figures/{Path(str(path)).name}'>" if isinstance(path, Path)
                     else f"<p>{html.escape(str(path))}</p>")
    parts.append(skipped.html(empty="(none)"))
    parts.append("</body></html>")
    return "\n".join(parts)


def _json(obj) -> str:
    return json.dumps(obj, sort_keys=True, default=str)
