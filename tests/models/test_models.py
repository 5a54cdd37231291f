import warnings

import numpy as np
import pytest
import torch
from torch import nn

import models
from models import TrainConfig, build_model, check_model_params, fit, list_models, load_model, predict, save_model
from tests.models.conftest import random_one_hot

NAMES = ["argminn", "cnn", "cnn_filterreg", "cnn_exp", "explainn"]
L = 120
NONLINEAR = (nn.ReLU, nn.Softmax, nn.LayerNorm, nn.BatchNorm1d, nn.MaxPool1d, nn.Sigmoid, nn.Tanh, models.Exp)
# a fixed length: the paper schedule (the adaptive default trains an unregularized model to convergence)
TINY = dict(epochs=2, batches_per_epoch=3, batch_size=16, progress=False, patience=None, schedule="paper")


def test_list_models_names():
    assert set(list_models()) == set(NAMES)
    assert list_models()["argminn"]["num_filters"] == 8


def test_check_model_params_errors():
    with pytest.raises(ValueError, match="num_filtres.*valid parameters.*num_filters"):
        check_model_params("argminn", {"num_filtres": 3})
    with pytest.raises(ValueError, match="key_mode"):
        check_model_params("argminn", {"key_mode": "query"})
    with pytest.raises(ValueError, match="num_heads"):
        check_model_params("argminn", {"num_heads": 5})
    with pytest.raises(ValueError, match="unknown model"):
        check_model_params("transformer", {})
    with pytest.raises(ValueError, match="dropout"):
        check_model_params("explainn", {"dropout": 1.5})


@pytest.mark.parametrize("name", NAMES)
def test_shapes_and_gradients(name):
    model = build_model(name, {}, L)
    x = random_one_hot(6, L)
    out = model(x)
    assert out.shape == (6, 1)
    out.sum().backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    acts = model.scanner_activations(x)
    assert acts.shape == (6, model.scanner_weight.shape[0], L - model.scanner_width + 1)


def test_argminn_interims_and_parameter_count():
    model = build_model("argminn", {}, 500)
    logits, acts, att = model.forward_with_interims(random_one_hot(2, 500))
    assert logits.shape == (2, 1) and acts.shape == (2, 8, 491) and att.shape == (2, 4, 4, 491)
    torch.testing.assert_close(att.sum(-1), torch.ones(2, 4, 4))
    assert (acts >= 0).all()
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert 48_000 < trainable < 50_000  # notes §2.3: ≈ 48.9k trainable
    assert not model.init_stream.requires_grad


def test_argminn_switches():
    for params in ({"key_mode": "linear"}, {"stream_init": "ones"}, {"num_layers": 1, "filter_width": 15}):
        model = build_model("argminn", params, 60)
        assert model(random_one_hot(2, 60)).shape == (2, 1)
    assert torch.all(build_model("argminn", {"stream_init": "ones"}, 60).init_stream == 1)


def test_build_model_is_deterministic_and_rejects_short_input():
    a, b = build_model("argminn", {}, 50), build_model("argminn", {}, 50)
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))
    with pytest.raises(ValueError, match="input_length"):
        build_model("cnn", {}, 30)


def _walk_calls(model, x):
    """Forward-hook counts per nonlinearity module instance."""
    counts, handles = {}, []
    for name, mod in model.named_modules():
        if isinstance(mod, NONLINEAR):
            counts[name] = 0
            handles.append(mod.register_forward_hook(lambda m, i, o, n=name: counts.__setitem__(n, counts[n] + 1)))
    try:
        model(x)
    finally:
        for h in handles:
            h.remove()
    return counts


@pytest.mark.parametrize("name", NAMES)
def test_each_nonlinearity_module_used_once(name):
    model = build_model(name, {}, L).eval()
    counts = _walk_calls(model, random_one_hot(3, L))
    assert counts and all(c == 1 for c in counts.values()), counts
    # no functional nonlinearity and no reuse: the autograd graph has exactly one nonlinear node per module
    x = random_one_hot(2, L)
    out = model(x.requires_grad_())
    nodes, stack, seen = [], [out.grad_fn], set()
    while stack:
        fn = stack.pop()
        if fn is None or fn in seen:
            continue
        seen.add(fn)
        nodes.append(type(fn).__name__)
        stack.extend(f for f, _ in fn.next_functions)
    nonlin = [n for n in nodes if any(k in n for k in ("Relu", "Softmax", "Sigmoid", "Tanh", "Exp", "Max"))]
    n_modules = sum(1 for m in model.modules() if isinstance(m, (nn.ReLU, nn.Softmax, nn.MaxPool1d, models.Exp)))
    assert len(nonlin) == n_modules, (nonlin, n_modules)


