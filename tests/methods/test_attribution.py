"""The attribution adapter: analytic cases, invariances, shared references, DeepLIFT assumptions."""

import numpy as np
import pytest
import torch
from torch import nn

from bench.methods.attribution import (attribute, check_deeplift_compatible, correct_gradients, eval_mode,
                                       make_references)

from .tiny_models import LinearConv, TinyCNN, gata_motif_x, random_one_hot

EXACT = ("deeplift_shap", "captum_deeplift_shap")


@pytest.fixture(scope="module")
def x():
    return gata_motif_x(16, 40)


@pytest.mark.parametrize("engine", ["deeplift_shap", "integrated_gradients", "captum_deeplift_shap"])
def test_linear_conv_is_analytic(x, engine):
    """For f = sum w . x: every engine gives w * (x - ref) per channel, summed to the observed base."""
    model = LinearConv(x.shape[2])
    refs = make_references(x, 3, seed=0)
    actual, hyp, err = attribute(model, x, engine, references=refs)
    w = model.w.detach().numpy()
    expected = ((x[:, None] - refs) * w).sum(axis=2).mean(axis=1)  # (N, L)
    np.testing.assert_allclose(actual.sum(axis=1), expected, atol=1e-5)
    assert np.all(actual[x == 0] == 0), "actual contributions live on the observed base only"
    # hypothetical: base i against the same references, w_i - sum_c ref_c w_c
    np.testing.assert_allclose(hyp, w[None] - (refs * w).sum(axis=2, keepdims=True).mean(axis=1), atol=1e-5)
    assert err.shape == (len(x),) and err.max() < 1e-4


def test_shap_linear_conv_is_analytic(x):
    model = LinearConv(x.shape[2])
    refs = make_references(x, 3, seed=0)
    actual, hyp, err = attribute(model, x[:4], "shap_deep_explainer", references=refs[:4])
    expected = ((x[:4, None] - refs[:4]) * model.w.detach().numpy()).sum(axis=2).mean(axis=1)
    np.testing.assert_allclose(actual.sum(axis=1), expected, atol=1e-5)
    assert hyp is None and err.max() < 1e-4


@pytest.mark.parametrize("engine", [
    "deeplift_shap", "integrated_gradients",
    pytest.param("captum_deeplift_shap", marks=pytest.mark.xfail(
        reason="captum 0.9.0's max-pool rule depends on the batch (captum#1276 fallback bug); a finding, kept visible",
        strict=False)),
])
def test_batch_size_invariance(tiny_cnn, x, engine):
    a1, h1, _ = attribute(tiny_cnn, x, engine, n_references=4, seed=3, batch_size=4, n_steps=20)
    a2, h2, _ = attribute(tiny_cnn, x, engine, n_references=4, seed=3, batch_size=512, n_steps=20)
    np.testing.assert_allclose(a1, a2, atol=1e-5)
    np.testing.assert_allclose(h1, h2, atol=1e-5)


def test_same_seed_same_references_for_every_engine(tiny_cnn, x):
    refs = make_references(x, 4, seed=7)
    np.testing.assert_array_equal(refs, make_references(x, 4, seed=7))
    assert refs.shape == (len(x), 4, 4, x.shape[2])
    # dinucleotide shuffles: same composition per sequence
    np.testing.assert_array_equal(refs.sum(axis=3), np.repeat(x.sum(axis=2)[:, None], 4, axis=1))
    for engine in ("deeplift_shap", "integrated_gradients"):
        a_seed, _, _ = attribute(tiny_cnn, x, engine, n_references=4, seed=7, n_steps=20)
        a_refs, _, _ = attribute(tiny_cnn, x, engine, references=refs, n_steps=20)
        np.testing.assert_array_equal(a_seed, a_refs)


def test_exact_engines_are_complete_on_a_cnn(tiny_cnn, x):
    for engine in EXACT:
        _, _, err = attribute(tiny_cnn, x, engine, n_references=5, seed=0)
        assert err.max() < 1e-4, engine
    _, _, err = attribute(tiny_cnn, x, "integrated_gradients", n_references=5, seed=0, n_steps=100)
    assert np.median(err) < 0.05


def test_dls_matches_captum_where_captum_is_right(tiny_cnn, x):
    """ReLU -> BatchNorm -> MaxPool keeps captum exact (ecosystem.md §2.1): the two engines agree."""
    a, _, _ = attribute(tiny_cnn, x, "deeplift_shap", n_references=4, seed=1)
    b, _, _ = attribute(tiny_cnn, x, "captum_deeplift_shap", n_references=4, seed=1)
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_eval_mode_set_and_restored():
    model = TinyCNN()
    model.train()
    model.fc.eval()  # a mixed state must come back as it was
    before = model.bn.running_mean.clone()
    x = gata_motif_x(8, 40)
    for engine in ("deeplift_shap", "integrated_gradients", "captum_deeplift_shap"):
        attribute(model, x, engine, n_references=2, n_steps=5)
    assert model.training and model.bn.training and not model.fc.training
    torch.testing.assert_close(model.bn.running_mean, before)


def test_ism_matches_its_definition(x):
    model = LinearConv(x.shape[2])
    actual, hyp, err = attribute(model, x[:2], "ism")
    w = model.w.detach().numpy()
    np.testing.assert_allclose(hyp, np.broadcast_to(w - w.mean(axis=0), hyp.shape), atol=1e-5)
    assert np.isnan(err).all()


def test_correct_gradients_centres_each_position():
    h = np.random.default_rng(0).normal(size=(3, 4, 7))
    c = correct_gradients(h)
    np.testing.assert_allclose(c.sum(axis=1), 0, atol=1e-12)
    with pytest.raises(ValueError, match=r"\(N, 4, L\)"):
        correct_gradients(h[:, :3])


