"""TF-MoDISco (modisco-lite 3.0) behind one small interface: attributions in, patterns out.

* :func:`run_modisco` takes one-hot sequences and hypothetical contributions in the project's
  ``(N, 4, L)`` layout (not a model), writes them to a work folder and runs modisco-lite in a fresh
  Python process (``python -m bench.methods._modisco_worker``). Why a process: modisco-lite compiles
  its numba kernels in forked children only while no other thread runs; after memelite's FIMO or
  Tomtom has started numba's thread pool in this process, the same run is ~4x slower
  (ecosystem.md §2.5).
* The layout changes in exactly one place, :func:`to_modisco_layout` (``(N, 4, L)`` -> ``(N, L, 4)``,
  what modisco-lite's Python API takes), called by the worker.
* Every parameter is pinned and recorded (:data:`MODISCO_DEFAULTS`; the API and the CLI have
  different defaults, so we set all of them). The defaults are the CLI's (``-l 2 -f 5 -z 20 -t 30
  -g 10 -j 0``, FDR 0.05): the reference repository ran the CLI.
* "No motifs found" is an empty :class:`ModiscoResult`, not an error.
* :func:`jaspar_meme` + :func:`report` make ``modisco report -l`` work offline (memelite's Tomtom,
  a MEME file built from pyjaspar).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from simulations.validation import validate_one_hot_shape

#: every TFMoDISco argument we set; ``max_seqlets`` is ``max_seqlets_per_metacluster``,
#: ``window`` the central crop (None = the whole sequence), ``n_threads`` NUMBA_NUM_THREADS
MODISCO_DEFAULTS = {
    "max_seqlets": 2000,
    "window": None,
    "sliding_window_size": 20,
    "flank_size": 5,
    "target_seqlet_fdr": 0.05,
    "n_leiden_runs": 2,
    "trim_to_window_size": 30,
    "initial_flank_to_add": 10,
    "final_flank_to_add": 0,
    "min_metacluster_size": 100,
    "final_min_cluster_size": 20,
    "n_threads": 1,
}

#: the TFMoDISco keyword each of our parameters maps to (window and n_threads are ours)
_API_NAMES = {"max_seqlets": "max_seqlets_per_metacluster"}


@dataclass
class Pattern:
    """One modisco-lite pattern.

    Attributes
    ----------
    name : str
        ``pos_pattern_k`` / ``neg_pattern_k``.
    ppm, cwm, hcwm : numpy.ndarray (4, W)
        Untrimmed position probability, contribution and hypothetical contribution matrices.
    seqlets : pandas.DataFrame
        ``seq, start, end, strand`` in the coordinates of the full input sequences.
    """

    name: str
    ppm: np.ndarray
    cwm: np.ndarray
    hcwm: np.ndarray
    seqlets: "object"


@dataclass
class ModiscoResult:
    patterns: list = field(default_factory=list)
    h5_path: Path | None = None
    params: dict = field(default_factory=dict)
    runtime_s: float = 0.0
    log: str = ""
    no_patterns_reason: str = ""


def check_modisco_params(params: dict | None) -> dict:
    """Defaults merged with ``params``; unknown keys raise ValueError listing the valid ones."""
    params = dict(params or {})
    unknown = sorted(set(params) - set(MODISCO_DEFAULTS))
    if unknown:
        raise ValueError(f"unknown modisco parameter(s) {unknown}; valid: {sorted(MODISCO_DEFAULTS)}")
    merged = {**MODISCO_DEFAULTS, **params}
    if int(merged["max_seqlets"]) < 1:
        raise ValueError(f"max_seqlets must be >= 1, got {merged['max_seqlets']}")
    return merged


def to_modisco_layout(a: np.ndarray, name: str = "array") -> np.ndarray:
    """``(N, 4, L)`` -> ``(N, L, 4)`` float32: the only transpose between us and modisco-lite."""
    a = validate_one_hot_shape(np.asarray(a), name)
    return np.ascontiguousarray(a.transpose(0, 2, 1), dtype=np.float32)


def window_offsets(length: int, window: int | None) -> tuple[int, int]:
    """The central crop modisco-lite's CLI takes (``center ± window // 2``)."""
    if window is None or int(window) >= length:
        return 0, length
    center = length // 2
    return center - int(window) // 2, center + int(window) // 2


