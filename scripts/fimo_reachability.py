"""How many planted sites can the scanning routes' FIMO reach, and at what background cost?

For every motif of every preset in ``simulations/presets/`` (half-sites included), and for each
candidate scan-threshold rule of :mod:`bench.methods.scanning`:

* ``reach``: the share of PFM-sampled sites (``--sites`` per motif, each drawn column by column from
  the PFM on a random strand, as the simulator plants them, at the centre of a 100-bp window of the
  preset's own background model) that the route's scan (:func:`scan_instances`, this motif alone,
  merged hits) calls, a call counting when it overlaps the site by the instance metric's rule
  (``bench.metrics.instances.overlap_pairs``); ``reach_site``: the share with a hit on the site's
  own window (either strand), i.e. without help from a flank hit;
* ``bg_per_kb``: merged calls per kb on ``--background`` x 500-bp sequences drawn from the preset's
  background model, and ``bg_per_kb_cleaned`` on the same number drawn by the simulator with the
  preset's ``reject_matches`` cleaning (what the interpreted sequences' background looks like).

Per-motif rules (``sensitivity``, ``background_rate``) compute their cut-off as a route would: from
the PFM alone, or from one dinucleotide shuffle of the scanned background sequences.

A second table, ``positive_control.csv``, runs the positive control itself (the true functional
motifs scanned together, merged, as ``METHODS["positive_control"]``) on ``--positives`` positive
sequences simulated from each preset and scores it with ``bench.metrics.instances.instance_scores``:
recall, precision and F1 against the planted truth, and the share of calls that are background
matches (:func:`bench.methods.scanning.background_matches`).

Usage (about 75 s on two cores)::

    .venv/bin/python scripts/fimo_reachability.py            # writes reports/scanning/*.csv
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

import simulations
from bench.metrics.instances import instance_scores, overlap_pairs
from bench.methods import random_motifs
from bench.methods.scanning import (DEFAULT_SCAN_THRESHOLD, background_matches, check_scan_threshold,
                                    fimo_hits, motif_pvalues, scan_instances)
from simulations import BackgroundModel, parse_spec

#: candidate rules, by the column label used in the tables
CANDIDATES = {
    "p1e-4": {"pvalue": 1e-4},
    "p3e-4": {"pvalue": 3e-4},
    "p1e-3": {"pvalue": 1e-3},
    "p2e-3": {"pvalue": 2e-3},
    "p5e-3": {"pvalue": 5e-3},
    "bgrate1": {"background_rate": 1.0, "max_pvalue": 1e-2},
    "bgrate4": {"background_rate": 4.0, "max_pvalue": 1e-2},
    "sens0.8": {"sensitivity": 0.8, "max_pvalue": 3e-3},
    "sens0.9": {"sensitivity": 0.9, "max_pvalue": 3e-3},  # the default
    "sens0.9cap1e-2": {"sensitivity": 0.9, "max_pvalue": 1e-2},
    "sens0.95": {"sensitivity": 0.95, "max_pvalue": 3e-3},
}
SITE_WINDOW = 100
BG_LENGTH = 500


def one_hot(codes: np.ndarray) -> np.ndarray:
    return (codes[:, None, :] == np.arange(4, dtype=np.int8)[None, :, None]).astype(np.float32)


def sample_sites(pfm: np.ndarray, background: BackgroundModel, n: int, rng) -> tuple[np.ndarray, int]:
    """``n`` windows of background with one PFM-sampled site at the centre; returns (x, start)."""
    width = pfm.shape[1]
    codes = background.sample(n, SITE_WINDOW, rng)
    minus = rng.random(n) < 0.5
    u = rng.random((n, width))
    start = (SITE_WINDOW - width) // 2
    for sign, rows in (("+", ~minus), ("-", minus)):
        p = pfm if sign == "+" else pfm[::-1, ::-1]
        cum = np.cumsum(p, axis=0)
        bases = np.minimum((u[rows][:, :, None] >= cum.T[None, :, :]).sum(axis=2), 3).astype(np.int8)
        codes[np.flatnonzero(rows)[:, None], start + np.arange(width)[None, :]] = bases
    return one_hot(codes), start


def background_only(preset: str, n: int, seed: int, cleaned: bool) -> np.ndarray:
    """``n`` background sequences of the preset's model, cleaned by the simulator or not."""
    spec = simulations.load_preset(preset)
    spec.update(length=BG_LENGTH, decoys=[],
                classes=[{"name": "background", "label": 0, "fraction": 1.0, "configs": [{"name": "background"}]}])
    if not cleaned:
        spec["reject_matches"] = False
    return simulations.simulate(spec, n, seed).x.astype(np.float32)


