"""The MoDISco-free seqlet route: planted attributions give back their motifs, sites and strands."""

import numpy as np
import pandas as pd
import pytest

from bench.methods import METHODS, Interpretation
from bench.methods.seqlets import SEQLET_COLUMNS, call_seqlets, cluster_seqlets, seqlet_motifs
from simulations import INSTANCE_COLUMNS

from .tiny_models import TinyCNN, gata_motif_x, random_one_hot

A, B = "GATAAGCA", "CCGTTACG"


def _rc(s):
    return s[::-1].translate(str.maketrans("ACGT", "TGCA"))


def _consensus(pfm):
    return "".join("ACGT"[i] for i in np.argmax(pfm, axis=0))


@pytest.fixture(scope="module")
def planted():
    """60 sequences of 100 bp with small noise attributions; every other one carries A at 20 (half of
    them on the minus strand) scored +1 a base, every third one B at 60 scored -0.8 a base."""
    rng = np.random.default_rng(0)
    n, length = 60, 100
    x = random_one_hot(n, length, seed=1)
    score = rng.normal(0, 0.05, (n, length))
    sites = []

    def put(i, start, site, value, motif, strand):
        for j, base in enumerate(site):
            x[i, :, start + j] = 0
            x[i, "ACGT".index(base), start + j] = 1
        score[i, start:start + len(site)] += value
        sites.append((i, start, start + len(site), motif, strand))

    for i in range(n):
        if i % 2 == 0:
            put(i, 20, A if i % 4 == 0 else _rc(A), 1.0, "A", "+" if i % 4 == 0 else "-")
        if i % 3 == 0:
            put(i, 60, B, -0.8, "B", "+")
    truth = pd.DataFrame(sites, columns=["seq", "start", "end", "motif", "strand"])
    return x, (x * score[:, None, :]).astype(np.float32), truth


def _overlaps(call, site):
    return min(call.end, site.end) - max(call.start, site.start) >= 0.5 * min(call.end - call.start,
                                                                          site.end - site.start)


def test_planted_motifs_sites_and_strands(planted):
    x, actual, truth = planted
    motifs, inst, cwms, info = seqlet_motifs(x, actual, {"min_cluster_size": 5})
    by_name = {m.name: m for m in motifs}
    assert sorted(by_name) == ["seqlets_neg_0", "seqlets_pos_0"]
    pos, neg = by_name["seqlets_pos_0"], by_name["seqlets_neg_0"]
    assert A in (_consensus(pos.pfm), _rc(_consensus(pos.pfm)))
    assert B in _consensus(neg.pfm) or B in _rc(_consensus(neg.pfm))
    assert pos.source["n_seqlets"] == 30 and neg.source["n_seqlets"] == 20 and neg.source["sign"] == -1
    assert cwms["seqlets_neg_0"].sum() < -5 and cwms["seqlets_pos_0"].sum() > 5  # mean signed contributions
    # every planted site is called, once, as its own motif; nothing else is called
    assert len(inst) == len(truth) and set(inst.motif) == {"seqlets_pos_0", "seqlets_neg_0"}
    name = {"A": "seqlets_pos_0", "B": "seqlets_neg_0"}
    strand_of = {}
    for site in truth.itertuples():
        hits = [c for c in inst[inst.seq == site.seq].itertuples() if _overlaps(c, site)]
        assert len(hits) == 1 and hits[0].motif == name[site.motif], site
        strand_of.setdefault((site.motif, site.strand), set()).add(hits[0].strand)
    # forward and reverse sites of A come out on opposite strands, each consistently
    fwd, rev = strand_of[("A", "+")], strand_of[("A", "-")]
    assert len(fwd) == len(rev) == 1 and fwd != rev
    assert (inst[inst.motif == "seqlets_neg_0"].score < 0).all()
    assert (inst[inst.motif == "seqlets_pos_0"].score > 0).all()
    assert info["n_seqlets_unassigned"] == 0 and info["n_instances"] == len(truth)


def test_positive_only_and_cluster_size(planted):
    x, actual, truth = planted
    motifs, inst, _, info = seqlet_motifs(x, actual, {"min_cluster_size": 5, "signs": "positive"})
    assert [m.name for m in motifs] == ["seqlets_pos_0"] and info["n_seqlets_negative"] == 0
    motifs, inst, _, info = seqlet_motifs(x, actual, {"min_cluster_size": 31})  # both clusters are smaller
    assert motifs == [] and len(inst) == 0 and info["n_seqlets_unassigned"] == 50


