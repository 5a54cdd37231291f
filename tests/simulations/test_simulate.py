import numpy as np
import pandas as pd
import pytest

from simulations import (
    PAPER_PRESETS,
    SimulatedDataset,
    dinucleotide_frequencies,
    list_presets,
    markov_transitions,
    parse_spec,
    simulate,
)
from simulations.scan import MatchRule, kmer_codes

A, B = "GATAAGTT", "CACGTGCA"


def spec(**over):
    s = {
        "name": "t",
        "length": 120,
        "motifs": {"A": {"matrix": _onehot(A)}, "B": {"matrix": _onehot(B)}},
        "classes": [
            {"name": "positive", "label": 1, "fraction": 0.5, "configs": [
                {"name": "ab", "motifs": [{"motif": "A", "orientation": "random"},
                                          {"motif": "B", "gap": {"values": [3, 7], "weights": [3, 1]},
                                           "orientation": "-"}],
                 "position": {"mode": "center", "jitter": 10}}]},
            {"name": "negative", "label": 0, "fraction": 0.5, "configs": [
                {"name": "a", "weight": 1, "motifs": [{"motif": "A"}]},
                {"name": "bg", "weight": 3}]},
        ],
        "decoys": [{"motif": "B", "count": {"min": 0, "max": 1}}],
    }
    s.update(over)
    return s


def _onehot(consensus):
    m = np.zeros((4, len(consensus)))
    for j, b in enumerate(consensus):
        m["ACGT".index(b), j] = 1
    return m.tolist()


def _rc(s):
    return s[::-1].translate(str.maketrans("ACGT", "TGCA"))


def _codes(ds):
    return ds.x.argmax(axis=1)


@pytest.fixture(scope="module")
def ds():
    return simulate(spec(), n=3000, seed=7)


def test_instances_are_exactly_where_the_table_says(ds):
    seqs = ["".join("ACGT"[i] for i in row) for row in _codes(ds)]
    assert len(ds.instances) > 0
    for r in ds.instances.itertuples():
        consensus = A if r.motif == "A" else B
        expected = consensus if r.strand == "+" else _rc(consensus)
        assert seqs[r.seq][r.start:r.end] == expected, r


def test_planted_bases_follow_the_pfm_on_their_strand():
    # a soft motif: the observed base frequencies at planted positions match the PFM
    pfm = np.array([[0.7, 0.1], [0.1, 0.1], [0.1, 0.6], [0.1, 0.2]])
    s = {"name": "soft", "length": 50, "reject_matches": False,
         "motifs": {"M": {"matrix": pfm.tolist()}},
         "classes": [{"name": "p", "label": 1, "fraction": 1, "configs": [
             {"name": "m", "motifs": [{"motif": "M", "orientation": "-"}]}]}]}
    d = simulate(s, n=4000, seed=1)
    codes = _codes(d)
    inst = d.instances
    cols = inst["start"].to_numpy()[:, None] + np.arange(2)
    bases = codes[inst["seq"].to_numpy()[:, None], cols]
    observed = np.stack([(bases == b).mean(axis=0) for b in range(4)])
    np.testing.assert_allclose(observed, pfm[::-1, ::-1], atol=0.03)


def test_no_accidental_matches_in_background(ds):
    """Scan every motif on both strands, brute force: only planted windows reach the threshold."""
    resolved = parse_spec(spec())
    codes = _codes(ds)
    occupied = np.zeros(codes.shape, bool)
    for r in ds.instances.itertuples():
        occupied[r.seq, r.start:r.end] = True
    planted = set(zip(ds.instances.seq, ds.instances.start, ds.instances.motif))
    for name, motif in resolved.motifs.items():
        rule = MatchRule(motif, "pvalue", 1e-4, np.full(4, 0.25))
        w = motif.width
        for strand_matrix in rule.matrices:
            for seq in range(0, len(ds), 7):
                for i in range(codes.shape[1] - w + 1):
                    score = sum(strand_matrix[codes[seq, i + k], k] for k in range(w))
                    if score >= rule.cutoff and (seq, i, name) not in planted:
                        assert 2 * (~occupied[seq, i:i + w]).sum() < w, (name, seq, i)