def test_argminn_attention_products_are_bilinear_ops():
    from tangermeme.deep_lift_shap import BilinearOp
    model = build_model("argminn", {}, L)
    ops = [m for m in model.modules() if isinstance(m, BilinearOp)]
    assert len(ops) == 2 * 4


@pytest.mark.parametrize("key_mode", ["value", "linear"])
def test_fused_training_attention_equals_the_explicit_one(key_mode):
    """Training runs the attention without per-position values; it must be the same function."""
    from models.argminn import StreamAttentionLayer
    torch.manual_seed(0)
    # in float64: the two forms sum in different orders, and in float32 that alone moved a gradient element by
    # 1.2e-6 on one CPU (AMD EPYC) while it stayed within 1e-6 on another
    layer = StreamAttentionLayer(hidden_dim=16, stream_dim=12, num_heads=4, key_mode=key_mode).double()
    stream, tokens = torch.randn(3, 12, dtype=torch.float64), torch.randn(3, 7, 16, dtype=torch.float64)
    outputs, grads = [], []
    for training in (True, False):
        layer.train(training)
        f, att = layer(stream, tokens)
        outputs.append((f, att))
        params = list(layer.parameters())
        loss = (f * torch.arange(12.0, dtype=torch.float64)).sum() + att[..., 2].sum()
        # the key bias shifts every position's logit alike, so its gradient is exactly zero (None when fused)
        grads.append([torch.zeros_like(p) if g is None else g
                      for p, g in zip(params, torch.autograd.grad(loss, params, allow_unused=True))])
    for fused, explicit in zip(outputs[0], outputs[1]):
        torch.testing.assert_close(fused, explicit, rtol=1e-10, atol=1e-12)
    for fused, explicit in zip(*grads):
        torch.testing.assert_close(fused, explicit, rtol=1e-9, atol=1e-11)


def test_fused_attention_context_gives_the_same_function_and_input_gradients():
    model = build_model("argminn", {"num_layers": 2}, 60).eval()
    x = random_one_hot(4, 60, seed=2).requires_grad_()
    explicit = model(x)
    grad_explicit, = torch.autograd.grad(explicit.sum(), x)
    with models.fused_attention(model):
        assert all(layer.fused for layer in model.layers)
        fused = model(x)
        grad_fused, = torch.autograd.grad(fused.sum(), x)
    assert not any(layer.fused for layer in model.layers) and not model.training
    torch.testing.assert_close(fused, explicit, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(grad_fused, grad_explicit, rtol=1e-4, atol=1e-6)
    with models.fused_attention(build_model("cnn", {}, 60)):  # nothing to fuse: a no-op
        pass


def test_deep_lift_shap_completeness_argminn():
    from tangermeme.deep_lift_shap import deep_lift_shap
    from tangermeme.ersatz import dinucleotide_shuffle
    model = build_model("argminn", {"num_layers": 2}, 60).eval()
    x = random_one_hot(3, 60, seed=1)
    refs = dinucleotide_shuffle(x, n=4, random_state=0)  # (N, R, 4, L)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        attr = deep_lift_shap(model, x, references=refs, device="cpu", warning_threshold=1e-4)
    with torch.no_grad():
        fx = model(x)[:, 0]
        fref = model(refs.reshape(-1, 4, 60)).reshape(3, 4).mean(1)
    np.testing.assert_allclose(attr.sum(dim=(1, 2)).numpy(), (fx - fref).numpy(), atol=1e-4)


def test_train_config_roundtrip_and_errors():
    cfg = TrainConfig()
    assert (cfg.epochs, cfg.batches_per_epoch, cfg.batch_size, cfg.lr, cfg.clip) == (40, 100, 128, 1e-3, 1.0)
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="unknown TrainConfig key.*valid keys"):
        TrainConfig.from_dict({"epoch": 3})
    with pytest.raises(ValueError, match="overlap_weight"):
        TrainConfig(overlap_weight=-1)
    w = cfg.resolved_weights(build_model("argminn", {}, L))
    assert isinstance(w["overlap"], dict) and w["overlap"]["end_exp"] == 5
    assert cfg.resolved_weights(build_model("cnn", {}, L))["overlap"] == 0.0
    assert isinstance(cfg.resolved_weights(build_model("cnn_filterreg", {}, L))["l1"], dict)


@pytest.mark.parametrize("name", ["argminn", "cnn_filterreg", "explainn"])
def test_fit_is_deterministic(name, tiny_dataset):
    cfg = TrainConfig(**TINY, overlap_weight=1.0, l1_weight=1e-3) if name != "explainn" else TrainConfig(**TINY)
    results = [fit(build_model(name, {}, 100), tiny_dataset, cfg, seed=3) for _ in range(2)]
    for (k, a), b in zip(results[0].model.state_dict().items(), results[1].model.state_dict().values()):
        assert torch.equal(a, b), k
    r = results[0]
    assert len(r.history) == 2 and {"train_pred", "valid_loss", "weight_overlap"} <= set(r.history[0])
    assert set(r.test_metrics) == {"auroc", "average_precision", "accuracy"}
    assert not r.model.training


