"""The gradient routes (saliency, gradient, smoothgrad, expected_gradients) and the one-hot gradient
correction, on models whose gradients are known."""

import numpy as np
import pytest
import torch

from bench.families import FAMILIES
from bench.methods import METHODS
from bench.methods.attribution import GRADIENT_ENGINES, attribute, make_references

from .tiny_models import LinearConv, TinyCNN, gata_motif_x

NEW = ("saliency", "gradient", "smoothgrad", "expected_gradients")
FAST = {"n_references": 3, "n_steps": 8, "n_samples": 6}


@pytest.fixture(scope="module")
def x():
    return gata_motif_x(12, 40)


@pytest.fixture(scope="module")
def cnn():
    model = TinyCNN()
    model.bn.running_mean.uniform_(0, 0.5)
    model.bn.running_var.uniform_(0.5, 1.5)
    return model.eval()


@pytest.mark.parametrize("engine", ["saliency", "gradient", "smoothgrad"])
def test_linear_model_gradient_is_the_weights(x, engine):
    """f = sum w . x + b: the gradient is w everywhere, gradient x input is w on the observed base
    (noise does not move a linear model's gradient, so SmoothGrad gives w too)."""
    model = LinearConv(x.shape[2])
    w = model.w.detach().numpy()
    actual, hyp, err = attribute(model, x, engine, gradient_correction=False, n_samples=4)
    np.testing.assert_allclose(hyp, np.broadcast_to(w, hyp.shape), rtol=0, atol=1e-6)
    np.testing.assert_allclose(actual, w * x, rtol=0, atol=1e-6)
    if engine == "saliency":
        np.testing.assert_array_equal(actual, w * x)  # exact: one backward pass of a linear map
    assert np.isnan(err).all()  # no references, no completeness error
    corrected, chyp, _ = attribute(model, x, engine, gradient_correction=True, n_samples=4)
    np.testing.assert_allclose(chyp, np.broadcast_to(w - w.mean(axis=0), hyp.shape), atol=1e-6)
    np.testing.assert_allclose(corrected, (w - w.mean(axis=0)) * x, atol=1e-6)


def test_expected_gradients_is_exact_on_a_linear_model(x):
    """With one reference per sequence (K copies of it), expected gradients of a linear model are
    w * (x - ref): actual sums to f(x) - f(ref), hypothetical is w_i - ref . w."""
    model = LinearConv(x.shape[2])
    w = model.w.detach().numpy()
    one = np.repeat(make_references(x, 1, seed=0), 3, axis=1)
    actual, hyp, err = attribute(model, x, "expected_gradients", references=one, gradient_correction=False,
                                 n_samples=5)
    ref = one[:, 0]
    np.testing.assert_allclose(actual.sum(axis=1), ((x - ref) * w).sum(axis=1), atol=1e-5)
    np.testing.assert_allclose(hyp, w[None] - (ref * w).sum(axis=1, keepdims=True), atol=1e-5)
    assert err.max() < 1e-4
    assert np.all(actual[x == 0] == 0)


@pytest.mark.parametrize("engine", GRADIENT_ENGINES)
def test_correction_makes_channel_sums_zero(cnn, x, engine):
    on_a, on_h, _ = attribute(cnn, x, engine, seed=1, gradient_correction=True, **FAST)
    off_a, off_h, _ = attribute(cnn, x, engine, seed=1, gradient_correction=False, **FAST)
    np.testing.assert_allclose(on_h.sum(axis=1), 0, atol=1e-5)
    assert np.abs(off_h.sum(axis=1)).max() > 1e-3, "an uncorrected nonlinear model has off-simplex gradient"
    np.testing.assert_allclose(on_a, on_h * x, atol=1e-7)
    # the correction removes the per-position channel mean of the same hypothetical scores
    np.testing.assert_allclose(on_h, off_h - off_h.mean(axis=1, keepdims=True), atol=1e-5)


