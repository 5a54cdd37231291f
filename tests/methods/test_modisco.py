"""The modisco-lite adapter (layout, parameters, results file) and the MoDISco route end to end."""

import numpy as np
import pandas as pd
import pytest

from bench.methods.modisco import (MODISCO_DEFAULTS, api_kwargs, check_modisco_params, read_patterns, run_modisco,
                                   to_modisco_layout, window_offsets)
from bench.methods.scanning import merge_overlapping

from .tiny_models import random_one_hot


def test_transpose_into_modisco_layout():
    x = random_one_hot(3, 7)
    t = to_modisco_layout(x)
    assert t.shape == (3, 7, 4) and t.dtype == np.float32 and t.flags.c_contiguous
    for n in range(3):
        for pos in range(7):
            np.testing.assert_array_equal(t[n, pos], x[n, :, pos])
    with pytest.raises(ValueError, match=r"hypothetical must have shape \(N, 4, L\)"):
        to_modisco_layout(t, "hypothetical")


def test_parameters_are_all_pinned():
    p = check_modisco_params({"max_seqlets": 50})
    assert p == {**MODISCO_DEFAULTS, "max_seqlets": 50}
    kw = api_kwargs(p)
    assert kw["max_seqlets_per_metacluster"] == 50 and kw["target_seqlet_fdr"] == 0.05
    assert "window" not in kw and "n_threads" not in kw
    with pytest.raises(ValueError, match=r"unknown modisco parameter\(s\) \['fdr'\]"):
        check_modisco_params({"fdr": 0.1})
    assert window_offsets(500, None) == (0, 500)
    assert window_offsets(500, 400) == (50, 450)
    assert window_offsets(200, 400) == (0, 200)


def test_run_modisco_checks_shapes(tmp_path):
    x = random_one_hot(2, 10)
    with pytest.raises(ValueError, match="hypothetical must have the shape of x"):
        run_modisco(x, x[:, :, :5], workdir=tmp_path)


def test_read_patterns_transposes_back_and_offsets(tmp_path):
    import h5py

    ppm = np.random.default_rng(0).dirichlet(np.ones(4), size=6)  # modisco stores (W, 4)
    with h5py.File(tmp_path / "m.h5", "w") as f:
        for k in (0, 1, 10):
            g = f.create_group(f"pos_patterns/pattern_{k}")
            g["sequence"], g["contrib_scores"], g["hypothetical_contribs"] = ppm, ppm * 2, ppm * 3
            s = g.create_group("seqlets")
            s["example_idx"], s["start"], s["end"] = [4, 2], [10, 20], [16, 26]
            s["is_revcomp"] = [False, True]
    pats = read_patterns(tmp_path / "m.h5", offset=50)
    assert [p.name for p in pats] == ["pos_pattern_0", "pos_pattern_1", "pos_pattern_10"]
    np.testing.assert_array_equal(pats[0].ppm, ppm.T)
    np.testing.assert_array_equal(pats[0].cwm, 2 * ppm.T)
    assert pats[0].seqlets.values.tolist() == [[4, 60, 66, "+"], [2, 70, 76, "-"]]


def test_merge_overlapping_keeps_the_best_hit():
    hits = pd.DataFrame({"seq": [0, 0, 0, 1], "start": [5, 8, 30, 5], "end": [11, 14, 36, 11],
                         "strand": ["+", "-", "+", "+"], "motif": ["a", "b", "a", "a"], "score": [4.0, 6.0, 5.0, 4.5]})
    m = merge_overlapping(hits)
    assert m.values.tolist() == [[0, 5, 14, "-", "b", 6.0], [0, 30, 36, "+", "a", 5.0], [1, 5, 11, "+", "a", 4.5]]
    assert len(merge_overlapping(hits.iloc[:0])) == 0


# ---------------------------------------------------------------------- slow: real modisco-lite runs


