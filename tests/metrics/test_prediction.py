import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from bench.metrics import prediction_scores
from tests.specs import lone_motif_spec


def test_binary_hand_made():
    y = np.array([0, 0, 1, 1])
    z = np.array([-1.0, 0.5, 0.2, 2.0])
    r = prediction_scores(y, z)
    assert r["auroc"] == pytest.approx(0.75)
    assert r["average_precision"] == pytest.approx(average_precision_score(y, z))
    assert r["accuracy"] == pytest.approx(3 / 4)
    assert r["positive_accuracy"] == 1.0 and r["negative_accuracy"] == 0.5


def test_binary_ties_match_sklearn():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    z = rng.integers(-3, 3, 300).astype(float)
    r = prediction_scores(y, z)
    assert r["auroc"] == pytest.approx(roc_auc_score(y, z))
    assert r["average_precision"] == pytest.approx(average_precision_score(y, z))


def test_one_class():
    r = prediction_scores(np.ones(3), np.array([1.0, -1.0, 2.0]))
    assert np.isnan(r["auroc"]) and r["average_precision"] == 1.0 and r["accuracy"] == pytest.approx(2 / 3)
    r = prediction_scores(np.zeros(3), np.zeros(3))
    assert np.isnan(r["auroc"]) and np.isnan(r["average_precision"]) and r["accuracy"] == 1.0


def test_continuous_and_multitask():
    r = prediction_scores(np.array([0.5, 1.5, 2.5]), np.array([1.0, 2.0, 3.0]))
    assert r["pearson"] == pytest.approx(1.0) and r["mse"] == pytest.approx(0.25)
    y = np.array([[0, 1], [1, 0], [1, 1], [0, 0]])
    z = np.array([[-1, 1], [1, -1], [1, -1], [-1, 1]], dtype=float)
    r = prediction_scores(y, z)
    assert r["auroc"] == pytest.approx((1.0 + 0.5) / 2) and r["accuracy"] == pytest.approx((1.0 + 0.5) / 2)


def test_input_checks():
    with pytest.raises(ValueError, match="logits"):
        prediction_scores(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="binary"):
        prediction_scores(np.array([0.5, 1.0]), np.zeros(2), kind="binary")


def _paper_auprc_loop(y, z):
    """The reference's curve written as loops: distinct thresholds high to low, stop at full recall."""
    pts = [(0.0, 1.0)]
    for t in sorted(set(z), reverse=True):
        called = [yi for yi, zi in zip(y, z) if zi >= t]
        tp = sum(called)
        pts.append((tp / sum(y), tp / len(called)))
        if tp == sum(y):
            break
    return sum((r1 - r0) * (p0 + p1) / 2 for (r0, p0), (r1, p1) in zip(pts, pts[1:]))


def test_paper_auprc_and_threshold_scores_hand_made():
    y = np.array([0, 0, 1, 1])
    z = np.array([-1.0, 0.5, 0.2, 2.0])
    r = prediction_scores(y, z)
    # curve (0,1) (.5,1) (.5,.5) (1,2/3): trapezoids .5 + 0 + .5 * (.5 + 2/3) / 2
    assert r["paper_auprc"] == pytest.approx(19 / 24)
    assert r["average_precision"] == pytest.approx(5 / 6)
    assert r["precision"] == pytest.approx(2 / 3) and r["recall"] == 1.0


def test_paper_auprc_against_loop_with_ties():
    rng = np.random.default_rng(1)
    for _ in range(30):
        n = int(rng.integers(2, 40))
        y = rng.integers(0, 2, n)
        y[0] = 1
        z = rng.integers(-3, 3, n).astype(float)
        assert prediction_scores(y, z, kind="binary")["paper_auprc"] == pytest.approx(_paper_auprc_loop(y, z))


def test_paper_auprc_edge_cases():
    r = prediction_scores(np.zeros(3), np.array([1.0, -1.0, 2.0]))
    assert np.isnan(r["paper_auprc"]) and np.isnan(r["recall"]) and r["precision"] == 0.0
    r = prediction_scores(np.array([0, 1, 0]), np.zeros(3))  # all-equal scores: one threshold
    assert r["paper_auprc"] == pytest.approx((1 + 1 / 3) / 2) and r["precision"] == 0.0