def test_spacing_orientation_and_class_frequencies(ds):
    assert (ds.classes == "positive").sum() == 1500
    assert np.array_equal(ds.y, (ds.classes == "positive").astype(np.float32))
    pos = ds.instances[ds.instances.role.str.startswith("ab:")]
    a = pos[pos.motif == "A"].set_index("seq")
    b = pos[pos.motif == "B"].set_index("seq")
    gaps = (b.start - a.end).to_numpy()
    assert set(np.unique(gaps)) == {3, 7}
    assert abs((gaps == 3).mean() - 0.75) < 0.04
    assert set(b.strand) == {"-"}
    assert abs((a.strand == "+").mean() - 0.5) < 0.04
    center = (a.start + (b.end - a.start) / 2).to_numpy()
    assert np.all(np.abs(center - 60) <= 10 + 1)
    neg_roles = ds.instances[ds.instances.seq.isin(np.flatnonzero(ds.classes == "negative"))].role
    # negatives never hold the positive configuration
    assert not neg_roles.str.startswith("ab:").any()
    n_neg_a = (neg_roles == "a:A").sum()
    assert abs(n_neg_a / 1500 - 0.25) < 0.04
    decoys = ds.instances[ds.instances.role == "decoy"]
    assert not decoys.functional.any() and ds.instances[ds.instances.role != "decoy"].functional.all()
    assert abs(len(decoys) / 3000 - 0.5) < 0.04


def test_instances_never_overlap(ds):
    inst = ds.instances.sort_values(["seq", "start"])
    same = inst.seq.to_numpy()[1:] == inst.seq.to_numpy()[:-1]
    assert np.all(inst.start.to_numpy()[1:][same] >= inst.end.to_numpy()[:-1][same])


def test_scatter_counts_follow_spec():
    s = spec(decoys=[])
    s["classes"][0]["configs"][0]["scatter"] = [{"motif": "B", "count": {"values": [1, 3], "weights": [1, 1]}}]
    d = simulate(s, n=2000, seed=3)
    per_seq = d.instances[d.instances.role == "ab:scatter:B"].groupby("seq").size()
    assert set(per_seq.unique()) == {1, 3}
    assert abs((per_seq == 3).mean() - 0.5) < 0.05


def test_random_order_mirrors_the_chain():
    s = spec(decoys=[])
    s["classes"][0]["configs"][0]["order"] = "random"
    d = simulate(s, n=2000, seed=5)
    pos = d.instances[d.instances.role.str.startswith("ab:")]
    first = pos.sort_values("start").groupby("seq").motif.first()
    assert abs((first == "A").mean() - 0.5) < 0.05
    a = pos[pos.motif == "A"].set_index("seq")
    b = pos[pos.motif == "B"].set_index("seq")
    gap = np.where(a.start < b.start, b.start - a.end, a.start - b.end)
    assert set(np.unique(gap)) == {3, 7}