def api_kwargs(params: dict) -> dict:
    """The TFMoDISco keyword arguments for our (checked) parameters."""
    skip = {"window", "n_threads"}
    return {_API_NAMES.get(k, k): v for k, v in params.items() if k not in skip}


ZERO_FILL = 1e-6  # relative to the largest |score|


def fill_exact_zeros(hypothetical: np.ndarray, relative: float = ZERO_FILL, seed: int = 0) -> np.ndarray:
    """Replace exact zeros by seeded uniform noise of at most ``relative`` × max |score|.

    modisco-lite divides by the norm of a seqlet's scores when it compares seqlets; a window of exact
    zeros makes that 0/0, and the NaN crashes its clustering ("Cannot accept NaN weights",
    jmschrei/tfmodisco-lite#12) or its pattern merging. Exact zeros are common on models with ReLU
    motif scanners: DeepLIFT gives 0 wherever no filter fires in the sequence nor in any reference
    (62% of positions on one trained ARGMINN here). Noise a million times below the largest score
    changes no threshold modisco-lite draws; all-zero input is returned as it is (it has no scale).

    Parameters
    ----------
    hypothetical : numpy.ndarray (N, 4, L)
    relative : float
        Bound of the noise, relative to ``max |hypothetical|``.
    seed : int
        Seed of the noise: same input, same output.

    Returns
    -------
    numpy.ndarray (N, 4, L) float32, a copy.
    """
    hyp = np.array(hypothetical, dtype=np.float32)
    scale = float(relative) * float(np.abs(hyp).max(initial=0.0))
    zeros = hyp == 0
    if scale > 0 and zeros.any():
        noise = np.random.default_rng(seed).uniform(-scale, scale, size=int(zeros.sum()))
        hyp[zeros] = noise.astype(np.float32)
    return hyp


def run_modisco(x, hypothetical, params: dict | None = None, workdir=None, timeout: float | None = None,
                keep_inputs: bool = False) -> ModiscoResult:
    """Run modisco-lite on attributions in its own process.

    Parameters
    ----------
    x : numpy.ndarray (N, 4, L)
        One-hot sequences.
    hypothetical : numpy.ndarray (N, 4, L)
        Hypothetical contributions (modisco-lite multiplies by ``x`` itself); exact zeros are filled
        by :func:`fill_exact_zeros` first.
    params : dict
        Overrides of :data:`MODISCO_DEFAULTS`.
    workdir : path
        Where the inputs, the ``modisco.h5`` results file and the log go, used as given (two runs
        must not share one); a fresh temporary folder when None. The results file and log are kept
        and the folder belongs to the caller (``result.h5_path`` points into it): the MoDISco route
        gives each call a fresh folder and removes it once the patterns are read.
    timeout : float, optional
        Seconds before the modisco-lite process is killed.
    keep_inputs : bool
        Keep ``inputs.npz`` (the arrays as handed to the worker) after a successful run.

    Returns
    -------
    ModiscoResult, with no patterns when modisco-lite finds none.
    """
    import tempfile

    params = check_modisco_params(params)
    x = validate_one_hot_shape(np.asarray(x, dtype=np.float32), "x")
    hyp = np.asarray(hypothetical, dtype=np.float32)
    if hyp.shape != x.shape:
        raise ValueError(f"hypothetical must have the shape of x {x.shape}, got shape {hyp.shape}")
    hyp = fill_exact_zeros(hyp)
    work = Path(workdir) if workdir is not None else Path(tempfile.mkdtemp(prefix="modisco_"))
    work.mkdir(parents=True, exist_ok=True)
    np.savez(work / "inputs.npz", x=x, hypothetical=hyp)  # project layout (N, 4, L) on disk
    job = {"inputs": str(work / "inputs.npz"), "output": str(work / "modisco.h5"), "params": params}
    (work / "job.json").write_text(json.dumps(job, indent=1))

    env = dict(os.environ, NUMBA_NUM_THREADS=str(int(params["n_threads"])))
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "bench.methods._modisco_worker", str(work / "job.json")],
                          capture_output=True, text=True, env=env, timeout=timeout)
    runtime = time.perf_counter() - t0
    log = proc.stdout + proc.stderr
    (work / "modisco.log").write_text(log)
    if proc.returncode != 0:
        raise RuntimeError(f"modisco-lite failed (exit {proc.returncode}); last output:\n{log[-2000:]}")
    if not keep_inputs:
        # 2 x N x 4 x L float32 each run, and reproducible from the attributions: not worth the disk
        (work / "inputs.npz").unlink()
    start, _ = window_offsets(x.shape[2], params["window"])
    patterns = read_patterns(work / "modisco.h5", offset=start)
    reason = ""
    if not patterns:
        import h5py

        with h5py.File(work / "modisco.h5", "r") as f:
            reason = str(f.attrs.get("no_patterns_reason", ""))
    return ModiscoResult(patterns, work / "modisco.h5", params, runtime, log[-4000:], reason)


