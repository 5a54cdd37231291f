"""Capabilities declared once (`Method.produces`, `Method.quality_rule`): scoring asks the declaration,
never the name, and every built-in route keeps the metric keys it had under the old name tests."""

import numpy as np
import pytest

import simulations
from bench import scoring
from bench.families import FAMILIES, FAMILY_NEEDS
from bench.methods import METHODS, PRODUCTS, Interpretation, Method
from tests.specs import lone_motif_spec

#: the old rules, spelled out: the attribution-only name set, and the quality rule by name substring
OLD_ATTRIBUTION_ONLY = {"deeplift_shap", "integrated_gradients", "captum_deeplift_shap", "shap_deep_explainer",
                        "ism", "saliency", "gradient", "smoothgrad", "expected_gradients"}


def _old_rule(name):
    return "argminn" if "argminn" in name else "modisco" if "modisco" in name else None


@pytest.fixture(scope="module")
def cell():
    ds = simulations.simulate(lone_motif_spec({"jaspar": "MA0080.7"}), 20, 0)
    x = ds.x.astype(np.float32)
    truth = ds.truth_for(np.arange(len(x)))
    calls = truth.loc[truth.functional, ["seq", "start", "end", "strand", "motif", "score"]]
    rng = np.random.default_rng(0)
    attr = (rng.normal(size=x.shape) * x).astype(np.float32)
    interp = Interpretation(motifs=[ds.motifs["M"]], instances=calls, attributions=attr)
    return ds, x, truth, interp


def test_every_builtin_declares_what_it_produces_as_the_old_rules_scored_it():
    for name, m in METHODS.items():
        assert m.produces and set(m.produces) <= set(PRODUCTS), name
        assert FAMILIES["motifs"].applies_to(m.produces) == (name not in OLD_ATTRIBUTION_ONLY), name
        assert FAMILIES["instances"].applies_to(m.produces) == (name not in OLD_ATTRIBUTION_ONLY), name
        assert m.quality_rule == _old_rule(name), name
    assert METHODS["seqlets"].quality_rule is None and FAMILIES["motifs"].applies_to(METHODS["seqlets"].produces)


@pytest.mark.parametrize("name", ["deeplift_shap", "modisco", "argminn_readout", "seqlets", "filter_readout"])
def test_builtin_keys_are_what_the_name_rules_gave(cell, name):
    ds, x, truth, interp = cell
    out = scoring.score_interpretation(interp, ds, truth, x, ["motifs", "instances", "attributions"],
                                       method_name=name)
    motif_keys = any(k.startswith("motifs/") for k in out)
    assert motif_keys == (name not in OLD_ATTRIBUTION_ONLY)
    assert any(k.startswith("instances/") for k in out) == (name not in OLD_ATTRIBUTION_ONLY)
    assert ("motifs/n_passing_paper_rule" in out) == (_old_rule(name) is not None)
    # the maps are scored where the method declares them (a read-out's interpretation never holds any)
    assert ("attributions/auroc" in out) == ("attributions" in METHODS[name].produces)


def test_scoring_asks_the_declaration_not_the_name(cell):
    ds, x, truth, interp = cell
    fn = METHODS["deeplift_shap"].fn
    # an attribution-only route named like a motif finder: no motif rows (not recall 0)
    att = Method("my_argminn_modisco_route", fn, produces=("attributions",))
    out = scoring.score_interpretation(interp, ds, truth, x, ["motifs", "instances", "attributions"], method=att)
    assert not any(k.startswith(("motifs/", "instances/")) for k in out) and "attributions/auroc" in out
    # a motif finder with a quality rule whatever its name
    finder = Method("finder", fn, produces=("motifs", "instances"), quality_rule="argminn")
    out = scoring.score_interpretation(interp, ds, truth, x, ["motifs", "instances"], method=finder)
    assert "motifs/n_passing_paper_rule" in out and "motifs/recall" in out and "instances/f1" in out
    ref = scoring.score_interpretation(interp, ds, truth, x, ["motifs", "instances"], method_name="argminn_readout")
    assert {k: v for k, v in out.items() if not k.startswith("per_")} == pytest.approx(
        {k: v for k, v in ref.items() if not k.startswith("per_")}, nan_ok=True)
    # motifs without instances: the instance family is not scored
    motifs_only = Method("m", fn, produces=("motifs",))
    out = scoring.score_interpretation(interp, ds, truth, x, ["motifs", "instances"], method=motifs_only)
    assert "motifs/recall" in out and not any(k.startswith("instances/") for k in out)


def test_declarations_are_checked():
    fn = METHODS["deeplift_shap"].fn
    with pytest.raises(ValueError, match="declare what it produces"):
        Method("x", fn)
    with pytest.raises(ValueError, match="non-empty subset"):
        Method("x", fn, produces=("logos",))
    with pytest.raises(ValueError, match="quality_rule must be"):
        Method("x", fn, produces=("motifs",), quality_rule="uniform")
    with pytest.raises(ValueError, match="does not produce motifs"):
        Method("x", fn, produces=("attributions",), quality_rule="argminn")
    with pytest.raises(ValueError, match="unknown requirement"):
        Method("x", fn, ("gpu",), produces=("attributions",))
    assert set(FAMILY_NEEDS) == {"motifs", "instances", "attributions", "faithfulness"}


def test_list_methods_shows_what_each_produces():
    from bench.registry import describe

    text = describe("methods")
    assert "deeplift_shap (produces attributions)" in text
    assert "argminn_readout (produces motifs, instances, paper rule argminn)" in text
