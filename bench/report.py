"""The report: tables (method × simulation per metric), seaborn figures, README.md and index.html.

Everything is derived from the tidy results table (plus, for motif logos, the cached
interpretations when a cache folder is given); nothing is typed in by hand.
"""

from __future__ import annotations

import html
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from .executors import frozen_heap, share_work

FAMILY_TITLES = {
    "prediction": "Prediction on held-out sequences",
    "motifs": "Motif recovery (discovered vs planted motifs)",
    "instances": "Motif instances (calls vs planted sites)",
    "attributions": "Attributions vs planted positions",
    "agreement": "DeepLiftSHAP vs Integrated Gradients agreement",
    "completeness": "Attribution completeness (exactness)",
    "syntax": "Syntax recovery (in-silico experiments)",
    "runtime_s": "Run time per stage (seconds)",
}

log = logging.getLogger("bench")

# The measures each family's figure shows; every measure is in the tables. Counts that only
# explain other measures (n_truth, n_calls, ...) would crowd the figures and slow the report.
HEADLINE_METRICS = {
    "prediction": ["auroc", "average_precision", "accuracy"],
    "motifs": ["n_recovered", "recall", "n_passing", "n_redundant", "non_motif_patterns", "best_similarity_mean"],
    "instances": ["precision", "recall", "f1", "paper_precision", "paper_recall", "average_precision"],
    "attributions": ["auroc", "auprc", "pooled_auroc"],
    "agreement": ["dls_vs_ig_sign_agreement", "dls_vs_ig_background_sign_agreement", "dls_vs_ig_cosine",
                  "dls_vs_ig_spearman"],
    "completeness": ["median_abs", "p90_abs", "max_abs"],
    "syntax": None,  # every pair's measures; the spacing curves get a figure of their own
    "runtime_s": ["train", "interpret"],
}
MAX_PANELS = 9
UNLEARNED_AUROC = 0.6
UNLEARNED_NOTE = ("These models stayed near chance on held-out sequences, so every interpretation of them reads "
                  "an untrained network; their points stay in the figures and tables, and comparisons with them "
                  "say nothing about the interpretation method.")
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


SELECTED_ROUTES_NOTE = ("The means elsewhere in this report include every seed, so a seed that trained poorly "
                        "pulls down every route through its model. Here each route is read on the one seed per "
                        "model and grammar that a practitioner would keep (best validation auROC; table above), "
                        "so no comparison is won against an under-trained model.")


def route(df: pd.DataFrame) -> pd.Series:
    """A route is a model read by a method: ``model · method``."""
    return df["model"].astype(str) + " · " + df["method"].astype(str)


