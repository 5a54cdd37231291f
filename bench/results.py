"""The tidy results table and the provenance stored beside it."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pandas as pd

from .cache import atomic_write_text, atomic_write_with

RESULT_COLUMNS = ["suite", "simulation", "model", "seed", "method", "metric", "value", "status", "reason",
                  "model_params", "method_params", "detail"]
# "not_learned": an interpretation of a model that failed the learned gate (bench.gate); its value is
# kept but never enters a route's mean or a verdict
STATUSES = ("ok", "skipped", "failed", "not_learned")
TRACKED_PACKAGES = ("torch", "numpy", "pandas", "captum", "shap", "tangermeme", "modisco-lite", "memelite",
                    "pyjaspar", "scikit-learn", "scipy", "logomaker", "seaborn", "ray")


def row(suite, simulation, model, seed, method, metric, value=float("nan"), status="ok", reason="",
        model_params="", method_params="", detail="") -> dict:
    if status not in STATUSES:
        raise ValueError(f"status must be one of {STATUSES}, got {status!r}")
    return dict(suite=suite, simulation=simulation, model=model, seed=int(seed), method=method, metric=metric,
                value=float(value) if value is not None else float("nan"), status=status, reason=str(reason),
                model_params=model_params, method_params=method_params, detail=str(detail))


def to_frame(rows) -> pd.DataFrame:
    df = pd.DataFrame(list(rows), columns=RESULT_COLUMNS)
    df["seed"] = df["seed"].astype("int64")
    df["value"] = df["value"].astype("float64")
    return df.sort_values(["simulation", "model", "seed", "method", "metric"], kind="stable").reset_index(drop=True)


def write_results(df: pd.DataFrame, out_dir, provenance: dict) -> dict:
    """Write ``results.parquet``, ``results.csv`` and ``provenance.json`` atomically.

    Each goes through its own uniquely named temporary file in ``out_dir`` and an atomic rename,
    so concurrent writers (two runs on one folder) never collide, and a reader sees an old or a new
    file, never a part of one. The files get the umask's mode.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    paths["parquet"] = atomic_write_with(out_dir / "results.parquet", lambda tmp: df.to_parquet(tmp, index=False))
    paths["csv"] = atomic_write_text(out_dir / "results.csv", df.to_csv(index=False))
    paths["provenance"] = atomic_write_text(out_dir / "provenance.json",
                                            json.dumps(provenance, indent=1, sort_keys=True, default=str))
    return paths


def with_earlier_runs(prov: dict, previous: Path) -> dict:
    """``prov`` with the provenance of every earlier run into the same folder under ``earlier_runs``
    (oldest first): a rerun served from the cache records its own few seconds without losing the
    first run's machine, commit and wall time. An unreadable earlier file is noted, not fatal."""
    earlier = []
    if Path(previous).is_file():
        try:
            old = json.loads(Path(previous).read_text())
            earlier = list(old.pop("earlier_runs", [])) + [old]
        except (OSError, ValueError, AttributeError) as exc:
            earlier = [{"unreadable": f"{type(exc).__name__}: {exc}"}]
    return {**prov, "earlier_runs": earlier} if earlier else dict(prov)


def read_results(path) -> pd.DataFrame:
    """Read a results table (``results.parquet``/``.csv``, or the run folder holding one).

    Raises
    ------
    FileNotFoundError
        If there is no table there.
    ValueError
        If the file is not a results table (unreadable, or without the result columns), naming it.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "results.parquet"
    if not path.is_file():
        raise FileNotFoundError(f"no results table at {path} (run `python -m bench run SUITE` first)")
    try:
        df = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    except Exception as exc:  # ArrowInvalid, ParserError, UnicodeDecodeError, ...
        raise ValueError(f"{path} is not a readable results table ({type(exc).__name__}: {exc})") from exc
    missing = [c for c in ("suite", "simulation", "model", "seed", "method", "metric", "value", "status")
               if c not in df.columns]
    if missing:
        raise ValueError(f"{path} is not a results table: it lacks the columns {missing}")
    return df


def package_versions() -> dict:
    out = {"python": sys.version.split()[0]}
    for name in TRACKED_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def git_commit(cwd=None) -> str | None:
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd,
                               capture_output=True, text=True, timeout=10)
        if sha.returncode != 0:
            return None
        return sha.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def provenance(suite, counters: dict, wall_s: float) -> dict:
    try:
        import torch

        device = "cuda:" + torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    except Exception:  # pragma: no cover
        device = "unknown"
    return {
        "suite": suite.name, "suite_hash": suite.hash, "selection": suite.selection,
        "description": getattr(getattr(suite, "raw", None), "description", None),
        "suite_file": str(suite.source) if suite.source else None,
        "git_commit": git_commit(Path(__file__).parent),
        "packages": package_versions(), "device": device,
        "platform": platform.platform(), "cpu_count": __import__("os").cpu_count(),
        "cache": counters, "wall_s": round(wall_s, 2),
    }


CELL = ["simulation", "model", "seed"]


def _model_keys(df: pd.DataFrame) -> dict:
    """(simulation, model, seed) → the trained model's cache key, read from the training-time rows."""
    train = df[df.metric == "runtime_s/train"]
    return {tuple(r[c] for c in CELL): json.loads(r["detail"] or "{}").get("model_key")
            for _, r in train.iterrows()}


def merge_parts(parts: list[pd.DataFrame]) -> tuple[pd.DataFrame, list[str]]:
    """Merge the results of one suite run in parts (``run --models/--methods``, other sessions).

    A later part wins: its rows replace an earlier part's rows for the same cell and method, and
    where it trained a cell's model under a different cache key (other code or settings), every
    earlier row of that cell goes, since it read another model.

    Returns
    -------
    merged : pd.DataFrame
        In the order of :func:`to_frame`.
    notes : list of str
        What was replaced or dropped, for the caller to show.
    """
    if not parts:
        raise ValueError("merge_parts needs at least one results table")
    suites = sorted({s for p in parts for s in p.suite.unique()})
    if len(suites) > 1:
        raise ValueError(f"results of different suites cannot be merged: {suites}")
    merged, notes = parts[0], []
    for i, part in enumerate(parts[1:], start=2):
        new_keys = _model_keys(part)
        old_keys = _model_keys(merged)
        retrained = {c for c, k in new_keys.items() if c in old_keys and old_keys[c] != k}
        cell_of = merged[CELL].apply(tuple, axis=1)
        stale = cell_of.isin(retrained)
        replaced = merged[CELL + ["method"]].apply(tuple, axis=1).isin(
            set(part[CELL + ["method"]].apply(tuple, axis=1)))
        if stale.any():
            notes.append(f"part {i} retrained {len(retrained)} cells under another model key: "
                         f"{int(stale.sum())} earlier rows dropped")
        if (replaced & ~stale).any():
            notes.append(f"part {i} replaced {int((replaced & ~stale).sum())} earlier rows of the same cells and methods")
        merged = pd.concat([merged[~(stale | replaced)], part], ignore_index=True)
    return to_frame(merged.to_dict("records")), notes