def test_planted_content_oracle_ties_identical_content_across_classes():
    """Positives: 3 pairs (E2F6 then MAX, gap 5) and 1 lone E2F6; negatives: 3 lone E2F6 and 1 background.

    The pairs outrank every negative (3 x 4 wins); the lone positive ties the 3 lone negatives
    (rate 1/4 each) and beats the background (1 win + 3 halves): auROC = (12 + 1 + 1.5) / 16."""
    import pandas as pd

    from bench.metrics.prediction import planted_content_oracle

    rows = []
    for s in range(3):
        rows += [(s, 10, "+", "E2F6", True), (s, 15, "+", "MAX", True)]
    for s in (3, 4, 5, 6):
        rows.append((s, 20, "+", "E2F6", True))
    rows.append((7, 30, "+", "MAX", False))  # a decoy does not count as planted content
    inst = pd.DataFrame(rows, columns=["seq", "start", "strand", "motif", "functional"])
    y = np.array([1, 1, 1, 1, 0, 0, 0, 0])
    idx = np.arange(8)
    assert planted_content_oracle(inst, y, idx, idx) == pytest.approx(14.5 / 16)
    # the gap is part of the content: a negative with the pair at another spacing (15) gets its own
    # rate (0) instead of sharing the positives' pairs; lone E2F6 is now 1 positive in 3
    inst = pd.concat([inst[inst.seq != 4], pd.DataFrame([(4, 10, "+", "E2F6", True), (4, 25, "+", "MAX", True)],
                                                        columns=inst.columns)])
    assert planted_content_oracle(inst, y, idx, idx) == pytest.approx(15 / 16)
    # content never seen when fitting gets the overall rate
    assert planted_content_oracle(inst, y, idx[idx != 4], idx) == pytest.approx(14 / 16)
    with pytest.raises(ValueError, match="instances needs columns"):
        planted_content_oracle(inst.drop(columns="strand"), y, idx, idx)


def test_likelihood_ratio_oracle_known_ceilings():
    """A strong 12-mer is always found (auROC 1); a PFM equal to the background carries no signal (0.5);
    a one-column motif is weak and sits in between."""
    from bench.metrics.prediction import likelihood_ratio_oracle
    from simulations import simulate

    strong = lone_motif_spec({"consensus": "ACGTTGCAGGTC"}, orientation="random")
    data = simulate(strong, 400, seed=0)
    assert likelihood_ratio_oracle(data.spec, data.x, data.y) > 0.999
    flat = lone_motif_spec({"matrix": [[1, 1], [1, 1], [1, 1], [1, 1]]}, orientation="random")
    data = simulate(flat, 400, seed=0)
    assert likelihood_ratio_oracle(data.spec, data.x, data.y) == 0.5
    weak = lone_motif_spec({"matrix": [[0.7], [0.1], [0.1], [0.1]]}, orientation="random")
    data = simulate(weak, 2000, seed=0)
    assert 0.5 < likelihood_ratio_oracle(data.spec, data.x, data.y) < 0.6
    assert np.isnan(likelihood_ratio_oracle(data.spec, data.x[data.y == 1], data.y[data.y == 1]))


def test_likelihood_ratio_oracle_input_checks():
    from bench.metrics.prediction import likelihood_ratio_oracle

    spec = lone_motif_spec({"consensus": "ACGT"}, orientation="random")
    x = np.zeros((2, 4, 60), np.uint8)
    x[:, 0] = 1
    with pytest.raises(ValueError, match="2 labels for 3"):
        likelihood_ratio_oracle(spec, np.concatenate([x, x[:1]]), np.array([0, 1]))
    spec["classes"][0]["label"] = 2
    with pytest.raises(ValueError, match="labelled 0 and 1"):
        likelihood_ratio_oracle(spec, x, np.array([0, 1]))