def metric_tables(df: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """For each metric, route × simulation with mean ± sd over seeds (ok rows only)."""
    ok = df[df.status == "ok"]
    if ok.empty:
        return {}
    stats = ok.assign(route=route(ok)).groupby(["metric", "route", "simulation"])["value"].agg(["mean", "std", "count"])
    text = ["" if pd.isna(m) else f"{m:.3g} ± {sd:.2g}" if n > 1 and not pd.isna(sd) else f"{m:.3g}"
            for m, sd, n in zip(stats["mean"], stats["std"], stats["count"])]
    cells = pd.Series(text, index=stats.index, dtype=object)
    return {metric: g.droplevel("metric").unstack("simulation").fillna("")
            for metric, g in cells.groupby(level="metric", sort=True)}


def unlearned_models(df: pd.DataFrame, threshold: float = UNLEARNED_AUROC) -> pd.DataFrame:
    """Trained models whose held-out auROC stayed near chance: every route through them reads noise."""
    auroc = df[(df.status == "ok") & (df.metric == "prediction/auroc")]
    low = auroc[auroc.value < threshold]
    return (low[["simulation", "model", "seed", "value"]].rename(columns={"value": "test_auroc"})
            .sort_values(["simulation", "model", "seed"]).reset_index(drop=True))


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
    """Skipped and failed rows with their reasons (never dropped silently)."""
    bad = df[df.status != "ok"]
    if bad.empty:
        return pd.DataFrame(columns=["simulation", "model", "seed", "method", "metric", "status", "reason"])
    return (bad[["simulation", "model", "seed", "method", "metric", "status", "reason"]]
            .drop_duplicates().reset_index(drop=True))


def _family(metric: str) -> str:
    return metric.split("/", 1)[0]


def family_figure(df: pd.DataFrame, family: str, title: str, out: Path) -> list[Path]:
    """Points per seed and the mean, per route, faceted by metric; PNG and PDF."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    from .report_figures import fit_margins

    sub = df[(df.status == "ok") & (df.metric.map(_family) == family)].copy()
    if sub.empty:
        return []
    sub["route"] = route(sub)
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
    n_routes = sub.route.nunique()
    sims = sorted(sub.simulation.unique())
    fig, axes = plt.subplots(nrow, ncol, figsize=(5.2 * ncol, 3.6 * nrow + 0.4 * n_routes / 2), squeeze=False)
    palette = dict(zip(sorted(sub.route.unique()), sns.color_palette("tab20", n_routes)))
    # routes side by side within each simulation's slot, seeds as jittered points, the mean as a bar;
    # drawn with matplotlib directly: seaborn's strip + point plots cost ~0.5 s per panel here
    step = 0.8 / n_routes
    offsets = {r: (i - (n_routes - 1) / 2) * step for i, r in enumerate(sorted(palette))}
    jitter = np.random.default_rng(0)
    sim_pos = {s: i for i, s in enumerate(sims)}
    for ax, metric in zip(axes.ravel(), metrics):
        m = sub[sub.metric == metric]
        # one collection for the seeds' points and one for the means: hundreds of small ones made
        # drawing the figure several times slower
        points, means = ([], [], []), ([], [], [])
        for (r, sim), g in m.groupby(["route", "simulation"], sort=False):
            x0 = sim_pos[sim] + offsets[r]
            points[0].extend(x0 + jitter.uniform(-0.25, 0.25, len(g)) * step)
            points[1].extend(g.value)
            points[2].extend([palette[r]] * len(g))
            means[0].append(x0)
            means[1].append(g.value.mean())
            means[2].append(palette[r])
        if means[0]:
            ax.scatter(points[0], points[1], s=9, c=points[2], alpha=0.55, linewidths=0)
            ax.scatter(means[0], means[1], marker="_", s=90, c=means[2], linewidths=2)
        ax.set_xticks(range(len(sims)), sims)
        ax.set_xlim(-0.5, len(sims) - 0.5)
        ax.set_title(metric, fontsize=10)
        ax.set_xlabel("")
        ax.tick_params(axis="x", rotation=30, labelsize=8)
        for lbl in ax.get_xticklabels():
            lbl.set_horizontalalignment("right")
    for ax in axes.ravel()[len(metrics):]:
        ax.axis("off")
    handles = [plt.Line2D([], [], marker="o", linestyle="", color=c, label=r) for r, c in palette.items()]
    fig.legend(handles=handles, loc="lower center", ncol=min(4, n_routes), fontsize=8, frameon=False)
    fig.suptitle(title, fontsize=12)
    fit_margins(fig, axes, bottom=0.04 + 0.025 * int(np.ceil(n_routes / 4)))
    paths = []
    for ext in ("png", "pdf"):
        p = out / f"{family}.{ext}"
        fig.savefig(p, dpi=110)
        paths.append(p)
    plt.close(fig)
    return paths


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
    paths = []
    for ext in ("png", "pdf"):
        p = out / f"syntax_curves.{ext}"
        fig.savefig(p, dpi=110)
        paths.append(p)
    plt.close(fig)
    return paths


def _cached_figures(name: str, draw, df: pd.DataFrame, cache_root: Path, out: Path, title: str) -> dict:
    """Figures drawn from cached stage outputs are a bonus: a failure is logged and listed, and the
    tables are still written."""
    try:
        return draw(df, cache_root, out, title)
    except Exception as exc:
        log.exception("report figure %s failed", name)
        return {f"{name} (failed)": f"{type(exc).__name__}: {exc}"}


def _cached_table(name: str, make, df: pd.DataFrame, cache_root: Path):
    """A table read from cached stage outputs, or None when the cache cannot give it (logged; the
    report goes on)."""
    try:
        return make(df, cache_root)
    except Exception:
        log.exception("report table %r failed", name)
        return None


@frozen_heap()
def build_report(df: pd.DataFrame, out_dir, title: str = "results", cache_root=None) -> Path:
    """Write ``README.md``, ``index.html``, ``tables/*.csv`` and ``figures/*.{png,pdf}``; returns index.html."""
    out = Path(out_dir)
    (out / "tables").mkdir(parents=True, exist_ok=True)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    tables = metric_tables(df)
    for metric, t in tables.items():
        t.to_csv(out / "tables" / (metric.replace("/", "__") + ".csv"))
    statuses = status_table(df)
    statuses.to_csv(out / "tables" / "status.csv", index=False)

    # "(method)" rows only carry a skipped or failed status: they go to the status table, not a section
    families = sorted({_family(m) for m in df.metric.unique() if not str(m).startswith("(")})
    # every figure is an independent job, spread over the cores (one per simulation for the
    # figures read from the cache)
    jobs = [(family_figure, (df, fam, f"{title}: {FAMILY_TITLES.get(fam, fam)}", out / "figures"))
            for fam in families]
    jobs.append((syntax_curve_figure, (df, title, out / "figures")))
    if cache_root is not None:
        from .report_figures import (argminn_example_figures, model_tables, motif_logo_figures,
                                     training_curve_figures)

        jobs.append((_cached_table, ("seed selection, ceilings and shortfall", model_tables, df, Path(cache_root))))
        jobs += [(_cached_figures, (f"{name}: {sim}", draw, df[df.simulation == sim], Path(cache_root),
                                    out / "figures", title))
                 for name, draw in (("logos", motif_logo_figures), ("ARGMINN examples", argminn_example_figures),
                                    ("training curves", training_curve_figures))
                 for sim in sorted(df.simulation.unique())]
    drawn = share_work(jobs)
    figures = {fam: paths[0] for fam, paths in zip(families, drawn) if paths}
    extra = {}
    curves = drawn[len(families)]
    if curves:
        extra["Syntax: spacing curves of planted pairs"] = curves[0]
    n_table_jobs = 1 if cache_root is not None else 0
    tables_read = drawn[len(families) + 1] if n_table_jobs else None
    selection, ceilings, shortfall = tables_read or (pd.DataFrame(),) * 3
    for more in drawn[len(families) + 1 + n_table_jobs:]:
        extra.update(more)
    selected_routes = selected_seed_routes(df, selection)
    for name, table in (("seed_selected_on_validation", selection), ("simulation_ceilings", ceilings),
                        ("ceiling_shortfall", shortfall),
                        ("routes_on_selected_seed", selected_routes)):
        if not table.empty:
            table.to_csv(out / "tables" / f"{name}.csv", index=False)

    from .paper import paper_comparison

    against = paper_comparison(df)
    against.to_csv(out / "tables" / "against_paper.csv", index=False)
    md = [f"# {title}: ARGMINN-Bench report", ""]
    sims = sorted(df.simulation.unique())
    methods = sorted(m for m in df.method.unique() if not str(m).startswith("("))
    md.append(f"Simulations: {', '.join(sims)}. Models: {', '.join(sorted(df.model.unique()))}. "
              f"Methods: {', '.join(methods)}. "
              f"Seeds: {', '.join(map(str, sorted(df.seed.unique())))}. Each value is the mean over seeds "
              "± the standard deviation; every number comes from the run's `results.parquet` (copied into committed reports).")
    md.append("")
    # the sections of one table each, with a note saying how to read it
    noted = [(title, note, table) for title, note, table in (
        ("Against the paper", PAPER_NOTE, against),
        ("The seed selected on validation", SELECTION_NOTE, selection),
        ("The ceiling set by the simulation", CEILING_NOTE, ceilings),
        ("Where the models fall short of the ceiling", SHORTFALL_NOTE, shortfall),
        ("Routes on the seed selected on validation", SELECTED_ROUTES_NOTE, selected_routes),
        (f"Models that did not learn (test auROC < {UNLEARNED_AUROC})", UNLEARNED_NOTE, unlearned_models(df)))
        if not table.empty]
    for title_, note, table in noted:
        md += [f"## {title_}", "", note, "",
               table.to_markdown(index=False) if _has_tabulate() else table.to_string(index=False), ""]
    for fam in families:
        md.append(f"## {FAMILY_TITLES.get(fam, fam)}")
        md.append("")
        if fam in figures:
            md.append(f"![{fam}](figures/{figures[fam].name})")
            md.append("")
        for metric in sorted(m for m in tables if _family(m) == fam):
            md.append(f"**{metric}**")
            md.append("")
            md.append(tables[metric].to_markdown() if _has_tabulate() else tables[metric].to_string())
            md.append("")
    for name, path in extra.items():
        md.append(f"## {name}")
        md.append("")
        md.append(f"![{name}](figures/{Path(str(path)).name})" if isinstance(path, Path) else str(path))
        md.append("")
    md.append("## Skipped and failed")
    md.append("")
    md.append("(none)" if statuses.empty else (statuses.to_markdown(index=False) if _has_tabulate()
                                                else statuses.to_string(index=False)))
    (out / "README.md").write_text("\n".join(md) + "\n")
    (out / "index.html").write_text(_html(title, families, tables, figures, extra, statuses, noted))
    return out / "index.html"


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401

        return True
    except ImportError:
        return False


def _html(title, families, tables, figures, extra, statuses, noted) -> str:
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
             "<style>body{font-family:sans-serif;max-width:1200px;margin:auto;padding:1em}"
             "table{border-collapse:collapse;font-size:12px;margin-bottom:1em}"
             "td,th{border:1px solid #ccc;padding:2px 6px}img{max-width:100%}</style></head><body>",
             f"<h1>{html.escape(title)}: ARGMINN-Bench report</h1>"]
    for title_, note, table in noted:
        parts += [f"<h2>{html.escape(title_)}</h2>", f"<p>{html.escape(note)}</p>", table.to_html(index=False, escape=True)]
    for fam in families:
        parts.append(f"<h2>{html.escape(FAMILY_TITLES.get(fam, fam))}</h2>")
        if fam in figures:
            parts.append(f"<img src='figures/{figures[fam].name}' alt='{fam}'>")
        for metric in sorted(m for m in tables if _family(m) == fam):
            parts.append(f"<h4>{html.escape(metric)}</h4>")
            parts.append(tables[metric].to_html(escape=True))
    for name, path in extra.items():
        parts.append(f"<h2>{html.escape(name)}</h2>")
        parts.append(f"<img src='figures/{Path(str(path)).name}'>" if isinstance(path, Path)
                     else f"<p>{html.escape(str(path))}</p>")
    parts.append("<h2>Skipped and failed</h2>")
    parts.append("<p>(none)</p>" if statuses.empty else statuses.to_html(index=False, escape=True))
    parts.append("</body></html>")
    return "\n".join(parts)


def _json(obj) -> str:
    return json.dumps(obj, sort_keys=True, default=str)
