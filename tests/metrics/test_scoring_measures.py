"""The new measures as the harness scores them (bench.scoring), on a small simulation and an untrained CNN."""

import json

import numpy as np
import pandas as pd
import pytest

import models
import simulations
from bench import scoring
from bench.families import consistency, faithfulness
from bench.methods import Interpretation
from bench.methods.attribution import attribute
from bench.metrics import attribution_components, attribution_scores, reverse_complement, reverse_complement_calls
from tests.specs import lone_motif_spec


@pytest.fixture(scope="module")
def cell():
    ds = simulations.simulate(lone_motif_spec({"jaspar": "MA0080.7"}), 40, 0)
    model = models.build_model("cnn", {}, input_length=ds.length, seed=0)
    model.eval()
    x = ds.x.astype(np.float32)
    truth = ds.truth_for(np.arange(len(x)))
    act, hyp, _ = attribute(model, x, "deeplift_shap", n_references=2, seed=0)
    calls = truth.loc[truth.functional, ["seq", "start", "end", "strand", "motif", "score"]]
    # what the positive control returns: the planted motif and its sites, here with DeepLiftSHAP maps
    interp = Interpretation(motifs=[ds.motifs["M"]], instances=calls, attributions=act, hypothetical=hyp,
                            details={"method": "deeplift_shap"})
    return ds, model, x, truth, interp


METRICS = ["motifs", "instances", "attributions"]


def test_interpretation_keeps_old_keys_and_adds_the_new(cell):
    ds, model, x, truth, interp = cell
    # a route declaring motifs, calls and maps (the seqlet route), so every family scores it
    out = scoring.score_interpretation(interp, ds, truth, x, METRICS, method_name="seqlets")
    plain = attribution_scores(interp.attributions, x, truth)
    for k in ("auroc", "auprc", "pooled_auroc", "pooled_auprc", "n_sequences_scored", "mass_in_motifs",
              "topk_recall", "position_precision_at_0.10"):
        assert out[f"attributions/{k}"] == plain[k] or (np.isnan(out[f"attributions/{k}"]) and np.isnan(plain[k]))
    # the paired components keep their old columns and values, and carry the new ones
    detail = json.loads(out["per_sequence/attributions"][1])
    auroc = attribution_components(interp.attributions, x, truth)["auroc"].to_numpy()
    assert detail["auroc"] == pytest.approx(np.round(np.nan_to_num(auroc), 5).tolist())
    assert detail["defined"] == np.isfinite(auroc).astype(int).tolist()
    for col in ("mass_inside", "mass_total", "topk_hits", "n_planted", "tp_0.10", "called_0.10", "site_cosine_sum",
                "n_sites"):
        assert len(detail[col]) == len(x)
    assert sum(detail["site_cosine_sum"]) / sum(detail["n_sites"]) == pytest.approx(
        out["attributions/site_pfm_cosine"], abs=1e-3)
    assert out["attributions/n_sites_scored"] > 0 and -1 <= out["attributions/site_pfm_cosine"] <= 1
    # blind naming: the planted JASPAR motif names itself at every level
    for level in ("matrix", "tf", "family"):
        assert out[f"motifs/naming_recall_{level}"] == 1.0 and out[f"motifs/naming_precision_{level}"] == 1.0
    assert "faithfulness/deletion_auc" not in out  # needs the model and the faithfulness family


def test_interpretation_with_the_model_adds_deletion_and_is_deterministic(cell):
    ds, model, x, truth, interp = cell
    a = scoring.score_interpretation(interp, ds, truth, x, ["attributions", "faithfulness"], model=model, seed=3)
    b = scoring.score_interpretation(interp, ds, truth, x, ["attributions", "faithfulness"], model=model, seed=3)
    assert a == b
    n_planted = int(truth.loc[truth.functional, "seq"].nunique())
    assert a["faithfulness/deletion_n_sequences"] == n_planted
    for k in ("deletion_auc", "deletion_auc_random", "deletion_gain"):
        assert np.isfinite(a[f"faithfulness/{k}"])
    # the deletion components are the faithfulness family's own row (the attribution components stay as they were)
    assert "deletion_scale" not in json.loads(a["per_sequence/attributions"][1])
    detail = json.loads(a["per_sequence/faithfulness"][1])
    assert sum(v != 0 for v in detail["deletion_scale"]) <= n_planted
    scale = sum(detail["deletion_scale"])
    # (the components are written with 5 decimals; this untrained model moves its logit by ~1e-3)
    assert sum(detail["deletion_area"]) / scale == pytest.approx(a["faithfulness/deletion_auc"], rel=0.01)


