import numpy as np
import pandas as pd
import pytest
import torch

import models
import simulations
from models import readout
from tests.models.conftest import random_one_hot


def motif_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """The reference's cross-correlation similarity (notes §8.2) of two (4, W) PFMs.

    Columns L1-normalized (+1e-6); ``b`` slid over ``a`` with overhangs on both strands; the offset with the
    largest raw dot-sum wins and that sum is divided by its overlap length.
    """
    a = a / (a.sum(0, keepdims=True) + 1e-6)
    b = b / (b.sum(0, keepdims=True) + 1e-6)
    best_sum, best_len = -1.0, 1
    for bb in (b, b[::-1, ::-1]):
        wa, wb = a.shape[1], bb.shape[1]
        for off in range(-(wb - 1), wa):
            lo, hi = max(0, off), min(wa, off + wb)
            s = float((a[:, lo:hi] * bb[:, lo - off: hi - off]).sum())
            if s > best_sum:
                best_sum, best_len = s, hi - lo
    return best_sum / best_len


def _planted(model, width=4):
    """A CNN whose first filter detects exactly 'ACGT' (others silent)."""
    with torch.no_grad():
        conv = model.conv_layers[0][0]
        conv.weight.zero_()
        conv.bias.fill_(-3.0)
        for k, base in enumerate("ACGT"):
            conv.weight[0, "ACGT".index(base), k] = 1.0
    return model


def test_activation_pfms_recovers_planted_filter():
    model = _planted(models.build_model("cnn", {"conv_widths": [4, 3, 3], "pool_size": 4, "pool_stride": 4}, 60))
    x = random_one_hot(50, 60, seed=2)
    motifs = readout.activation_pfms(model, x)
    assert [m.name for m in motifs] == [f"filter_{i}" for i in range(8)]
    np.testing.assert_allclose(motifs[0].pfm, np.eye(4))
    assert motifs[0].source["n_windows"] > 0 and not motifs[0].source["empty"]
    assert all(m.source["empty"] and np.allclose(m.pfm, 0.25) for m in motifs[1:])
    kept = readout.trim_and_filter(motifs, min_length=4)
    assert [m.name for m in kept] == ["filter_0"]
    assert readout.trim_and_filter(motifs) == []  # the reference's rule needs length >= 5
    assert readout.raw_weight_views(model)["filter_0"].shape == (4, 4)


def test_trim_and_filter_trims_low_ic_flanks():
    pfm = np.full((4, 9), 0.25)
    pfm[:, 2:8] = np.eye(4)[:, [0, 1, 2, 3, 0, 1]]
    kept = readout.trim_and_filter([simulations.Motif("filter_3", pfm, {"filter": 3})])
    assert kept[0].width == 6 and kept[0].source["trim"] == [2, 8]
    weak = np.full((4, 8), 0.25)
    weak[0] += 0.15
    weak[1:] -= 0.05
    assert readout.trim_and_filter([simulations.Motif("filter_0", weak)]) == []


def test_instances_and_attention_shapes():
    model = models.build_model("argminn", {"num_layers": 2}, 60)
    x = random_one_hot(5, 60)
    att = readout.attention_maps(model, x)
    assert att.shape == (5, 2, 4, 51)
    motifs = [simulations.Motif(f"filter_{f}", np.full((4, 10), 0.25), {"filter": f}) for f in range(8)]
    for kwargs in ({"attention_threshold": 0.0}, {"calibrated": True}):
        inst = readout.argminn_instances(model, x, motifs=motifs, **kwargs)
        simulations.check_instances(inst)
        assert {"filter", "activation", "zscore", "attention"} <= set(inst.columns)
        assert (inst["end"] - inst["start"] == 10).all()
    assert len(readout.argminn_instances(model, x, motifs=[], attention_threshold=0.0)) == 0
    with pytest.raises(ValueError, match="ARGMINN"):
        readout.attention_maps(models.build_model("cnn", {}, 120), random_one_hot(2, 120))


def test_instance_spacings_table():
    inst = pd.DataFrame({"seq": [0, 0, 0, 1], "start": [5, 20, 40, 3], "end": [15, 30, 50, 13],
                         "strand": ["+", "-", "+", "+"], "motif": ["a", "b", "a", "a"], "score": 1.0})
    tab = readout.instance_spacings(inst)
    assert list(tab.columns) == ["motif_a", "motif_b", "orientation", "offset", "gap", "count"]
    assert tab["count"].sum() == 3
    row = tab[(tab.motif_a == "a") & (tab.motif_b == "b")].iloc[0]
    assert (row.orientation, row.offset, row.gap) == ("+-", 15, 5)
    assert readout.instance_spacings(inst, max_offset=16)["count"].sum() == 1


def test_argminn_learns_planted_motif_in_one_filter():
    """The key test: ARGMINN on a single-motif simulation maps it to one filter; the others stay weak."""
    spec = {"name": "single", "length": 120, "motifs": {"A": {"consensus": "AGGAAGTG"}},
            "classes": [{"name": "positive", "label": 1, "fraction": 0.5,
                         "configs": [{"name": "a", "motifs": [{"motif": "A"}]}]},
                        {"name": "negative", "label": 0, "fraction": 0.5, "configs": [{"name": "bg"}]}]}
    ds = simulations.simulate(spec, n=1500, seed=0)
    epochs = 14  # the paper's schedule shape, compressed: burn-in, log ramp, hold
    cfg = models.TrainConfig(
        epochs=epochs, batches_per_epoch=30, batch_size=64, progress=False, patience=None,
        overlap_weight={"burn_in": 2, "start_exp": 0.5, "end_exp": 4, "steps": 5, "hold": epochs - 7},
        l1_weight={"burn_in": 2, "start_exp": -3, "end_exp": -2, "steps": 5, "hold": epochs - 7})
    result = models.fit(models.build_model("argminn", {}, 120), ds, cfg, seed=0)
    assert result.test_metrics["auroc"] > 0.95
    x, y = ds.subset("test")
    positives = x[y > 0.5]  # planted on the forward strand only, so one filter per motif is expected
    pfms = readout.activation_pfms(result.model, positives)
    sims = np.array([motif_similarity(m.pfm, ds.motifs["A"].pfm) for m in pfms])
    best = int(np.argmax(sims))
    assert sims[best] >= 0.8, sims
    peaks = readout.scanner_activations(result.model, positives).max(axis=(0, 2))
    others = np.delete(peaks, best)
    assert np.all(others <= 0.25 * peaks[best]), (best, peaks)
    assert f"filter_{best}" in [m.name for m in readout.argminn_motifs(result.model, positives)]
    inst = readout.argminn_instances(result.model, positives)
    assert (inst["motif"] == f"filter_{best}").mean() > 0.8