def reach_rows(preset, name, kind, pfm, sites_x, start, bg_raw, bg_clean, seed):
    width = pfm.shape[1]
    n = len(sites_x)
    truth = pd.DataFrame({"seq": np.arange(n), "start": start, "end": start + width})
    kb_raw = bg_raw.shape[0] * bg_raw.shape[2] / 1000
    kb_clean = bg_clean.shape[0] * bg_clean.shape[2] / 1000
    row = {"preset": preset, "motif": name, "kind": kind, "width": width,
           "total_ic": float(simulations.information_content(pfm).sum()),
           "best_pvalue": float(0.25 ** width)}
    for label, rule in CANDIDATES.items():
        # the per-motif cut-off as a route computes it (background_rate: from a shuffle of the
        # background sequences it scans); then the same cut-off on the sites and the backgrounds
        cut = motif_pvalues({name: pfm}, bg_raw, rule, seed)[name]
        fixed = {"pvalue": cut}
        calls, _ = scan_instances({name: pfm}, sites_x, fixed)
        _, tj, _ = overlap_pairs(calls, truth)
        hits = fimo_hits({name: pfm}, sites_x, cut)
        own = hits[(hits.start == start) & (hits.end == start + width)]
        row[f"pvalue_{label}"] = cut
        row[f"reach_{label}"] = len(np.unique(tj)) / n
        row[f"reach_site_{label}"] = own.seq.nunique() / n
        row[f"bg_per_kb_{label}"] = len(scan_instances({name: pfm}, bg_raw, fixed)[0]) / kb_raw
        row[f"bg_per_kb_cleaned_{label}"] = len(scan_instances({name: pfm}, bg_clean, fixed)[0]) / kb_clean
    return row


def positive_control_rows(preset, n_pos, seed):
    from bench.families import functional_motifs

    ds = simulations.simulate(preset, 4 * n_pos, seed)
    index = np.flatnonzero(ds.y == 1)[:n_pos]
    x = ds.x[index].astype(np.float32)
    truth = ds.truth_for(index)
    motifs = {m.name: m.pfm for m in functional_motifs(ds)}
    rows = []
    for label, rule in CANDIDATES.items():
        calls, details = scan_instances(motifs, x, rule, merge=True, seed=seed)
        s = instance_scores(calls, truth, n_sequences=len(x))
        bgm = background_matches(motifs, x, truth, rule, merge=True, seed=seed)
        rows.append({"preset": preset, "rule": label, "n_sequences": len(x),
                     "n_functional_sites": int(truth.functional.sum()), "n_calls": len(calls),
                     "recall": s["recall"], "precision": s["precision"], "f1": s["f1"],
                     "paper_recall_distinct": s["paper_recall_distinct"],
                     "background_matches": len(bgm),
                     "background_match_share": len(bgm) / len(calls) if len(calls) else np.nan,
                     "calls_per_sequence": len(calls) / len(x),
                     "pvalues": ";".join(f"{k}={v:.2e}" for k, v in details["scan_pvalues"].items())})
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sites", type=int, default=500, help="PFM-sampled sites per motif")
    ap.add_argument("--background", type=int, default=200, help="500-bp background sequences per preset")
    ap.add_argument("--positives", type=int, default=300, help="positive sequences per preset (positive control)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="reports/scanning")
    args = ap.parse_args(argv)
    for rule in CANDIDATES.values():
        check_scan_threshold(rule)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    rows, pc_rows = [], []
    for pi, preset in enumerate(simulations.list_presets()):
        resolved = parse_spec(preset)
        background = BackgroundModel(resolved.spec.background)
        seed = args.seed * 1000 + pi
        rng = np.random.default_rng(seed)
        bg_raw = background_only(preset, args.background, seed, cleaned=False)
        bg_clean = background_only(preset, args.background, seed, cleaned=True)
        for name, motif in resolved.motifs.items():
            sites_x, start = sample_sites(motif.pfm, background, args.sites, rng)
            rows.append(reach_rows(preset, name, "planted", motif.pfm, sites_x, start, bg_raw, bg_clean, seed))
        # the negative control's random motifs (seed 0, the preset's functional widths)
        from bench.families import functional_motifs

        ds_small = simulations.simulate(preset, 20, seed)
        for m in random_motifs([m.width for m in functional_motifs(ds_small)], 0):
            sites_x, start = sample_sites(m.pfm, background, args.sites, rng)
            rows.append(reach_rows(preset, m.name, "random (negative_control, seed 0)", m.pfm, sites_x, start,
                                   bg_raw, bg_clean, seed))
        pc_rows += positive_control_rows(preset, args.positives, seed)
        print(f"{preset}: done at {time.perf_counter() - t0:.0f} s", flush=True)
    table = pd.DataFrame(rows)
    table.to_csv(out / "reachability.csv", index=False, float_format="%.4g")
    pd.DataFrame(pc_rows).to_csv(out / "positive_control.csv", index=False, float_format="%.4g")
    planted = table[table.kind == "planted"]
    cols = ["preset", "motif", "width"] + [f"reach_{c}" for c in CANDIDATES]
    with pd.option_context("display.width", 250, "display.max_columns", 40):
        print(planted[cols].round(3).to_string(index=False))
        print(planted[["preset", "motif"] + [f"bg_per_kb_{c}" for c in CANDIDATES]].round(2).to_string(index=False))
    print(f"default rule {DEFAULT_SCAN_THRESHOLD}; {time.perf_counter() - t0:.0f} s in all")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
