"""The method contract: every registered method returns a well-formed Interpretation; persistence."""

import numpy as np
import pandas as pd
import pytest

from bench.methods import METHODS, REQUIREMENTS, Interpretation, check_requirements
from bench.methods.readouts import activation_calls
from simulations import INSTANCE_COLUMNS, Motif, from_consensus

from .tiny_models import Plain, TinyCNN

# FIMO (numba, ~8 s cold) and modisco-lite run only in the slow set
SLOW = {"modisco", "positive_control", "negative_control"}
FAST_PARAMS = {"n_references": 3}


def _params(name):
    d = METHODS[name].defaults()
    return {k: v for k, v in {**FAST_PARAMS, "n_steps": 10, "max_seqlets": 200}.items() if k in d}


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in sorted(METHODS)])
def test_contract(name, tiny_cnn, tiny_x):
    method = METHODS[name]
    assert method.name == name and set(method.requires) <= set(REQUIREMENTS)
    reason = check_requirements(method, tiny_cnn)
    if reason:
        pytest.skip(reason)
    truth = [from_consensus("GATA", "GATAA")]
    interp = method.run(tiny_cnn, tiny_x, _params(name), seed=0, truth_motifs=truth)
    assert isinstance(interp, Interpretation)
    assert list(interp.instances.columns) == INSTANCE_COLUMNS
    names = {m.name for m in interp.motifs}
    assert all(isinstance(m, Motif) for m in interp.motifs)
    assert set(interp.instances.motif) <= names
    if len(interp.instances):
        i = interp.instances
        assert (i.start >= 0).all() and (i.end <= tiny_x.shape[2]).all() and (i.end > i.start).all()
        assert set(i.strand) <= {"+", "-"} and i.seq.between(0, len(tiny_x) - 1).all()
    if interp.attributions is not None:
        assert interp.attributions.shape == tiny_x.shape and np.isfinite(interp.attributions).all()
    if interp.hypothetical is not None:
        assert interp.hypothetical.shape == tiny_x.shape
    assert interp.runtime_s > 0 and interp.details["method"] == name
    assert interp.details["params"] == method.check_params(_params(name))


def test_requirements_give_reasons(tiny_cnn):
    assert "ARGMINN" in check_requirements(METHODS["argminn_readout"], tiny_cnn)
    assert "convolutional" in check_requirements(METHODS["filter_readout"], Plain())
    assert check_requirements(METHODS["deeplift_shap"], Plain()) is None


def test_check_params():
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['n_refs'\].*n_references"):
        METHODS["deeplift_shap"].check_params({"n_refs": 3})
    with pytest.raises(ValueError, match="attribution must be one of"):
        METHODS["modisco"].check_params({"attribution": "saliency"})
    with pytest.raises(ValueError, match="n_references must be a positive integer"):
        METHODS["integrated_gradients"].check_params({"n_references": 0})
    assert METHODS["modisco"].check_params({"max_seqlets": 10})["max_seqlets"] == 10
    assert METHODS["modisco"].check_params({})["patterns"] == "passing"
    # the scanning routes share one threshold rule; the old fixed-p parameter is gone
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['fimo_threshold'\].*scan_threshold"):
        METHODS["positive_control"].check_params({"fimo_threshold": 1e-4})
    assert METHODS["negative_control"].check_params({"scan_threshold": {"pvalue": 1e-3}})["scan_threshold"] == {
        "pvalue": 1e-3}


def test_run_rejects_bad_x(tiny_cnn):
    with pytest.raises(ValueError, match=r"\(N, 4, L\)"):
        METHODS["deeplift_shap"].run(tiny_cnn, np.zeros((2, 40, 4), np.float32), {})


def test_positive_control_needs_truth(tiny_cnn, tiny_x):
    with pytest.raises(ValueError, match="truth_motifs"):
        METHODS["positive_control"].run(tiny_cnn, tiny_x, {}, seed=0, truth_motifs=None)


