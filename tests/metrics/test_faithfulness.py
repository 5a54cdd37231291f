"""Deletion curves and the model-parameter randomization check, on models with known answers."""

import numpy as np
import pytest
import torch

from bench.metrics import (composition_reference, deletion_components, deletion_curves, deletion_scores,
                           randomization_check, randomized_copy)


def two_position_model(length=20):
    """A linear logit that reads base A at positions 3 (weight 2) and 7 (weight 1), plus a bias of 0.5."""
    w = np.zeros((4, length))
    w[0, 3], w[0, 7] = 2.0, 1.0

    def predict(xb):
        return (np.asarray(xb) * w).sum(axis=(1, 2)) + 0.5
    return w, predict


def all_a(n, length):
    x = np.zeros((n, 4, length), dtype=np.float32)
    x[:, 0, :] = 1.0
    return x


def test_deletion_curve_by_hand():
    length = 20
    w, predict = two_position_model(length)
    x = all_a(1, length)
    reference = np.zeros_like(x)
    reference[:, 1, :] = 1.0  # every deleted position becomes C
    attr = w[None] * x  # the exact contributions
    curves = deletion_curves(predict, x, attr, reference, max_fraction=0.5, n_steps=10, seed=0)
    assert curves["k"].tolist() == list(range(11))
    # f - f(ref): 3 before any deletion, 1 once position 3 is gone, 0 once 7 is too
    assert (curves["logits"][0] - 0.5).tolist() == pytest.approx([3, 1] + [0] * 9)
    assert curves["reference_logit"].tolist() == pytest.approx([0.5])
    parts = deletion_components(curves)
    # trapezoid over fractions 0, .05, .10: (3 + 1)/2 * .05 + (1 + 0)/2 * .05 = .125, over a width of .5
    assert parts["area"].iloc[0] == pytest.approx(0.25) and parts["scale"].iloc[0] == pytest.approx(3.0)
    r = deletion_scores(curves)
    assert r["deletion_auc"] == pytest.approx(0.25 / 3)
    assert r["deletion_auc_random"] > r["deletion_auc"] and r["deletion_gain"] > 0
    # the same map reversed puts the two positions last: the logit does not move within the curve
    worst = deletion_scores(deletion_curves(predict, x, -attr, reference, 0.5, 10, seed=0))
    assert worst["deletion_auc"] == pytest.approx(1.0) and worst["deletion_gain"] <= 0


def test_deletion_random_order_and_determinism():
    rng = np.random.default_rng(0)
    length, n = 40, 30
    w = rng.normal(size=(4, length))

    def predict(xb):
        return (np.asarray(xb) * w).sum(axis=(1, 2))
    idx = rng.integers(0, 4, (n, length))
    x = np.zeros((n, 4, length), dtype=np.float32)
    np.put_along_axis(x, idx[:, None, :], 1.0, axis=1)
    ref = composition_reference(x)
    assert ref.shape == x.shape and np.allclose(ref.sum(axis=1), 1.0)
    exact = (w[None] - (w[None] * ref).sum(axis=1, keepdims=True)) * x  # f(x) - f(x with i deleted), per i
    a = deletion_curves(predict, x, exact, ref, max_fraction=1.0, n_steps=40, seed=3)
    b = deletion_curves(predict, x, exact, ref, max_fraction=1.0, n_steps=40, seed=3)
    for key in ("logits", "logits_random"):
        assert np.array_equal(a[key], b[key])
    # all positions replaced: both orders end at the reference
    assert a["logits"][:, -1] == pytest.approx(a["reference_logit"])
    assert a["logits_random"][:, -1] == pytest.approx(a["reference_logit"])
    up = deletion_components(a)["scale"].to_numpy() > 0  # sequences scoring above their reference
    r = deletion_scores(a, rows=up)
    assert r["n_sequences"] == up.sum() > 5
    # for a linear model the exact contributions give the fastest-falling curve there is: at every k
    # the top-k contributions remove the most, so the area is the smallest of any order
    assert np.all(a["logits"] <= a["logits_random"] + 1e-9)
    assert r["deletion_auc"] < r["deletion_auc_random"]


def test_deletion_rejects_bad_inputs():
    _, predict = two_position_model()
    x = all_a(1, 20)
    with pytest.raises(ValueError, match="max_fraction"):
        deletion_curves(predict, x, x, x, max_fraction=0)
    with pytest.raises(ValueError, match="shape"):
        deletion_curves(predict, x, x[:, :, :10], x)
    with pytest.raises(ValueError, match="one logit"):
        deletion_curves(lambda b: np.zeros(3), x, x, x)
    flat = deletion_curves(lambda b: np.zeros(len(b)), x, x, x)
    assert np.isnan(deletion_scores(flat)["deletion_auc"])  # nothing to delete


class Tiny(torch.nn.Module):
    def __init__(self, length=30):
        super().__init__()
        self.conv = torch.nn.Conv1d(4, 3, 5)
        self.head = torch.nn.Linear(3 * (length - 4), 1)
        self.scale = torch.nn.Parameter(torch.arange(4, dtype=torch.float32))  # no reset_parameters here

    def forward(self, x):
        return self.head(torch.relu(self.conv(x)).flatten(1)) * self.scale.sum()


def grad_x_input(model, x, references=None):
    xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).requires_grad_(True)
    model(xt).sum().backward()
    return (xt.grad * xt).detach().numpy()


def test_randomized_copy():
    torch.manual_seed(0)
    model = Tiny()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    state = torch.random.get_rng_state()
    a, b = randomized_copy(model, seed=1), randomized_copy(model, seed=1)
    assert torch.equal(torch.random.get_rng_state(), state)  # the global random state is untouched
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k])  # the model itself is untouched
        assert torch.equal(a.state_dict()[k], b.state_dict()[k])  # seeded
    assert not torch.equal(a.conv.weight, model.conv.weight) and not torch.equal(a.head.weight, model.head.weight)
    # a parameter without an initializer is permuted: same entries, another order
    assert sorted(a.scale.tolist()) == sorted(model.scale.tolist()) and not torch.equal(a.scale, model.scale)
    assert not torch.equal(randomized_copy(model, seed=2).conv.weight, a.conv.weight)
    # seed 0 does not rebuild a model that was initialized right after torch.manual_seed(0)
    assert not torch.equal(randomized_copy(model, seed=0).conv.weight, model.conv.weight)


def test_randomization_check_known_answers():
    torch.manual_seed(0)
    model = Tiny()
    rng = np.random.default_rng(0)
    idx = rng.integers(0, 4, (8, 30))
    x = np.zeros((8, 4, 30), dtype=np.float32)
    np.put_along_axis(x, idx[:, None, :], 1.0, axis=1)
    # a "map" that ignores the model survives any randomization: Spearman exactly 1 (the check fails)
    ignores = randomization_check(model, x, lambda m, xx, r: xx * np.arange(30)[None, None, :], seed=0)
    assert ignores["spearman"] == pytest.approx(1.0) and ignores["spearman_abs"] == pytest.approx(1.0)
    assert ignores["n_sequences"] == 8
    # gradient x input of an independently re-drawn network is unrelated to the trained one's
    r = randomization_check(model, x, grad_x_input, seed=0)
    assert abs(r["spearman"]) < 0.5 and r["n_sequences"] == 8
    again = randomization_check(model, x, grad_x_input, seed=0)
    assert again == r
    # a map given for the trained model is used as is
    given = grad_x_input(model, x)
    assert randomization_check(model, x, grad_x_input, seed=0, attr=given) == r
