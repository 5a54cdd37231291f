"""Tabulate scripts/schedule_probe.py's outputs: each grammar and model under both schedules, side by side.

    python scripts/schedule_table.py reports/schedules

Writes ``summary.csv`` and ``README.md`` into the folder: per grammar and model, for ``schedule: paper``
and the default (adaptive) schedule, the validation auROC of the epoch kept (what seed selection reads),
the test auROC, the likelihood-ratio ceiling of the same test split, the read-out's motif recall
(ARGMINN), the epochs trained, the outcome and the training time. Nothing is typed in: every number
is read from the probes' JSON files.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

COLUMNS = ["preset", "model", "seed", "schedule", "kept_valid_auroc", "test_auroc", "ceiling", "gap_to_ceiling",
           "readout_motif_recall", "epochs_trained", "ramp_start", "outcome", "train_time_s"]


def load(folder: Path) -> pd.DataFrame:
    rows = []
    for path in sorted(folder.glob("*.json")):
        d = json.loads(path.read_text())
        ramp = [e.get("first_epoch") for e in d.get("events", []) if e.get("event") == "ramp_started"]
        rows.append({"preset": d["preset"], "model": d["model"], "seed": d.get("seed", 0), "schedule": d["schedule"],
                     "kept_valid_auroc": d.get("kept_valid_auroc"), "test_auroc": d["test_auroc"],
                     "ceiling": d.get("ceiling"), "gap_to_ceiling": d.get("ceiling", float("nan")) - d["test_auroc"],
                     "readout_motif_recall": d.get("readout_motif_recall"), "epochs_trained": d["epochs_trained"],
                     "ramp_start": ramp[0] if ramp else None,
                     "outcome": d.get("outcome") or ("(paper schedule)" if d["schedule"] == "paper" else ""),
                     "train_time_s": d["train_time_s"]})
    return pd.DataFrame(rows, columns=COLUMNS)


def paired(df: pd.DataFrame) -> pd.DataFrame:
    """One row per grammar, model and seed with both schedules: adaptive minus paper."""
    keys = ["preset", "model", "seed"]
    a = df[df.schedule == "adaptive"].set_index(keys)
    p = df[df.schedule == "paper"].set_index(keys)
    both = a.index.intersection(p.index)
    out = pd.DataFrame({
        "valid_adaptive": a.loc[both, "kept_valid_auroc"], "valid_paper": p.loc[both, "kept_valid_auroc"],
        "test_adaptive": a.loc[both, "test_auroc"], "test_paper": p.loc[both, "test_auroc"],
        "recall_adaptive": a.loc[both, "readout_motif_recall"], "recall_paper": p.loc[both, "readout_motif_recall"],
        "time_adaptive_s": a.loc[both, "train_time_s"], "time_paper_s": p.loc[both, "train_time_s"]})
    out["valid_difference"] = out.valid_adaptive - out.valid_paper
    out["adaptive_not_worse"] = out.valid_difference >= -0.01
    return out.reset_index()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("folder", type=Path)
    folder = ap.parse_args().folder
    df = load(folder)
    df.to_csv(folder / "summary.csv", index=False, float_format="%.4f")
    pairs = paired(df)
    pairs.to_csv(folder / "paired.csv", index=False, float_format="%.4f")
    fmt = lambda t: t.to_markdown(index=False, floatfmt=".3f")  # noqa: E731
    text = ["# The two schedules at the paper's training length", "",
            "Written by `python scripts/schedule_table.py reports/schedules` from the JSON files beside it (each "
            "from `scripts/schedule_probe.py PRESET MODEL SCHEDULE OUT --n 20000 --seed S --length paper`: 20,000 "
            "sequences, the package's training defaults, 40 planned epochs of 100 batches; the adaptive schedule "
            "may train up to 160). One seed per row: a difference here is one draw, not an interval. Training "
            "times are wall seconds on 2 cores shared by two probes at a time and, part of the time, tests: "
            "read them as rough.", "",
            "## Every probe", "", fmt(df), "",
            "## Paired: the default (adaptive) schedule against `schedule: paper`", "",
            "`valid_*`: the validation auROC of the epoch each kept (what seed selection reads); `recall_*`: the "
            "read-out's motif recall (ARGMINN). `adaptive_not_worse`: the adaptive schedule's kept validation "
            "auROC is at most 0.01 below the paper schedule's.", "",
            fmt(pairs) if len(pairs) else "(no grammar has both schedules yet)", ""]
    (folder / "README.md").write_text("\n".join(text))
    print(fmt(pairs) if len(pairs) else fmt(df))


if __name__ == "__main__":
    main()