def test_interpretation_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    motifs = [from_consensus("pos_pattern_0", "GATAAG"), Motif("filter_3", rng.dirichlet(np.ones(4), 7).T, {"a": [1, 2]})]
    inst = pd.DataFrame({"seq": [0, 1], "start": [3, 5], "end": [9, 12], "strand": ["+", "-"],
                         "motif": ["pos_pattern_0", "filter_3"], "score": [1.5, 0.25]})
    a = rng.normal(size=(2, 4, 20)).astype(np.float32)
    interp = Interpretation(motifs, inst, attributions=a, hypothetical=a * 2, runtime_s=1.25,
                            details={"completeness_median_abs": 1e-8, "versions": {"torch": "2.13"}},
                            cwms={"pos_pattern_0": rng.normal(size=(4, 6))})
    back = Interpretation.load(interp.save(tmp_path / "i"))
    assert [m.name for m in back.motifs] == ["pos_pattern_0", "filter_3"]
    for m, n in zip(motifs, back.motifs):
        np.testing.assert_array_equal(m.pfm, n.pfm)
        assert m.source == n.source
    pd.testing.assert_frame_equal(back.instances, interp.instances)
    np.testing.assert_array_equal(back.attributions, a)
    np.testing.assert_array_equal(back.hypothetical, a * 2)
    np.testing.assert_array_equal(back.cwms["pos_pattern_0"], interp.cwms["pos_pattern_0"])
    assert back.runtime_s == 1.25 and back.details == interp.details
    assert (tmp_path / "i" / "motifs.meme").read_text().count("MOTIF") == 2

    empty = Interpretation.load(Interpretation().save(tmp_path / "e"))
    assert empty.motifs == [] and len(empty.instances) == 0 and empty.attributions is None


def test_interpretation_rejects_unknown_instance_motif():
    inst = pd.DataFrame({"seq": [0], "start": [0], "end": [5], "strand": ["+"], "motif": ["x"], "score": [1.0]})
    with pytest.raises(ValueError, match="not in motifs"):
        Interpretation([], inst)


def test_activation_calls_one_call_per_run():
    acts = np.zeros((1, 2, 20), np.float32)
    acts[0, 0, 4:7] = [0.6, 1.0, 0.7]   # one run, peak at 5
    acts[0, 0, 12] = 0.9                # a second run
    acts[0, 1, 3] = 0.1                 # a filter whose only window is its own max
    calls = activation_calls(acts, 5, {0: "filter_0"})
    assert calls[["start", "end"]].values.tolist() == [[5, 10], [12, 17]]


def _gataa_cnn() -> TinyCNN:
    """A two-filter TinyCNN whose filter 0 is GATAA (filter 1 all zero)."""
    import torch

    model = TinyCNN(n_filters=2)
    with torch.no_grad():
        model.conv.weight.zero_()
        model.conv.bias.fill_(-4.0)
        for j, b in enumerate("GATAA"):
            model.conv.weight[0, "ACGT".index(b), j] = 1.0
    return model


def test_filter_readout_recovers_a_planted_filter(tiny_x):
    """A filter set to GATAA reads out as a GATAA PFM, called where GATAA is planted."""
    model = _gataa_cnn()
    interp = METHODS["filter_readout"].run(model, tiny_x, {}, seed=0)
    assert [m.name for m in interp.motifs] == ["filter_0"]
    assert interp.motifs[0].consensus() == "GATAA"
    calls = interp.instances
    planted = {(i, 10 + i % 20) for i in range(0, len(tiny_x), 2)}
    assert planted <= set(zip(calls.seq, calls.start))


@pytest.mark.parametrize("planted", [False, True])
@pytest.mark.parametrize("quality", [None, "uniform", "argminn", "modisco"])
def test_filter_readout_runs_under_every_quality_rule(quality, planted, tiny_cnn, tiny_x):
    """Every quality rule `bench validate` accepts runs (uniform and modisco used to raise "rule must
    be 'argminn'"), and keeps exactly the filters the benchmark's rule passes, trimmed."""
    from simulations.quality import passes_quality, trim_by_ic

    model = _gataa_cnn() if planted else tiny_cnn
    method = METHODS["filter_readout"]
    everything = method.run(model, tiny_x, {}, seed=0).motifs
    interp = method.run(model, tiny_x, {"quality": quality}, seed=0)
    if planted:
        assert "filter_0" in {m.name for m in interp.motifs}  # GATAA passes every rule
    assert list(interp.instances.columns[:len(INSTANCE_COLUMNS)]) == INSTANCE_COLUMNS
    assert set(interp.instances.motif) <= {m.name for m in interp.motifs}
    if quality is None:
        assert [m.name for m in interp.motifs] == [m.name for m in everything]
        return
    assert [m.name for m in interp.motifs] == [m.name for m in everything if passes_quality(m.pfm, quality)]
    for kept in interp.motifs:
        full = next(m for m in everything if m.name == kept.name)
        np.testing.assert_array_equal(kept.pfm, trim_by_ic(full.pfm))