def test_fit_reports_each_epoch_and_training_is_the_same_with_or_without_the_callback(tiny_dataset):
    seen = []
    cfg = TrainConfig(**{**TINY, "epochs": 3})
    watched = fit(build_model("cnn", {}, 100), tiny_dataset, cfg, seed=1,
                  on_epoch=lambda entry, cap: seen.append((entry["epoch"], cap, entry["valid_auroc"])))
    plain = fit(build_model("cnn", {}, 100), tiny_dataset, cfg, seed=1)
    assert seen == [(h["epoch"], 3, h["valid_auroc"]) for h in watched.history] and len(seen) == 3
    for a, b in zip(watched.model.state_dict().values(), plain.model.state_dict().values()):
        assert torch.equal(a, b)


def test_fit_best_weights_are_a_copy(tiny_dataset):
    model = build_model("cnn", {}, 100)
    r = fit(model, tiny_dataset, TrainConfig(**{**TINY, "epochs": 3}), seed=0)
    assert r.model is not model
    live = dict(model.named_parameters())
    for k, p in r.model.named_parameters():
        assert p.data_ptr() != live[k].data_ptr()
    best = [h["epoch"] for h in r.history if h["best"]]
    assert best == [r.best_epoch]
    # the rule, written as a loop: the latest epoch within min_delta of the lowest loss seen so far
    lowest, expected = float("inf"), None
    for h in r.history:
        if expected is None or h["valid_loss"] <= lowest + 1e-3:
            expected = h["epoch"]
        lowest = min(lowest, h["valid_loss"])
    assert r.best_epoch == expected
    assert r.history[r.best_epoch]["valid_loss"] <= min(h["valid_loss"] for h in r.history) + 1e-3


def test_selection_uses_the_forward_strand_as_the_test_does(tiny_dataset):
    """The validation numbers in the history are those of the forward sequences, the split's own."""
    from models.train import evaluate

    r = fit(build_model("cnn", {}, 100), tiny_dataset, TrainConfig(**{**TINY, "epochs": 2, "rc_augment": True}), seed=0)
    x_valid, y_valid = tiny_dataset.subset("valid")
    best = r.history[r.best_epoch]
    assert best["valid_loss"] == pytest.approx(evaluate(r.model, x_valid, y_valid)["loss"], rel=1e-6)
    assert best["valid_auroc"] == pytest.approx(evaluate(r.model, x_valid, y_valid)["auroc"], rel=1e-6)


def test_fit_raises_on_non_finite_term(tiny_dataset):
    model = build_model("argminn", {}, 100)
    with torch.no_grad():
        model.conv.weight[0, 0, 0] = float("nan")
    with pytest.raises(FloatingPointError, match="non-finite (pred|overlap)"):
        fit(model, tiny_dataset, TrainConfig(**TINY, overlap_weight=1.0), seed=0)


def test_predict_shape_and_mode():
    model = build_model("cnn", {}, L).train()
    x = random_one_hot(5, L).numpy()
    out = predict(model, x, batch_size=2)
    assert out.shape == (5,) and model.training
    np.testing.assert_allclose(out, predict(model, x), atol=1e-6)
    with pytest.raises(ValueError, match=r"\(N, 4, L\)"):
        predict(model, x[:, :3])


def test_save_load_roundtrip_and_mismatch(tmp_path):
    spec = {"name": "argminn", "params": {"num_layers": 2}, "input_length": 80}
    model = build_model("argminn", spec["params"], 80, seed=5)
    path = save_model(tmp_path / "m.pt", model, spec, {"seed": 5, "history": [{"epoch": 0, "x": float("nan")}]})
    loaded, prov = load_model(path, expected_spec={"name": "argminn", "params": {"num_layers": 2, "num_filters": 8},
                                                   "input_length": 80})
    assert prov["seed"] == 5 and prov["spec"]["params"]["num_layers"] == 2
    x = random_one_hot(3, 80)
    torch.testing.assert_close(loaded(x), model.eval()(x))
    with pytest.raises(ValueError, match="does not match expected_spec.*params"):
        load_model(path, expected_spec={"name": "argminn", "params": {"num_layers": 3}, "input_length": 80})
    with pytest.raises(ValueError, match="does not match expected_spec"):
        load_model(path, expected_spec={"name": "argminn", "params": {"num_layers": 2}, "input_length": 81})
    with pytest.raises(ValueError, match="does not match spec"):
        save_model(tmp_path / "bad.pt", model, {"name": "argminn", "params": {}, "input_length": 80}, {})