BOTH = ["agreement", "faithfulness"]


def test_cross_method_keeps_old_keys_and_adds_model_checks(cell, monkeypatch):
    ds, model, x, truth, interp = cell
    ig_act, _, _ = attribute(model, x, "integrated_gradients", n_references=2, seed=0, n_steps=5)
    interps = {"deeplift_shap": interp,
               "integrated_gradients": Interpretation(attributions=ig_act, details={"method": "integrated_gradients"})}
    out = scoring.score_cross_method(interps, ds, truth, x, BOTH, model=model, seed=1, null_references=2)
    assert "agreement/dls_vs_ig_spearman" in out and "agreement/dls_vs_dls_redrawn_spearman" in out
    new = ["dls_vs_dls_redrawn_map_cosine_mean", "dls_vs_dls_redrawn_jaccard_mean", "dls_rc_cosine", "dls_rc_spearman",
           "dls_rc_cosine_instance_mean", "rc_logit_pearson", "rc_logit_mean_abs_difference",
           "dls_vs_randomized_model_spearman", "dls_vs_randomized_model_spearman_abs", "dls_vs_randomized_model_cosine"]
    new = [f"{'agreement' if k.startswith('dls_vs_dls') else 'faithfulness'}/{k}" for k in new]
    for k in new:
        assert np.isfinite(out[k]), k
        if "mean_abs" not in k:
            assert -1 - 1e-9 <= out[k] <= 1 + 1e-9
    assert out == scoring.score_cross_method(interps, ds, truth, x, BOTH, model=model, seed=1,
                                             null_references=2)
    # without IG the model checks still run; without the model only DLS-vs-IG is left
    alone = scoring.score_cross_method({"deeplift_shap": interp}, ds, truth, x, BOTH, model=model, seed=1,
                                       null_references=2)
    assert set(new) == set(alone)
    assert not any(k.startswith("faithfulness/") for k in
                   scoring.score_cross_method(interps, ds, truth, x, BOTH, seed=1, null_references=2))
    # without the faithfulness family (a suite's default) the model checks do not run
    assert not any(k.startswith("faithfulness/") for k in
                   scoring.score_cross_method(interps, ds, truth, x, ["agreement"], model=model, seed=1,
                                              null_references=2))
    # more sequences than the cap: a seeded sample is read
    monkeypatch.setattr(faithfulness, "MODEL_CHECK_MAX_SEQUENCES", 10)
    capped = scoring.score_cross_method({"deeplift_shap": interp}, ds, truth, x, BOTH, model=model, seed=1,
                                        null_references=2)
    assert set(capped) == set(alone) and np.isfinite(capped["faithfulness/dls_rc_cosine"])
    small = scoring.score_interpretation(interp, ds, truth, x, ["attributions", "faithfulness"], model=model, seed=3)
    assert small["faithfulness/deletion_n_sequences"] <= 10


def test_seed_stability_and_rc_instance_scorers(cell):
    ds, model, x, truth, interp = cell
    same = consistency.score_seed_stability(interp, interp, x, truth, ["consistency"])
    assert same["consistency/seed_cosine_mean"] == pytest.approx(1.0)
    assert same["consistency/seed_jaccard_mean"] == pytest.approx(1.0)
    assert same["consistency/seed_spearman"] == pytest.approx(1.0)
    assert same["consistency/seed_cosine_instance_mean"] == pytest.approx(1.0)
    other, _, _ = attribute(models.build_model("cnn", {}, input_length=ds.length, seed=1), x, "deeplift_shap",
                            n_references=2, seed=0)
    differ = consistency.score_seed_stability(interp, Interpretation(attributions=other), x, truth, ["consistency"])
    assert differ["consistency/seed_cosine_mean"] < 0.99
    assert consistency.score_seed_stability(interp, interp, x, truth, ["agreement"]) == {}
    # calls found again, mapped, on the reverse complement: full agreement
    mirrored = Interpretation(motifs=interp.motifs, instances=reverse_complement_calls(interp.instances, ds.length))
    r = consistency.score_rc_instances(interp, mirrored, reverse_complement(x), ["consistency"])
    assert r == {"consistency/rc_f1": 1.0, "consistency/rc_forward_matched_fraction": 1.0,
                 "consistency/rc_reverse_matched_fraction": 1.0}
    none = Interpretation(motifs=interp.motifs, instances=pd.DataFrame(columns=interp.instances.columns))
    assert consistency.score_rc_instances(interp, none, x, ["consistency"])["consistency/rc_f1"] == 0.0