def _planted(n=1000, length=200, seed=0):
    """GATAAG in every sequence, CACGTG in half; hypothetical contributions 1 on motif bases."""
    rng = np.random.default_rng(seed)
    x = random_one_hot(n, length, seed)
    hyp = rng.normal(0, 0.05, size=x.shape).astype(np.float32)
    for i in range(n):
        starts = [rng.integers(10, length // 2 - 20)] + ([rng.integers(length // 2 + 10, length - 20)] if i % 2 == 0 else [])
        for cons, s in zip(("GATAAG", "CACGTG"), starts):
            for j, b in enumerate(cons):
                x[i, :, s + j] = 0
                x[i, "ACGT".index(b), s + j] = 1
                hyp[i, "ACGT".index(b), s + j] = 1.0
    return x, hyp


def _best_matches(motifs, consensi):
    from bench.metrics.similarity import aligned_similarity, trim_by_ic
    from simulations import from_consensus

    return {c: max((aligned_similarity(trim_by_ic(m), from_consensus(c, c).pfm) for m in motifs), default=0.0)
            for c in consensi}


@pytest.mark.slow
def test_modisco_adapter_finds_both_planted_patterns(tmp_path):
    x, hyp = _planted()
    result = run_modisco(x, hyp, {"max_seqlets": 2000}, workdir=tmp_path)
    assert (tmp_path / "modisco.h5").exists() and result.params["max_seqlets"] == 2000
    best = _best_matches([p.ppm for p in result.patterns], ["GATAAG", "CACGTG"])
    assert min(best.values()) >= 0.75, best
    s = result.patterns[0].seqlets
    assert s.start.min() >= 0 and s.end.max() <= x.shape[2]


@pytest.mark.slow
def test_modisco_no_signal_is_an_empty_result(tmp_path):
    x = random_one_hot(200, 100, 1)
    hyp = np.random.default_rng(1).normal(0, 1e-3, size=x.shape).astype(np.float32)
    result = run_modisco(x, hyp, {"max_seqlets": 500}, workdir=tmp_path)
    assert result.patterns == []  # noise of one scale everywhere: no seqlet beats the null
    assert result.no_patterns_reason == "modisco-lite found no patterns"
    assert (tmp_path / "modisco.h5").exists()


def test_constant_attributions_are_an_empty_result_with_a_reason(tmp_path):
    """A model whose output ignores its input has all-zero attributions; modisco-lite then indexes
    an empty null. The adapter reports no patterns, with the reason, instead of failing."""
    x = random_one_hot(100, 100, 2)
    result = run_modisco(x, np.zeros_like(x), {"max_seqlets": 500}, workdir=tmp_path)
    assert result.patterns == []
    assert "constant" in result.no_patterns_reason


@pytest.mark.slow
def test_modisco_report_offline(tmp_path):
    """`modisco report -l` with a MEME file built from pyjaspar: no MEME suite, no network."""
    from bench.methods.modisco import jaspar_meme, report

    x, hyp = _planted(600, 150)
    result = run_modisco(x, hyp, {"max_seqlets": 1000}, workdir=tmp_path / "run")
    if not result.patterns:
        pytest.skip("no patterns to report")
    db = jaspar_meme(tmp_path / "jaspar.meme")
    out = report(result.h5_path, tmp_path / "report", meme_db=db)
    html = (out / "report.html").read_text()
    assert "pattern_0" in html and "MA0" in html  # logos and JASPAR matches by memelite's Tomtom


@pytest.mark.slow
def test_modisco_route_finds_each_planted_motif_from_a_trained_cnn():
    """The whole route on a two-motif simulation: train the paper CNN, DeepLiftSHAP, modisco-lite,
    FIMO; a pattern matches each planted motif."""
    import simulations
    from bench.methods import METHODS
    from bench.metrics.similarity import aligned_similarity

    from .tiny_models import paper_cnn, train

    ds = simulations.simulate("tal_gata_mixture", 2000, 0)
    x, y = ds.x.astype(np.float32), ds.y.astype(np.float32)
    model = train(paper_cnn(x.shape[2]), x[ds.splits["train"]], y[ds.splits["train"]], epochs=8)
    pos = np.flatnonzero(y == 1)[:1000]
    interp = METHODS["modisco"].run(model, x[pos], {}, seed=0)
    assert interp.details["completeness_max_abs"] < 1e-4
    assert interp.attributions.shape == x[pos].shape and interp.hypothetical.shape == x[pos].shape
    assert set(interp.cwms) == {m.name for m in interp.motifs}
    assert interp.details["instances_unmerged"] >= interp.details["instances_merged"] == len(interp.instances) > 0
    best = {name: max(aligned_similarity(m.pfm, true.pfm) for m in interp.motifs) for name, true in ds.motifs.items()}
    assert min(best.values()) >= 0.7, best


def test_seqlets_are_cut_to_the_trimmed_pattern():
    from bench.methods import _trimmed_seqlets

    seqlets = pd.DataFrame({"seq": [0, 1], "start": [10, 20], "end": [30, 40], "strand": ["+", "-"]})
    actual = np.zeros((2, 4, 50), np.float32)
    actual[0, 0, 15:18] = 1.0
    out = _trimmed_seqlets(seqlets, 5, 8, actual, "pos_pattern_0")
    assert out[["start", "end"]].values.tolist() == [[15, 18], [32, 35]]
    assert out.score.tolist() == [3.0, 0.0] and set(out.motif) == {"pos_pattern_0"}



def test_fill_exact_zeros_leaves_scores_and_fills_zeros_below_the_scale():
    """modisco-lite's 0/0 on all-zero seqlets: exact zeros get noise far below every score."""
    from bench.methods.modisco import fill_exact_zeros
    hyp = np.zeros((2, 4, 30), dtype=np.float32)
    hyp[0, 1, 5:12] = 2.0
    hyp[1, 3, 20] = -4.0
    filled = fill_exact_zeros(hyp)
    nonzero = hyp != 0
    np.testing.assert_array_equal(filled[nonzero], hyp[nonzero])
    assert np.all(filled[~nonzero] != 0) and np.abs(filled[~nonzero]).max() <= 4.0 * 1e-6
    np.testing.assert_array_equal(filled, fill_exact_zeros(hyp))  # seeded
    assert np.all(hyp[~nonzero] == 0)  # the input is not modified
    np.testing.assert_array_equal(fill_exact_zeros(np.zeros((1, 4, 5))), np.zeros((1, 4, 5)))


# ---------------------------------------------------------------------- the route around modisco-lite (faked)


def _fake_patterns():
    """A strong GATAAG pattern (trimmed length 6, total IC ~10.5 bits: passes the paper's MoDISco
    rule) and a weak A-rich one (8 columns of ~0.29 bit, all kept by the 0.2-bit trim, total ~2.4
    bits: fails it)."""
    from bench.methods.modisco import Pattern
    from simulations import from_consensus

    strong = from_consensus("s", "GATAAG").pfm
    weak = np.tile(np.array([[0.55], [0.15], [0.15], [0.15]]), (1, 8))
    seqlets = pd.DataFrame({"seq": [0, 2], "start": [10, 12], "end": [16, 20], "strand": ["+", "-"]})
    return [Pattern("pos_pattern_0", strong, strong * 0.1, strong * 0.1, seqlets.assign(end=[16, 18])),
            Pattern("pos_pattern_1", weak, weak * 0.1, weak * 0.1, seqlets)]


def _fake_run_modisco(record, patterns=_fake_patterns, then=None, fail=False):
    from pathlib import Path

    from bench.methods.modisco import ModiscoResult

    def run(x, hyp, params=None, workdir=None, **kw):
        work = Path(workdir)
        assert work.is_dir() and not any(work.iterdir()), "a fresh, empty folder per call"
        (work / "modisco.h5").write_bytes(b"fake")
        record.append(work)
        if then is not None:
            then()
        if fail:
            raise RuntimeError("modisco-lite failed")
        return ModiscoResult(patterns(), work / "modisco.h5", dict(params or {}), 0.1, "", "")
    return run


def test_modisco_route_scans_only_passing_patterns_by_default(monkeypatch, tiny_cnn, tiny_x):
    from bench.methods import METHODS
    from bench.methods import modisco as mod

    x = tiny_x.copy()
    for j in range(8):  # the weak pattern's best window, so it has something to call
        x[1, :, 20 + j] = 0
        x[1, 0, 20 + j] = 1
    monkeypatch.setattr(mod, "run_modisco", _fake_run_modisco([]))
    base = {"n_references": 3, "merge": False}
    default = METHODS["modisco"].run(tiny_cnn, x, base, seed=0)
    everything = METHODS["modisco"].run(tiny_cnn, x, {**base, "patterns": "all"}, seed=0)
    for interp in (default, everything):
        # every pattern stays a motif, with its quality recorded; only the scan is restricted
        assert [m.name for m in interp.motifs] == ["pos_pattern_0", "pos_pattern_1"]
        assert [m.source["passes_modisco_quality"] for m in interp.motifs] == [True, False]
        assert interp.details["patterns_passing_quality"] == ["pos_pattern_0"]
        assert interp.details["patterns_failing_quality"] == ["pos_pattern_1"]
    assert default.details["pattern_filter"] == "passing"
    assert default.details["patterns_scanned"] == ["pos_pattern_0"]
    assert set(default.instances.motif) == {"pos_pattern_0"}
    assert everything.details["patterns_scanned"] == ["pos_pattern_0", "pos_pattern_1"]
    assert set(everything.instances.motif) == {"pos_pattern_0", "pos_pattern_1"}
    assert everything.details["scan_pvalues"].keys() == {"pos_pattern_0", "pos_pattern_1"}

    seqlets = METHODS["modisco"].run(tiny_cnn, x, {**base, "instances": "seqlets"}, seed=0)
    assert seqlets.details["patterns_scanned"] == ["pos_pattern_0"]
    assert set(seqlets.instances.motif) == {"pos_pattern_0"} and len(seqlets.instances) == 2
    all_seqlets = METHODS["modisco"].run(tiny_cnn, x, {**base, "instances": "seqlets", "patterns": "all"}, seed=0)
    assert sorted(set(all_seqlets.instances.motif)) == ["pos_pattern_0", "pos_pattern_1"]

    with pytest.raises(ValueError, match=r"patterns must be one of \['passing', 'all'\]"):
        METHODS["modisco"].check_params({"patterns": "qc"})


def test_select_patterns():
    from bench.methods import select_patterns

    assert select_patterns(["a", "b", "c"], ["c", "a"], "passing") == ["a", "c"]
    assert select_patterns(["a", "b", "c"], [], "all") == ["a", "b", "c"]
    assert select_patterns(["a"], [], "passing") == []
    with pytest.raises(ValueError, match="patterns must be one of"):
        select_patterns(["a"], ["a"], "some")


def test_modisco_calls_never_share_a_folder_and_leave_nothing(monkeypatch, tmp_path, tiny_cnn, tiny_x):
    """Two calls with the same workdir, the second starting while the first one's folder is in use
    (as parallel cells would): different fresh folders inside workdir, both gone afterwards; a
    failing run and a run without workdir leave nothing either."""
    from bench.methods import METHODS
    from bench.methods import modisco as mod

    params = {"n_references": 3, "workdir": str(tmp_path / "work")}
    record = []
    inner = lambda: METHODS["modisco"].run(tiny_cnn, tiny_x, params, seed=1)  # noqa: E731
    monkeypatch.setattr(mod, "run_modisco", _fake_run_modisco(record, then=lambda: (
        monkeypatch.setattr(mod, "run_modisco", _fake_run_modisco(record)), inner())))
    interp = METHODS["modisco"].run(tiny_cnn, tiny_x, params, seed=0)
    assert len(record) == 2 and record[0] != record[1]
    assert all(r.parent == tmp_path / "work" for r in record)
    assert list((tmp_path / "work").iterdir()) == []
    assert "modisco_h5" not in interp.details and len(interp.motifs) == 2  # read out before the folder went

    METHODS["modisco"].run(tiny_cnn, tiny_x, params, seed=2)  # consecutive
    assert len(record) == 3 and record[2] not in record[:2] and list((tmp_path / "work").iterdir()) == []

    monkeypatch.setattr(mod, "run_modisco", _fake_run_modisco(record, fail=True))
    with pytest.raises(RuntimeError, match="modisco-lite failed"):
        METHODS["modisco"].run(tiny_cnn, tiny_x, params, seed=0)
    assert list((tmp_path / "work").iterdir()) == []

    monkeypatch.setattr(mod, "run_modisco", _fake_run_modisco(record))
    METHODS["modisco"].run(tiny_cnn, tiny_x, {"n_references": 3}, seed=0)  # no workdir: a temp folder
    assert record[-1].name.startswith("modisco_") and not record[-1].exists()


def test_the_scan_and_seqlet_routes_read_one_modisco_run(monkeypatch, tiny_cnn, tiny_x):
    """modisco and modisco with instances: seqlets on the same maps: modisco-lite runs once, both get
    the same patterns; other maps (another reference draw) run it again."""
    from bench.methods import METHODS
    from bench.methods import modisco as mod

    record = []
    monkeypatch.setattr(mod, "run_modisco", _fake_run_modisco(record))
    base = {"n_references": 3}
    scan = METHODS["modisco"].run(tiny_cnn, tiny_x, base, seed=0)
    seqlets = METHODS["modisco"].run(tiny_cnn, tiny_x, {**base, "instances": "seqlets"}, seed=0)
    assert len(record) == 1
    assert [m.name for m in scan.motifs] == [m.name for m in seqlets.motifs]
    assert all(np.array_equal(a.pfm, b.pfm) for a, b in zip(scan.motifs, seqlets.motifs))
    METHODS["modisco"].run(tiny_cnn, tiny_x, base, seed=1)
    assert len(record) == 2

