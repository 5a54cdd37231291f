"""Reverse-complement consistency of attribution maps and instance calls, with known answers."""

import numpy as np
import pandas as pd
import pytest

from bench.metrics import (rc_attribution_agreement, rc_attribution_consistency, rc_instance_agreement,
                           reverse_complement, reverse_complement_calls)


def one_hot(n, length, seed=0):
    idx = np.random.default_rng(seed).integers(0, 4, (n, length))
    x = np.zeros((n, 4, length), dtype=np.float32)
    np.put_along_axis(x, idx[:, None, :], 1.0, axis=1)
    return x


def calls(rows):
    return pd.DataFrame(rows, columns=["seq", "start", "end", "strand", "motif", "score"])


def test_reverse_complement_of_one_hot():
    x = np.zeros((1, 4, 3), dtype=np.float32)
    for i, b in enumerate([0, 0, 2]):  # A A G  ->  reverse complement C T T
        x[0, b, i] = 1
    r = reverse_complement(x)
    assert r[0].argmax(axis=0).tolist() == [1, 3, 3]
    assert np.array_equal(reverse_complement(r), x)


def linear(w):
    """f(x) = <w, x> and its exact gradient x input (per-base contributions)."""
    def predict(xb):
        return (np.asarray(xb) * w).sum(axis=(1, 2))

    def attribute(model, xb, references=None):
        base = np.asarray(xb) if references is None else np.asarray(xb) - np.asarray(references).mean(axis=1)
        return w[None] * base * np.asarray(xb)
    return predict, attribute


def test_strand_symmetric_model_agrees_exactly_and_asymmetric_does_not():
    rng = np.random.default_rng(0)
    length = 25
    w = rng.normal(size=(4, length))
    x = one_hot(6, length, 1)
    truth = pd.DataFrame({"seq": [0, 3], "start": [2, 10], "end": [8, 16], "functional": [True, True]})
    sym = w + w[::-1, ::-1]  # f(x) = f(rc x) for every x
    predict, attribute = linear(sym)
    r = rc_attribution_consistency(None, x, attribute, truth, predict=predict)
    assert r["cosine"] == pytest.approx(1.0) and r["spearman"] == pytest.approx(1.0)
    assert r["cosine_instance_mean"] == pytest.approx(1.0) and r["n_sequences"] == 6
    assert r["logit_pearson"] == pytest.approx(1.0) and r["logit_mean_abs_difference"] == pytest.approx(0.0)
    predict, attribute = linear(w)
    r = rc_attribution_consistency(None, x, attribute, truth, predict=predict)
    assert r["cosine"] < 0.5 and r["logit_mean_abs_difference"] > 0


def test_references_are_reverse_complemented_for_the_second_run():
    rng = np.random.default_rng(1)
    length = 25
    w = rng.normal(size=(4, length))
    predict, attribute = linear(w + w[::-1, ::-1])
    x = one_hot(5, length, 2)
    refs = np.stack([one_hot(5, length, s) for s in (3, 4)], axis=1)  # (N, K, 4, L)
    r = rc_attribution_consistency(None, x, attribute, references=refs)
    assert r["cosine"] == pytest.approx(1.0)
    # the same references, not reverse-complemented, break the symmetry: the wiring matters
    bad = attribute(None, reverse_complement(x), refs)
    assert rc_attribution_agreement(attribute(None, x, refs), bad, x)["cosine"] < 0.99
    with pytest.raises(ValueError, match="references"):
        rc_attribution_consistency(None, x, attribute, references=refs[:, :, :, :5])


def test_reverse_complement_calls_and_instance_agreement():
    c = calls([(0, 2, 8, "+", "A", 5.0), (1, 0, 4, "-", "B", 3.0)])
    back = reverse_complement_calls(c, 20)
    assert back[["start", "end"]].values.tolist() == [[12, 18], [16, 20]]
    assert back["strand"].tolist() == ["-", "+"]
    on_x = calls([(0, 2, 8, "+", "A", 5.0)])
    on_rc = calls([(0, 12, 18, "-", "A", 4.0), (0, 0, 3, "+", "B", 1.0)])  # the first is [2, 8) on x
    r = rc_instance_agreement(on_x, on_rc, 20)
    assert r["matched"] == 1 and r["forward_matched_fraction"] == 1.0 and r["reverse_matched_fraction"] == 0.5
    assert r["f1"] == pytest.approx(2 / 3)
    # another motif name at the same place matches only when names are not required to agree
    renamed = on_rc.assign(motif=["pattern_0", "pattern_1"])
    assert rc_instance_agreement(on_x, renamed, 20)["matched"] == 0
    assert rc_instance_agreement(on_x, renamed, 20, same_motif=False)["matched"] == 1
    # one to one: two calls on x over one call on the reverse complement give one match
    two = calls([(0, 2, 8, "+", "A", 5.0), (0, 3, 8, "+", "A", 4.0)])
    assert rc_instance_agreement(two, on_rc, 20)["matched"] == 1
    empty = rc_instance_agreement(calls([]), calls([]), 20)
    assert np.isnan(empty["f1"]) and np.isnan(empty["forward_matched_fraction"])
    with pytest.raises(ValueError, match="length"):
        reverse_complement_calls(c, 5)