@pytest.mark.parametrize("gc", [0.3, 0.65])
def test_iid_background_gc(gc):
    s = spec(background={"gc": gc}, reject_matches=False, decoys=[])
    s["classes"] = [{"name": "bg", "label": 0, "fraction": 1, "configs": [{"name": "bg"}]}]
    d = simulate(s, n=2000, seed=0)
    freqs = d.x.mean(axis=(0, 2))
    np.testing.assert_allclose(freqs, [(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2], atol=0.005)


def test_markov_background_dinucleotides():
    s = spec(background={"model": "markov", "gc": 0.42, "cpg_ratio": 0.25}, reject_matches=False, decoys=[])
    s["classes"] = [{"name": "bg", "label": 0, "fraction": 1, "configs": [{"name": "bg"}]}]
    d = simulate(s, n=3000, seed=0)
    obs = dinucleotide_frequencies(_codes(d))
    trans = obs / obs.sum(axis=1, keepdims=True)
    expected = markov_transitions([0.29, 0.21, 0.21, 0.29], 0.25)
    np.testing.assert_allclose(trans, expected, atol=0.01)
    # CpG depletion: observed/expected equals the chain's analytic value T[C,G] / pi_G (0.35 here)
    from simulations.backgrounds import stationary

    pi = stationary(expected)
    mono = obs.sum(axis=1)
    assert abs(obs[1, 2] / (mono[1] * mono[2]) - expected[1, 2] / pi[2]) < 0.03
    assert expected[1, 2] / pi[2] < 0.4


def test_same_seed_same_dataset_and_different_seed_differs():
    a, b, c = (simulate(spec(), n=300, seed=s) for s in (11, 11, 12))
    assert a.fingerprint() == b.fingerprint()
    np.testing.assert_array_equal(a.x, b.x)
    pd.testing.assert_frame_equal(a.instances, b.instances)
    assert a.fingerprint() != c.fingerprint()


def test_save_load_round_trip(tmp_path, ds):
    path = ds.save(tmp_path / "d")
    back = SimulatedDataset.load(path)
    np.testing.assert_array_equal(back.x, ds.x)
    np.testing.assert_array_equal(back.y, ds.y)
    pd.testing.assert_frame_equal(back.instances, ds.instances)
    assert back.spec == ds.spec and back.seed == ds.seed
    for k in ds.splits:
        np.testing.assert_array_equal(back.splits[k], ds.splits[k])
    np.testing.assert_allclose(back.motifs["A"].pfm, ds.motifs["A"].pfm, atol=1e-6)
    assert back.fingerprint() == ds.fingerprint()


def test_load_validates(tmp_path, ds):
    with pytest.raises(ValueError, match="not a saved SimulatedDataset"):
        SimulatedDataset.load(tmp_path)
    path = ds.save(tmp_path / "d")
    (path / "instances.parquet").unlink()
    ds.instances.iloc[:5].to_parquet(path / "instances.parquet")
    with pytest.raises(ValueError, match="fingerprint"):
        SimulatedDataset.load(path)


def test_splits_partition(ds):
    allidx = np.concatenate([ds.splits[k] for k in ("train", "valid", "test")])
    assert sorted(allidx.tolist()) == list(range(len(ds)))
    assert len(ds.splits["test"]) == 300 and len(ds.splits["valid"]) == 300


def test_multitask_labels():
    s = spec(decoys=[])
    s["classes"][0]["label"] = [1, 0]
    s["classes"][1]["label"] = [0, 1]
    d = simulate(s, n=50, seed=0)
    assert d.y.shape == (50, 2)


@pytest.mark.parametrize("name", list_presets())
def test_presets_simulate(name):
    d = simulate(name, n=200, seed=0)
    assert d.x.shape[0] == 200 and len(d.instances) > 0
    assert set(d.instances.motif) <= set(d.motifs)


def test_paper_presets_are_shipped():
    assert set(PAPER_PRESETS) <= set(list_presets())


def test_kmer_scoring_matches_brute_force():
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 4, size=(5, 40))
    matrix = rng.normal(size=(4, 9))
    from simulations.scan import window_scores

    fast = window_scores(kmer_codes(codes), matrix, 40)
    slow = np.array([[sum(matrix[codes[n, i + k], k] for k in range(9)) for i in range(32)] for n in range(5)])
    np.testing.assert_allclose(fast, slow, atol=1e-5)


def test_pvalue_threshold_is_exact_on_a_tiny_motif():
    from simulations.scan import pvalue_threshold

    lo = np.log2(np.array([[0.97, 0.01], [0.01, 0.97], [0.01, 0.01], [0.01, 0.01]]) / 0.25)
    # P(AC) = 1/16 under a uniform background: a p-value of 1/16 admits only the consensus
    t = pvalue_threshold(lo, np.full(4, 0.25), 1 / 16)
    assert lo[0, 0] + lo[1, 1] >= t > max(lo[0, 0] + lo[0, 1], lo[1, 0] + lo[1, 1])
