"""The ``consistency`` family: each route's output again under a change that should not change it (re-runs).

After every cell has run, the runner's second pass (``bench.runner.run_consistency``) explains each
seed's interpreted sequences again with the next seed's model (seed stability of every attribution
route) and runs every instance route again on the reverse complements (strand consistency).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import Family


def score_seed_stability(interp, replicate, x: np.ndarray, truth: pd.DataFrame, metrics: list) -> dict:
    """One method's maps from two models that differ only by training seed, on the same sequences.

    ``interp`` and ``replicate`` are the same method's interpretations (same parameters, same
    references) of the same sequences ``x`` by the cell's model and by a replicate trained on the
    same task with another training seed. Keys (family ``consistency``): ``seed_cosine_mean`` and
    ``seed_jaccard_mean`` (:func:`bench.metrics.seed_stability` on actual contributions),
    ``seed_spearman`` (mean per-sequence rank correlation of the contribution tracks) and
    ``seed_cosine_instance_mean`` (mean within-instance cosine over functional planted instances).
    """
    from bench import metrics as M
    from bench.metrics.attributions import _nanmean, track_agreement

    if "consistency" not in metrics or interp.attributions is None or replicate.attributions is None:
        return {}
    xf = np.asarray(x, dtype=np.float64)
    stab = M.seed_stability([interp.attributions, replicate.attributions], x=xf)
    per = track_agreement((np.asarray(interp.attributions) * xf).sum(axis=1),
                          (np.asarray(replicate.attributions) * xf).sum(axis=1))
    signs = M.sign_agreement(interp.attributions, replicate.attributions, truth, x=xf)
    return {"consistency/seed_cosine_mean": stab["cosine_mean"], "consistency/seed_jaccard_mean": stab["jaccard_mean"],
            "consistency/seed_spearman": _nanmean(per["spearman"]),
            "consistency/seed_cosine_instance_mean": signs["cosine_instance_mean"]}


def score_rc_instances(interp, interp_rc, x: np.ndarray, metrics: list, same_motif: bool = True) -> dict:
    """One method's instance calls on ``x`` against its calls on the reverse complement of ``x``.

    ``interp_rc`` is the same method run (same model, parameters and seed) on
    ``bench.metrics.consistency.reverse_complement(x)``. ``same_motif``: a call matches only a call
    of the same motif name (True for read-outs, whose motifs are the model's filters; pass False for
    routes that discover and name motifs anew on each run, such as MoDISco). Keys (family
    ``consistency``): ``rc_f1``, ``rc_forward_matched_fraction``, ``rc_reverse_matched_fraction``.
    """
    from bench.metrics.consistency import rc_instance_agreement

    if "consistency" not in metrics:
        return {}
    r = rc_instance_agreement(interp.instances, interp_rc.instances, int(np.shape(x)[2]), same_motif=same_motif)
    return {"consistency/rc_f1": r["f1"], "consistency/rc_forward_matched_fraction": r["forward_matched_fraction"],
            "consistency/rc_reverse_matched_fraction": r["reverse_matched_fraction"]}


FAMILY = Family(
    name="consistency",
    description="seed stability of every attribution route (the next seed's model on the same sequences) and "
                "reverse-complement consistency of every instance route (re-runs: about the cell's "
                "interpretations again)",
    opt_in=True,
    headline=("seed_cosine_instance_mean", "seed_spearman", "seed_jaccard_mean", "rc_f1"),
    computed_in="the runner's second pass, after every cell (bench.runner.run_consistency)",
    order=70,
)