def test_input_shape_errors(tiny_cnn):
    with pytest.raises(ValueError, match=r"x must have shape \(N, 4, L\)"):
        attribute(tiny_cnn, np.zeros((2, 40, 4), np.float32))
    x = random_one_hot(2, 40)
    with pytest.raises(ValueError, match="references must have shape"):
        attribute(tiny_cnn, x, references=np.zeros((2, 3, 4, 39), np.float32))
    with pytest.raises(ValueError, match="method must be one of"):
        attribute(tiny_cnn, x, method="deeplift")


# ---------------------------------------------------------------------- DeepLIFT assumptions


class Functional(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(4, 2, 3)
        self.fc = nn.Linear(2 * 38, 1)

    def forward(self, x):
        return self.fc(torch.relu(self.conv(x)).flatten(1))


class BareProduct(nn.Module):
    def __init__(self, bilinear=False):
        super().__init__()
        self.conv = nn.Conv1d(4, 2, 3)
        self.gate = nn.Conv1d(4, 2, 3)
        self.sig = nn.Sigmoid()
        self.fc = nn.Linear(2 * 38, 1)
        if bilinear:
            from tangermeme.deep_lift_shap import BilinearOp
            self.prod = BilinearOp("...,...->...")
        else:
            self.prod = None

    def forward(self, x):
        h, g = self.conv(x), self.sig(self.gate(x))
        y = self.prod(h, g) if self.prod is not None else h * g
        return self.fc(y.flatten(1))


class Reused(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1, self.c2 = nn.Conv1d(4, 2, 3), nn.Conv1d(2, 2, 3)
        self.relu = nn.ReLU()
        self.fc = nn.Linear(2 * 36, 1)

    def forward(self, x):
        return self.fc(self.relu(self.c2(self.relu(self.c1(x)))).flatten(1))


def test_compatibility_check_names_the_problem():
    x = random_one_hot(2, 40)
    with pytest.raises(ValueError, match="functional nonlinearity 'relu'"):
        check_deeplift_compatible(Functional(), x)
    with pytest.raises(ValueError, match="bare product 'mul'.*BilinearOp"):
        check_deeplift_compatible(BareProduct(), x)
    with pytest.raises(ValueError, match="'relu' \\(ReLU\\) is called 2 times"):
        check_deeplift_compatible(Reused(), x)
    check_deeplift_compatible(Reused(), x, allow_reuse=True)
    check_deeplift_compatible(BareProduct(bilinear=True), x)
    check_deeplift_compatible(TinyCNN(), x)
    # the check runs before any attribution: captum's route refuses the reused module with our message
    with pytest.raises(ValueError, match="called 2 times"):
        attribute(Reused(), x, "captum_deeplift_shap", n_references=2)
    with pytest.raises(ValueError, match="functional nonlinearity"):
        attribute(Functional(), x, "deeplift_shap", n_references=2)


def test_bilinear_product_is_exact_with_tangermeme():
    x = random_one_hot(4, 40)
    _, _, err = attribute(BareProduct(bilinear=True), x, "deeplift_shap", n_references=3)
    assert err.max() < 1e-4


def test_compatibility_check_leaves_the_model_as_it_was():
    model = Reused().train()
    flags = [p.requires_grad for p in model.parameters()]
    check_deeplift_compatible(model, random_one_hot(2, 40), allow_reuse=True)
    assert model.training and [p.requires_grad for p in model.parameters()] == flags
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


def test_eval_mode_context():
    model = TinyCNN().train()
    with eval_mode(model):
        assert not model.bn.training
    assert model.bn.training


@pytest.mark.parametrize("name", ["argminn", "cnn", "cnn_exp", "explainn"])
def test_deeplift_shap_is_exact_on_every_benchmark_model(name):
    """Each model the suites train, at random weights: our DeepLiftSHAP route meets completeness.
    ExplaiNN and the exponential CNN need the ``Exp`` rule the models package registers."""
    import models

    x = random_one_hot(6, 120, seed=3)
    model = models.build_model(name, {}, input_length=120, seed=0).eval()
    with torch.no_grad():  # move BatchNorm statistics off their init so the network is not near-linear
        for m in model.modules():
            if isinstance(m, nn.BatchNorm1d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
    _, _, err = attribute(model, x, "deeplift_shap", n_references=3, seed=0)
    assert err.max() < 1e-4, (name, err.max())


def test_a_repeated_call_is_answered_from_the_memo(tiny_cnn, x, monkeypatch):
    import bench.methods.attribution as attr
    calls = []
    engine = attr._tangermeme_dls
    monkeypatch.setattr(attr, "_tangermeme_dls", lambda *a: calls.append(1) or engine(*a))
    attr._MEMO.clear()
    first = attribute(tiny_cnn, x, "deeplift_shap", n_references=3, seed=5)
    first[0][:] = 0.0  # the caller owns what it gets: the memo keeps its own copy
    again = attribute(tiny_cnn, x, "deeplift_shap", n_references=3, seed=5)
    assert len(calls) == 1 and np.abs(again[0]).sum() > 0
    attribute(tiny_cnn, x, "deeplift_shap", n_references=3, seed=6)  # other references
    attribute(tiny_cnn, x[:-1], "deeplift_shap", n_references=3, seed=5)  # other sequences
    with torch.no_grad():
        next(tiny_cnn.parameters()).add_(0.1)  # other weights
    changed = attribute(tiny_cnn, x, "deeplift_shap", n_references=3, seed=5)
    assert len(calls) == 4
    assert not np.allclose(changed[0], again[0])