def test_same_input_same_output(planted):
    x, actual, _ = planted
    m1, i1, c1, d1 = seqlet_motifs(x, actual, {"min_cluster_size": 5})
    m2, i2, c2, d2 = seqlet_motifs(x.copy(), actual.copy(), {"min_cluster_size": 5})
    pd.testing.assert_frame_equal(i1, i2)
    assert [m.name for m in m1] == [m.name for m in m2] and d1 == d2
    for a, b in zip(m1, m2):
        np.testing.assert_array_equal(a.pfm, b.pfm)


def test_noise_gives_no_calls():
    """Attributions that are noise everywhere: short noise seqlets may cluster, but into motifs that
    fail the quality rule, so no instance is called (with ``patterns: all`` they are)."""
    rng = np.random.default_rng(3)
    x = random_one_hot(60, 100, seed=2)
    actual = (x * rng.normal(0, 0.1, (60, 1, 100))).astype(np.float32)
    motifs, inst, _, info = seqlet_motifs(x, actual, {"min_cluster_size": 5})
    assert len(inst) == 0 and info["motifs_passing_quality"] == []
    assert all(not m.source["passes_uniform_quality"] for m in motifs)
    _, every, _, _ = seqlet_motifs(x, actual, {"min_cluster_size": 5, "patterns": "all"})
    assert len(every) == sum(m.source["n_seqlets"] for m in motifs)


def test_no_signal_no_seqlets():
    x = random_one_hot(4, 50)
    motifs, inst, cwms, info = seqlet_motifs(x, np.zeros_like(x))
    assert motifs == [] and len(inst) == 0 and cwms == {}
    assert info["n_seqlets_positive"] == info["n_seqlets_negative"] == 0
    Interpretation(motifs=motifs, instances=inst)  # a well-formed (empty) interpretation


def test_seqlet_table_and_bad_inputs(planted):
    x, actual, _ = planted
    s, info = call_seqlets(actual)
    assert list(s.columns) == SEQLET_COLUMNS and set(s.sign) == {1, -1}
    assert (s.start >= 0).all() and (s.end <= x.shape[2]).all() and (s.end > s.start).all()
    assert info["n_seqlets_positive"] == int((s.sign > 0).sum())
    with pytest.raises(ValueError, match=r"attributions must have the shape of x"):
        cluster_seqlets(x, actual[:, :, :50], s)
    with pytest.raises(ValueError, match=r"attributions must have shape \(N, 4, L\)"):
        call_seqlets(actual[:, 0])
    with pytest.raises(ValueError, match=r"signs must be one of"):
        call_seqlets(actual, {"signs": "negative"})


def test_route_params():
    m = METHODS["seqlets"]
    assert m.defaults()["attribution"] == "deeplift_shap" and m.requires == ("differentiable",)
    with pytest.raises(ValueError, match=r"^min_seqlet_len must be at most max_seqlet_len \(25\), got 30$"):
        m.check_params({"min_seqlet_len": 30})
    with pytest.raises(ValueError, match=r"^gradient_correction must be null for attribution 'deeplift_shap'"):
        m.check_params({"gradient_correction": True})
    with pytest.raises(ValueError, match=r"^min_similarity must be a number in \(0, 1\], got 0$"):
        m.check_params({"min_similarity": 0})
    with pytest.raises(ValueError, match=r"^attribution must be one of"):
        m.check_params({"attribution": "shap_deep_explainer"})
    with pytest.raises(ValueError, match=r"^target_fdr must be a number in \(0, 1\)"):
        m.check_params({"target_fdr": 1.0})
    assert m.check_params({"attribution": "saliency", "gradient_correction": False})["gradient_correction"] is False


def test_route_on_a_model():
    model = TinyCNN().eval()
    x = gata_motif_x(32, 40)
    params = {"n_references": 3, "min_cluster_size": 2}
    interp = METHODS["seqlets"].run(model, x, params, seed=0)
    assert list(interp.instances.columns) == INSTANCE_COLUMNS and interp.attributions.shape == x.shape
    again = METHODS["seqlets"].run(model, x, params, seed=0)
    pd.testing.assert_frame_equal(interp.instances, again.instances)
    grad = METHODS["seqlets"].run(model, x, {**params, "attribution": "saliency"}, seed=0)
    assert grad.details["gradient_correction"] is True  # the saliency route's own default
    eg = METHODS["seqlets"].run(model, x, {**params, "attribution": "expected_gradients"}, seed=0)
    route = METHODS["expected_gradients"].run(model, x, {"n_references": 3}, seed=0)  # its own n_samples
    np.testing.assert_array_equal(eg.attributions, route.attributions)
    fdr = METHODS["seqlets"].run(model, x, {**params, "target_fdr": 0.2}, seed=0)
    assert fdr.details["seqlet_threshold"] == "target_fdr" and "fdr_lowest_positive" in fdr.details