def test_planted_content_oracle_reads_scattered_sites_as_counts():
    """Scattered sites are read by how many of each motif there are, not where: positives hold 3 scattered M,
    negatives 2, each at spacings of its own. With the spacings in the content every sequence scored was
    unseen content (auROC 0.5); as counts the reader separates the classes. The strand split is read unless
    the spec draws every scatter element's strands at random; a chain keeps its order and spacing beside them."""
    import pandas as pd

    from bench.metrics.prediction import planted_content_oracle

    rows = []
    for s in range(4):  # positives: 3 scattered M, strands and spacings varying
        rows += [(s, 5 + 7 * s + (11 + s) * k, "+-"[(s + k) % 2], "M", True, "many:scatter:M") for k in range(3)]
    for s in range(4, 8):  # negatives: 2 scattered M
        rows += [(s, 3 * s + (20 + s) * k, "+-"[(s + k) % 2], "M", True, "few:scatter:M") for k in range(2)]
    inst = pd.DataFrame(rows, columns=["seq", "start", "strand", "motif", "functional", "role"])
    y = np.array([1, 1, 1, 1, 0, 0, 0, 0])
    fit, test = np.arange(8), np.arange(8)
    spec = {"length": 100, "reject_matches": False, "motifs": {"M": {"consensus": "ACGTAC"}},
            "classes": [{"name": "pos", "label": 1, "fraction": 0.5,
                         "configs": [{"name": "many", "scatter": [{"motif": "M", "count": 3}]}]},
                        {"name": "neg", "label": 0, "fraction": 0.5,
                         "configs": [{"name": "few", "scatter": [{"motif": "M", "count": 2}]}]}]}
    assert planted_content_oracle(inst, y, fit, test, spec) == 1.0
    # fitted on other sequences than those scored: the count is seen, the exact positions never are
    assert planted_content_oracle(inst, y, [0, 1, 4, 5], [2, 3, 6, 7], spec) == 1.0
    # without the spec the default roles still mark the sites as scattered, but the strand split is read:
    # the positives' splits (2+, 1-) and (1+, 2-) are each seen, as is the negatives' (1+, 1-)
    assert planted_content_oracle(inst, y, [0, 1, 4, 5], [2, 3, 6, 7]) == 1.0
    # the old reading (positions and spacings): nothing fitted is ever seen again, every score the overall rate
    assert planted_content_oracle(inst.drop(columns="role"), y, [0, 1, 4, 5], [2, 3, 6, 7]) == 0.5
    # a chain beside the scattered sites: its spacing stays part of the content
    chain = pd.DataFrame([(s, 80, "+", "M", True, "many:M") for s in range(8)], columns=inst.columns)
    both = pd.concat([inst, chain])
    assert planted_content_oracle(both, y, fit, test) == 1.0


def _count_spec(positive, negative, background):
    """Positives scatter ``positive`` copies of one 8-column motif (strands at random), negatives ``negative``."""
    pfm = [[0.7, 0.1, 0.1, 0.1, 0.6, 0.1, 0.1, 0.2], [0.1, 0.7, 0.1, 0.1, 0.1, 0.6, 0.1, 0.2],
           [0.1, 0.1, 0.7, 0.1, 0.2, 0.1, 0.7, 0.3], [0.1, 0.1, 0.1, 0.7, 0.1, 0.2, 0.1, 0.3]]
    return {"name": "count", "length": 500, "background": background, "reject_matches": False,
            "motifs": {"M": {"matrix": pfm}}, "splits": {"valid": 0.1, "test": 0.5},
            "classes": [{"name": "pos", "label": 1, "fraction": 0.5,
                         "configs": [{"name": "many", "scatter": [{"motif": "M", "count": positive}]}]},
                        {"name": "neg", "label": 0, "fraction": 0.5,
                         "configs": [{"name": "few", "scatter": [{"motif": "M", "count": negative}]}]}]}


@pytest.mark.parametrize("background", [{"gc": 0.5}, {"model": "markov", "gc": 0.42, "cpg_ratio": 0.25}])
@pytest.mark.parametrize("positive,negative", [({"min": 12, "max": 24}, {"min": 2, "max": 8}),
                                               ({"min": 4, "max": 10}, {"min": 2, "max": 6})])
def test_count_grammar_ceilings_are_ordered(background, positive, negative):
    """A density grammar: the planted-content bound reaches what the true site count reads (it read 0.5 when
    the sites' positions were part of its content), and the likelihood ratio stays below that bound."""
    from bench.metrics.prediction import held_out_ceilings
    from simulations import simulate

    data = simulate(_count_spec(positive, negative, background), 2000, seed=0)
    ceilings = held_out_ceilings(data)
    test = data.splits["test"]
    n_sites = np.bincount(data.instances["seq"], minlength=len(data))[test].astype(float)
    count_reader = prediction_scores(data.y[test], n_sites)["auroc"]
    assert ceilings["ceiling_planted_content"] >= count_reader - 0.02
    assert ceilings["ceiling_likelihood_ratio"] <= ceilings["ceiling_planted_content"] + 0.01
    if negative["max"] < positive["min"]:  # the counts never overlap: the content separates the classes
        assert ceilings["ceiling_planted_content"] == 1.0
    assert ceilings["ceiling_likelihood_ratio"] > 0.6