def read_patterns(h5_path, offset: int = 0) -> list[Pattern]:
    """Patterns of a modisco-lite results file, matrices as ``(4, W)``; seqlet coordinates shifted
    by ``offset`` (the start of the central window) back into the full sequences."""
    import h5py
    import pandas as pd

    out = []
    with h5py.File(h5_path, "r") as f:
        for group, prefix in (("pos_patterns", "pos"), ("neg_patterns", "neg")):
            if group not in f:
                continue
            names = sorted(f[group].keys(), key=lambda s: int(s.split("_")[-1]))
            for key in names:
                p = f[group][key]
                s = p["seqlets"]
                seqlets = pd.DataFrame({
                    "seq": np.asarray(s["example_idx"], dtype=np.int64),
                    "start": np.asarray(s["start"], dtype=np.int64) + offset,
                    "end": np.asarray(s["end"], dtype=np.int64) + offset,
                    "strand": np.where(np.asarray(s["is_revcomp"], dtype=bool), "-", "+").astype(object),
                })
                out.append(Pattern(f"{prefix}_{key}", np.asarray(p["sequence"]).T.copy(),
                                   np.asarray(p["contrib_scores"]).T.copy(),
                                   np.asarray(p["hypothetical_contribs"]).T.copy(), seqlets))
    return out


# ---------------------------------------------------------------------- offline report


def jaspar_meme(path, release: str = "JASPAR2024", collection: str = "CORE",
                tax_group: str = "vertebrates") -> Path:
    """Write the latest-version JASPAR motifs of one collection and taxon to a MEME file (offline:
    pyjaspar ships its SQLite databases). 879 motifs for the defaults, ~0.7 MB."""
    from pyjaspar import jaspardb

    from simulations import Motif, write_meme

    motifs = []
    for m in jaspardb(release=release).fetch_motifs(collection=collection, tax_group=[tax_group]):
        counts = np.array([m.counts[b] for b in "ACGT"], dtype=np.float64)
        # the id alone as the MEME name: TF names hold "::" and spaces
        motifs.append(Motif(m.matrix_id, counts / counts.sum(axis=0, keepdims=True),
                            {"jaspar": m.matrix_id, "tf": m.name, "release": release}))
    return write_meme(path, motifs)


def report(h5_path, output_dir, meme_db=None, n_matches: int = 3, trim_threshold: float = 0.3,
           timeout: float | None = None) -> Path:
    """``modisco report -l`` on a results file: logos and, with ``meme_db``, Tomtom matches by
    memelite (``-l``: the path without ``-l`` needs the MEME suite's binary)."""
    exe = Path(sys.executable).with_name("modisco")
    cmd = [str(exe), "report", "-i", str(h5_path), "-o", str(output_dir), "-n", str(n_matches),
           "--trim_threshold", str(trim_threshold)]
    if meme_db is not None:
        cmd += ["-m", str(meme_db), "-l"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"modisco report failed (exit {proc.returncode}):\n{(proc.stdout + proc.stderr)[-2000:]}")
    return Path(output_dir)
