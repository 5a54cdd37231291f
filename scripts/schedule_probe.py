"""Train one model on one grammar under one schedule and write what happened (for issue 18's measurements).

    python scripts/schedule_probe.py PRESET MODEL SCHEDULE OUT.json [--n 12000] [--seed 0] [--length suite|paper]

``--length suite`` is the default suite's training (25 x 40 batches; ARGMINN with a 10-epoch burn-in and a
10-epoch ramp), ``paper`` the package's defaults (40 x 100 batches, the reference's 10 + 20 + 10 schedule).
The JSON holds the test auROC, the likelihood-ratio ceiling of the same test split, the training time, the
best epoch, the schedule's events and the per-epoch validation curve.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

SUITE_ARGMINN = {"epochs": 25, "batches_per_epoch": 40, "patience": 25,
                 "overlap_weight": {"burn_in": 10, "start_exp": 0.5, "end_exp": 5, "steps": 10, "hold": 5},
                 "l1_weight": {"burn_in": 10, "start_exp": -3, "end_exp": -2, "steps": 10, "hold": 5}}
SUITE_BASELINE = {"epochs": 25, "batches_per_epoch": 40, "patience": 25}


def main() -> None:
    import models
    import simulations
    from bench.metrics.prediction import likelihood_ratio_oracle

    ap = argparse.ArgumentParser()
    ap.add_argument("preset")
    ap.add_argument("model")
    ap.add_argument("schedule", choices=["paper", "adaptive"])
    ap.add_argument("out")
    ap.add_argument("--n", type=int, default=12000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--length", choices=["suite", "paper"], default="suite")
    a = ap.parse_args()
    torch.set_num_threads(1)
    spec = simulations.load_preset(a.preset) if a.preset in simulations.list_presets() else a.preset
    ds = simulations.simulate(spec, n=a.n, seed=a.seed)
    if a.length == "suite":
        train = dict(SUITE_ARGMINN if a.model == "argminn" else SUITE_BASELINE)
    else:
        train = {}
    train.update({"schedule": a.schedule, "progress": False})
    if a.schedule == "adaptive" and a.length == "suite":
        train["patience"] = 10  # counted once the model has learned (the fixed schedule's 25 = no early stop)
    config = models.TrainConfig.from_dict(train)
    model = models.build_model(a.model, {}, ds.length, seed=a.seed)
    t0 = time.perf_counter()
    result = models.fit(model, ds, config, seed=a.seed)
    wall = time.perf_counter() - t0
    x_test, y_test = ds.subset("test")
    ceiling = float(likelihood_ratio_oracle(ds.spec, x_test, np.asarray(y_test).ravel()))
    out = {"preset": a.preset, "model": a.model, "schedule": a.schedule, "length": a.length, "n": a.n,
           "seed": a.seed, "test_auroc": float(result.test_metrics["auroc"]), "ceiling": ceiling,
           "train_time_s": wall, "epochs_trained": len(result.history), "best_epoch": int(result.best_epoch),
           "outcome": result.outcome, "events": result.events,
           "valid_auroc": [round(float(h["valid_auroc"]), 4) for h in result.history],
           "weight_overlap": [float(h.get("weight_overlap", 0.0)) for h in result.history]}
    if a.model == "argminn":
        # the read-out's motif recall on up to 1,000 test positives, matched as the benchmark scores it
        from bench.methods import METHODS
        from bench.metrics.motifs import motif_recovery
        from bench.families import functional_motifs
        from bench.families.motifs import MOTIF_MATCH_THRESHOLD, MOTIF_SIMILARITY

        y = np.asarray(y_test).ravel()
        positives = np.asarray(x_test[y > 0.5][:1000], dtype=np.float32)
        interp = METHODS["argminn_readout"].run(result.model, positives, {}, a.seed, None)
        rec = motif_recovery(interp.motifs, functional_motifs(ds), threshold=MOTIF_MATCH_THRESHOLD,
                             similarity=MOTIF_SIMILARITY)
        out["readout_motif_recall"] = float(rec["recall"])
        out["readout_n_redundant"] = float(rec.get("n_redundant", float("nan")))
    kept = [h for h in result.history if h.get("best")]
    out["kept_valid_auroc"] = float(kept[-1]["valid_auroc"]) if kept else float("nan")
    with open(a.out, "w") as fh:
        json.dump(out, fh, indent=1, default=float)
    print(json.dumps({k: out.get(k) for k in ("preset", "model", "schedule", "test_auroc", "ceiling", "train_time_s",
                                              "epochs_trained", "best_epoch", "outcome", "kept_valid_auroc",
                                              "readout_motif_recall")}))


if __name__ == "__main__":
    main()