def test_saliency_and_gradient_are_two_implementations_of_one_quantity(cnn, x):
    a, h, _ = attribute(cnn, x, "saliency")
    b, g, _ = attribute(cnn, x, "gradient")
    np.testing.assert_allclose(h, g, atol=1e-6)
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_expected_gradients_uses_the_deeplift_shap_references(cnn, x, monkeypatch):
    """Same seed, same dinucleotide shuffles: the baselines handed to captum are exactly the
    references tangermeme's DeepLiftSHAP gets."""
    import captum.attr

    import bench.methods.attribution as attr

    seen_dls, seen_eg = [], []
    dls = attr._tangermeme_dls
    monkeypatch.setattr(attr, "_tangermeme_dls", lambda m, xx, refs, bs: seen_dls.append(refs) or dls(m, xx, refs, bs))
    original = captum.attr.GradientShap.attribute

    def spy(self, inputs, baselines, **kw):
        seen_eg.append(baselines.numpy().copy())
        return original(self, inputs, baselines, **kw)

    monkeypatch.setattr(captum.attr.GradientShap, "attribute", spy)
    attr._MEMO.clear()
    attribute(cnn, x, "deeplift_shap", n_references=4, seed=11)
    attribute(cnn, x, "expected_gradients", n_references=4, seed=11, n_samples=3, gradient_correction=True)
    refs = seen_dls[0]
    assert len(seen_eg) == len(x)  # one call per sequence, on that sequence's own references
    np.testing.assert_array_equal(np.stack(seen_eg), refs)
    np.testing.assert_array_equal(refs, make_references(x, 4, seed=11))


@pytest.mark.parametrize("engine", NEW)
def test_same_seed_same_output_and_no_batch_dependence(cnn, x, engine):
    kw = dict(n_references=3, n_samples=6, gradient_correction=False)
    np_state, torch_state = np.random.get_state()[1].copy(), torch.get_rng_state().clone()
    a1, h1, _ = attribute(cnn, x, engine, seed=4, batch_size=2, **kw)
    a2, h2, _ = attribute(cnn, x, engine, seed=4, batch_size=256, **kw)
    np.testing.assert_allclose(a1, a2, atol=1e-6)
    np.testing.assert_allclose(h1, h2, atol=1e-6)
    again, _, _ = attribute(cnn, x, engine, seed=4, batch_size=2, check=False, **kw)  # past the memo
    np.testing.assert_array_equal(a1, again)
    if engine in ("smoothgrad", "expected_gradients"):
        other, _, _ = attribute(cnn, x, engine, seed=5, batch_size=2, **kw)
        assert not np.allclose(a1, other), "another seed draws other noise / references"
    # the caller's random state is left as it was
    np.testing.assert_array_equal(np.random.get_state()[1], np_state)
    assert torch.equal(torch.get_rng_state(), torch_state)


def test_route_defaults_and_bad_params(cnn, x):
    for name in NEW:
        assert METHODS[name].defaults()["gradient_correction"] is True, name
        assert METHODS[name].requires == ("differentiable",)
    assert METHODS["integrated_gradients"].defaults()["gradient_correction"] is False  # paper parity
    with pytest.raises(ValueError, match=r"^gradient_correction must be true or false, got 'yes'$"):
        METHODS["saliency"].check_params({"gradient_correction": "yes"})
    with pytest.raises(ValueError, match=r"^n_samples must be a positive integer, got 0$"):
        METHODS["smoothgrad"].check_params({"n_samples": 0})
    with pytest.raises(ValueError, match=r"^stdev must be a number > 0, got 0$"):
        METHODS["smoothgrad"].check_params({"stdev": 0})
    with pytest.raises(ValueError, match=r"n_references must be a positive integer"):
        METHODS["expected_gradients"].check_params({"n_references": 0})
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['stdev'\]"):
        METHODS["expected_gradients"].check_params({"stdev": 0.1})


def test_routes_run_through_the_registry(cnn, x):
    interp = METHODS["expected_gradients"].run(cnn, x, {"n_references": 3, "n_samples": 4}, seed=2)
    direct, hyp, _ = attribute(cnn, x, "expected_gradients", n_references=3, n_samples=4, seed=2,
                               gradient_correction=True)
    np.testing.assert_array_equal(interp.attributions, direct)
    np.testing.assert_array_equal(interp.hypothetical, hyp)
    assert interp.details["engine"] == "expected_gradients" and interp.details["params"]["gradient_correction"]
    sal = METHODS["saliency"].run(cnn, x, {"gradient_correction": False})
    assert "completeness_median_abs" not in sal.details  # no references, nothing to be complete against


def test_attribution_only_routes_are_scored_as_such():
    for name in NEW:
        assert METHODS[name].produces == ("attributions",), name
        assert not FAMILIES["motifs"].applies_to(METHODS[name].produces) and FAMILIES["attributions"].applies_to(METHODS[name].produces)
    assert FAMILIES["motifs"].applies_to(METHODS["seqlets"].produces) and FAMILIES["instances"].applies_to(METHODS["seqlets"].produces)