def test_filter_readout_background_floor_drops_diffuse_calls(tiny_x):
    """A random filter clears half its own maximum all along the sequence; the background floor
    (its activation quantile on shuffles) keeps its calls near the stated rate, and the planted
    GATAA filter keeps every planted call."""
    import torch

    model = _gataa_cnn()
    with torch.no_grad():
        model.conv.weight[1] = torch.randn(4, model.conv.weight.shape[2], generator=torch.Generator().manual_seed(0))
        model.conv.bias[1] = 1.0
    loose = METHODS["filter_readout"].run(model, tiny_x, {"background_fpr": None}, seed=0).instances
    floored = METHODS["filter_readout"].run(model, tiny_x, {"background_fpr": 0.01}, seed=0)
    calls = floored.instances
    n_positions = tiny_x.shape[0] * (tiny_x.shape[2] - model.conv.weight.shape[2] + 1)
    assert (calls.motif == "filter_1").sum() < 0.5 * (loose.motif == "filter_1").sum()
    assert (calls.motif == "filter_1").sum() <= 3 * 0.01 * n_positions
    planted = {(i, 10 + i % 20) for i in range(0, len(tiny_x), 2)}
    gata = calls[calls.motif == "filter_0"]
    assert planted <= set(zip(gata.seq, gata.start))
    assert len(floored.details["background_floor"]) == 2
    with pytest.raises(ValueError, match="background_fpr must be a number in \\(0, 1\\)"):
        METHODS["filter_readout"].check_params({"background_fpr": 2})


def test_compared_implementations_report_their_errors(tiny_x):
    """Conv -> ReLU -> MaxPool: captum's DeepLift misses completeness (ecosystem.md §2.1) and the
    method's details show it, next to its distance from the exact engine; tangermeme stays exact."""
    model = TinyCNN(length=tiny_x.shape[2], batch_norm=False).eval()
    exact = METHODS["deeplift_shap"].run(model, tiny_x, {"n_references": 5}, seed=0)
    captum = METHODS["captum_deeplift_shap"].run(model, tiny_x, {"n_references": 5}, seed=0)
    assert exact.details["completeness_max_abs"] < 1e-5
    assert captum.details["completeness_max_abs"] > 1e-4
    assert captum.details["distance_to_exact_rel_l1"] > 1e-3
    for d in (exact.details, captum.details):
        assert d["versions"]["tangermeme"] and d["versions"]["captum"]


def test_argminn_readout_wraps_models_readout(monkeypatch, tiny_x):
    """Until models/ lands, a stand-in models.readout: motifs and instances pass through, calls
    naming an unknown motif are dropped and counted, and the model is read in eval mode."""
    import types

    import models

    seen = {}

    def argminn_motifs(model, x):
        seen["training"] = model.training
        return [from_consensus("filter_0", "GATAA"), np.zeros((4, 5))]  # an empty filter is skipped

    def argminn_instances(model, x, motifs=None):
        seen["motifs"] = [m.name for m in motifs]
        return pd.DataFrame({"seq": [0, 2], "start": [10, 12], "end": [15, 17], "strand": ["+", "+"],
                             "motif": ["filter_0", "filter_9"], "score": [0.9, 0.8]})

    fake = types.SimpleNamespace(argminn_motifs=argminn_motifs, argminn_instances=argminn_instances)
    monkeypatch.setattr(models, "readout", fake, raising=False)

    class ARGMINN(TinyCNN):  # the requirement check goes by the class name
        def forward_with_interims(self, x):
            return self(x), {}

    model = ARGMINN().train()
    method = METHODS["argminn_readout"]
    assert check_requirements(method, model) is None
    interp = method.run(model, tiny_x, {}, seed=0)
    assert seen == {"training": False, "motifs": ["filter_0"]} and model.training
    assert [m.name for m in interp.motifs] == ["filter_0"]
    assert interp.instances[["seq", "start", "motif"]].values.tolist() == [[0, 10, "filter_0"]]
    assert interp.details["instances_dropped_unknown_motif"] == 1
