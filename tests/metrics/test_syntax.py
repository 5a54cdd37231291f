import numpy as np
import pandas as pd
import pytest

from bench.metrics import curve_agreement, interaction, pair_spacings, spacing_curve, spacing_histogram_distance


def onehot(seq):
    return np.array([[float(b == a) for b in seq] for a in "ACGT"])


A, B = onehot("GATA"), onehot("CACG")


def background(n=3, length=40):
    x = np.zeros((n, 4, length), dtype=np.float32)
    x[:, 3, :] = 1.0  # all T: contains neither motif
    return x


def counting_model(x):
    """Logit = 1 per GATA, 2 per CACG, +3 when CACG starts exactly 5 bp after a GATA ends."""
    s = ["".join("ACGT"[i] for i in col) for col in x.argmax(1)]
    out = []
    for q in s:
        v = q.count("GATA") + 2 * q.count("CACG")
        for i in range(len(q)):
            if q.startswith("GATA", i) and q.startswith("CACG", i + 4 + 5):
                v += 3
        out.append(float(v))
    return np.array(out)


def test_spacing_curve_hand_made():
    curve = spacing_curve(counting_model, background(), A, B, [0, 3, 5, 8])
    assert curve["spacing"].tolist() == [0, 3, 5, 8]
    assert curve["delta"].tolist() == [3.0, 3.0, 6.0, 3.0]
    assert curve["delta_a"].tolist() == [1.0] * 4
    assert curve["delta_sem"].tolist() == [0.0] * 4
    agreement = curve_agreement(curve, [5])
    assert agreement["preferred_spacing"] == 5 and agreement["preferred_spacing_error"] == 0
    assert agreement["pearson"] == pytest.approx(1.0) and agreement["preferred_in_planted"] == 1.0


def test_orientation_minus_inserts_reverse_complement():
    curve = spacing_curve(counting_model, background(), A, onehot("CGTG"), [5], orientation=("+", "-"))
    assert curve["delta"].tolist() == [6.0]


def test_interaction_hand_made():
    r = interaction(counting_model, background(), A, B, 5)
    assert (r["effect_a"], r["effect_b"], r["effect_ab"], r["interaction"]) == (1.0, 2.0, 6.0, 3.0)
    r = interaction(counting_model, background(), A, B, 2)
    assert r["interaction"] == 0.0


def test_curve_agreement_weights_and_error():
    curve = pd.DataFrame({"spacing": [0, 1, 2, 3], "delta": [0.0, 1.0, 3.0, 2.0]})
    r = curve_agreement(curve, np.array([[1, 0.2], [3, 0.8]]))
    assert r["preferred_spacing"] == 2 and r["preferred_spacing_error"] == 1 and r["preferred_in_planted"] == 0
    w = np.array([0, 0.2, 0, 0.8])
    assert r["pearson"] == pytest.approx(np.corrcoef(curve["delta"], w)[0, 1])
    flat = pd.DataFrame({"spacing": [0, 1], "delta": [1.0, 1.0]})
    assert np.isnan(curve_agreement(flat, [0])["pearson"])
    with pytest.raises(ValueError, match="planted_spacings"):
        curve_agreement(curve, [])


def test_spacing_histogram_distance():
    assert spacing_histogram_distance([5, 5], [5]) == 0.0
    assert spacing_histogram_distance([2, 4], [3]) == pytest.approx(1.0)
    assert spacing_histogram_distance([0], [0, 10], planted_weights=[0.5, 0.5]) == pytest.approx(5.0)
    assert np.isnan(spacing_histogram_distance([], [3]))


def test_pair_spacings():
    inst = pd.DataFrame({"seq": [0, 0, 0, 1, 1], "start": [0, 10, 30, 5, 0], "end": [4, 14, 34, 9, 4],
                         "motif": ["A", "B", "B", "A", "B"]})
    # seq 0: A ends 4, nearest B downstream starts 10 -> 6; seq 1: B is upstream of A -> none
    assert pair_spacings(inst, "A", "B").tolist() == [6]
    assert pair_spacings(inst, "A", "C").tolist() == []


def test_input_checks():
    with pytest.raises(ValueError, match="spacing"):
        spacing_curve(counting_model, background(length=12), A, B, [10])
    with pytest.raises(ValueError, match="background"):
        spacing_curve(counting_model, np.zeros((3, 40)), A, B, [1])


def test_spacing_grid_orientations():
    from bench.metrics import spacing_grid
    grid = spacing_grid(counting_model, background(), A, onehot("CGTG"), [5, 6])
    assert grid["orientation"].tolist() == ["++", "++", "+-", "+-", "-+", "-+", "--", "--"]
    # B on "-" inserts CACG (the reverse complement of CGTG), scoring 2 and the +3 bonus at gap 5;
    # A on "-" inserts TATC, which the counting model does not see (GATA alone scores 1)
    assert grid["delta"].tolist() == [1.0, 1.0, 6.0, 3.0, 0.0, 0.0, 2.0, 2.0]
    with pytest.raises(ValueError, match="orientations"):
        spacing_grid(counting_model, background(), A, B, [1], orientations=[])


def test_interaction_sign_for_repression():
    def repressive(x):
        return 2.0 - 3.0 * (counting_model(x) >= 3)  # A + B together switch the logit down
    r = interaction(repressive, background(), A, B, 5)
    assert r["interaction"] < 0 and r["interaction_sign"] == -1.0
