from pathlib import Path

import numpy as np
import pytest
import torch

from models.losses import (attention_entropy_loss, l1_loss, overlap_loss, overlap_loss_bruteforce,
                           prediction_loss)
from models.schedules import (ADAPTIVE_DEFAULTS, PAPER_L1, PAPER_OVERLAP, AdaptiveSettings, Ramp, expand_schedule,
                              ramp_end, weight_at)


IMPLEMENTATIONS = ["loops", "convolution"]
DEAD_POSITIONS = Path(__file__).parent / "data" / "overlap_dead_positions.npz"  # see data/README.md


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize("n,f,w,lp,seed", [(2, 3, 4, 12, 0), (3, 5, 6, 20, 1), (1, 8, 10, 30, 2), (2, 2, 1, 7, 3)])
def test_overlap_loss_matches_bruteforce(n, f, w, lp, seed, implementation):
    g = torch.Generator().manual_seed(seed)
    # sparse ReLU-like activations, some all-zero columns to exercise the argmax-on-zeros rule
    acts = torch.relu(torch.randn(n, f, lp, generator=g, dtype=torch.float64))
    acts[:, :, : lp // 4] = 0
    weight = torch.randn(f, 4, w, generator=g, dtype=torch.float64)
    fast = overlap_loss(acts, weight, implementation=implementation)
    slow = overlap_loss_bruteforce(acts, weight)
    assert fast.shape == (n,)
    np.testing.assert_allclose(fast.numpy(), slow.numpy(), rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_overlap_loss_float32_and_gradients(implementation):
    g = torch.Generator().manual_seed(0)
    acts = torch.relu(torch.randn(2, 4, 25, generator=g)).requires_grad_()
    weight = torch.randn(4, 4, 5, generator=g).requires_grad_()
    loss = overlap_loss(acts, weight, implementation=implementation)
    np.testing.assert_allclose(loss.detach().numpy(), overlap_loss_bruteforce(acts.detach(), weight.detach()).numpy(),
                               rtol=1e-5)
    loss.sum().backward()
    assert torch.isfinite(acts.grad).all() and torch.isfinite(weight.grad).all() and weight.grad.abs().sum() > 0


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize("n,f,w,lp,seed", [(2, 3, 4, 12, 0), (1, 5, 3, 15, 1)])
def test_overlap_loss_gradients_match_bruteforce(n, f, w, lp, seed, implementation):
    """The hand-written backward (activations and conv weights, incl. M) against autograd through the
    literal loop; ties at all-zero positions are included (the top filter is piecewise constant)."""
    g = torch.Generator().manual_seed(seed)
    acts = torch.relu(torch.randn(n, f, lp, generator=g, dtype=torch.float64))
    acts[:, :, : lp // 4] = 0
    weight = torch.randn(f, 4, w, generator=g, dtype=torch.float64)
    upstream = torch.rand(n, generator=g, dtype=torch.float64)  # a non-uniform weighting of examples
    grads = []
    for loss_fn in (lambda a, wt: overlap_loss(a, wt, implementation=implementation), overlap_loss_bruteforce):
        a, wt = acts.clone().requires_grad_(), weight.clone().requires_grad_()
        (loss_fn(a, wt) * upstream).sum().backward()
        grads.append((a.grad, wt.grad))
    for fast, slow in zip(*grads):
        np.testing.assert_allclose(fast.numpy(), slow.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_overlap_loss_zero_when_one_filter_fires(implementation):
    acts = torch.zeros(1, 3, 10)
    acts[0, 0, 4] = 2.0  # only the top filter fires: no other-filter mass anywhere
    assert float(overlap_loss(acts, torch.ones(3, 4, 3), implementation=implementation)) == 0.0


def test_overlap_loss_implementations_agree_at_paper_size():
    """The CPU loops and the dense convolutions on a paper-sized float32 batch (F=8, W=10, L'=491):
    values, both gradients, and a non-contiguous activation tensor (the loops copy it)."""
    g = torch.Generator().manual_seed(0)
    acts = torch.relu(torch.randn(16, 491, 8, generator=g)).transpose(1, 2)  # (N, F, L'), not contiguous
    weight = torch.randn(8, 4, 10, generator=g)
    upstream = torch.rand(16, generator=g)
    out = {}
    for implementation in IMPLEMENTATIONS:
        a, wt = acts.clone().requires_grad_(), weight.clone().requires_grad_()
        loss = overlap_loss(a, wt, implementation=implementation)
        (loss * upstream).sum().backward()
        out[implementation] = (loss.detach(), a.grad, wt.grad)
    for loops, conv in zip(out["loops"], out["convolution"]):
        np.testing.assert_allclose(loops.numpy(), conv.numpy(), rtol=2e-5, atol=1e-9 * float(conv.abs().max()))


def _overlap_by_rule(acts, weight, dead_top=0, last_tie=False):
    """The loss of notes §3.2 written out from the formula (not from models.losses), with the top-filter
    rule at dead positions (``dead_top``: a filter index, or None to skip them) and at ties as options.
    ``acts`` in the reference layout (N, L', F)."""
    m = np.abs(weight).sum(axis=1)
    N, Lp, F = acts.shape
    W = m.shape[1]
    out = np.zeros(N)
    for n in range(N):
        for i in range(Lp):
            r = acts[n, i]
            if r.max() == 0:  # a dead position
                if dead_top is None:
                    continue
                a = dead_top
            else:
                a = int(F - 1 - np.argmax(r[::-1])) if last_tie else int(np.argmax(r))
            for f in range(F):
                for d in range(-(W - 1), W):
                    if f != a and 0 <= i + d < Lp:
                        out[n] += acts[n, i + d, f] * m[a, max(0, d):W - max(0, -d)].sum() \
                            * m[f, max(0, -d):W - max(0, d)].sum()
    return out / m.sum() / (Lp * F * (2 * W - 1))


@pytest.fixture(scope="module")
def dead_positions():
    return dict(np.load(DEAD_POSITIONS))


def test_dead_positions_vector_tells_the_top_filter_rules_apart(dead_positions):
    """The reference vector exercises the argmax-on-zeros rule: the formula with filter 0 on top at dead
    positions (and the first filter at ties) reproduces the reference, and every other choice misses it."""
    d = dead_positions
    acts, weight, ref = d["acts_BxLpxF"], d["conv_weight_FxCxW"], d["loss_overlap"]
    assert list((acts.max(axis=2) == 0).sum(axis=1)) == [8, 19, 0, 24]
    np.testing.assert_allclose(_overlap_by_rule(acts, weight), ref, rtol=1e-12, atol=0)
    for dead_top in (None, 1, 2, 3):  # skip dead positions, or give them to another filter
        moved = np.abs(_overlap_by_rule(acts, weight, dead_top=dead_top)[1] - ref[1]) / ref[1]
        assert moved > 0.25, (dead_top, moved)
    assert abs(_overlap_by_rule(acts, weight, last_tie=True)[2] - ref[2]) / ref[2] > 1e-3
    assert ref[3] == 0.0  # nothing fires anywhere: no penalty, whatever the top filter


@pytest.mark.parametrize("dtype,rtol", [(torch.float64, 1e-10), (torch.float32, 1e-5)])
@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_overlap_loss_matches_reference_at_dead_positions(dead_positions, implementation, dtype, rtol):
    """Values and both gradients against Genentech/ARGMINN's own conv_filter_weight_losses on activations
    with all-zero positions (filter 0 is the top filter there) and ties (data/README.md)."""
    d = dead_positions
    acts = torch.from_numpy(d["acts_BxLpxF"]).transpose(1, 2).to(dtype).contiguous().requires_grad_()
    weight = torch.from_numpy(d["conv_weight_FxCxW"]).to(dtype).requires_grad_()
    loss = overlap_loss(acts, weight, implementation=implementation)
    np.testing.assert_allclose(loss.detach().double().numpy(), d["loss_overlap"], rtol=rtol, atol=1e-12)
    (loss * torch.from_numpy(d["upstream"]).to(dtype)).sum().backward()
    for ours, theirs in ((acts.grad.transpose(1, 2), d["grad_acts_BxLpxF"]),
                         (weight.grad, d["grad_conv_weight_FxCxW"])):
        np.testing.assert_allclose(ours.double().numpy(), theirs, rtol=rtol, atol=rtol * np.abs(theirs).max())
    np.testing.assert_allclose(l1_loss(weight, 4).detach().double().numpy(), d["loss_l1"], rtol=rtol)


def test_overlap_kernels_check_shapes_before_their_unchecked_loops():
    from models import overlap_kernels

    acts = np.zeros((2, 3, 10), np.float32)
    with pytest.raises(ValueError, match="top_filter_penalty: penalty must be"):
        overlap_kernels.top_filter_penalty(acts, np.zeros((2, 3, 9), np.float32), np.zeros((2, 10), np.int32),
                                           np.zeros((3, 5, 3), np.float32))
    with pytest.raises(ValueError, match="kernel_gradient: top must be"):
        overlap_kernels.kernel_gradient(acts, np.zeros((2, 9), np.int32), np.ones(2), 5)


def test_overlap_loss_rejects_unknown_implementation():
    with pytest.raises(ValueError, match="implementation"):
        overlap_loss(torch.zeros(1, 3, 10), torch.ones(3, 4, 3), implementation="fft")
    with pytest.raises(ValueError, match="float32 or float64 CPU tensors, got torch.bfloat16"):
        overlap_loss(torch.zeros(1, 3, 10, dtype=torch.bfloat16), torch.ones(3, 4, 3), implementation="loops")


def test_overlap_loss_auto_takes_the_convolution_for_other_dtypes():
    acts = torch.relu(torch.randn(2, 3, 12, generator=torch.Generator().manual_seed(0)))
    weight = torch.randn(3, 4, 3, generator=torch.Generator().manual_seed(1))
    half = overlap_loss(acts.bfloat16(), weight.bfloat16())
    assert half.dtype == torch.bfloat16
    np.testing.assert_allclose(half.float().numpy(), overlap_loss(acts, weight).numpy(), rtol=0.05)


def test_overlap_loss_rejects_bad_shapes():
    with pytest.raises(ValueError, match="acts"):
        overlap_loss(torch.zeros(3, 10), torch.zeros(3, 4, 2))
    with pytest.raises(ValueError, match="filters"):
        overlap_loss(torch.zeros(1, 3, 10), torch.zeros(2, 4, 2))


def test_other_losses():
    w = torch.tensor([[[1.0, -2.0]]])
    assert torch.equal(l1_loss(w, 3), torch.full((3,), 3.0))
    uniform = torch.full((2, 4, 4, 491), 1 / 491)
    ent = attention_entropy_loss(uniform)
    assert ent.shape == (2,) and abs(float(ent[0]) - np.log2(491)) < 0.05
    logits, y = torch.tensor([[0.0], [2.0]]), torch.tensor([1.0, 0.0])
    np.testing.assert_allclose(prediction_loss(logits, y).numpy(), [np.log(2), np.log1p(np.exp(2))], rtol=1e-6)


def test_paper_schedule_shape_and_values():
    arr = expand_schedule(PAPER_OVERLAP)
    assert len(arr) == 40 and np.all(arr[:10] == 0) and arr[10] == pytest.approx(10 ** 0.5)
    assert arr[29] == pytest.approx(1e5) and np.all(arr[30:] == 1e5)
    assert weight_at(PAPER_L1, 0) == 0 and weight_at(PAPER_L1, 100) == pytest.approx(1e-2)
    assert np.all(np.diff(np.log10(arr[10:30])) > 0)
    assert ramp_end(PAPER_OVERLAP) == 29 and ramp_end(0.5) == 0
    assert weight_at([1.0, 2.0], 5) == 2.0 and weight_at(3, 7) == 3.0


@pytest.mark.parametrize("bad", [-1.0, float("nan"), "x", [], {"burn_in": 1}, {**PAPER_L1, "extra": 1}, True])
def test_schedule_rejects_bad(bad):
    with pytest.raises(ValueError):
        expand_schedule(bad, "l1_weight")


@pytest.mark.parametrize("spec", [PAPER_OVERLAP, PAPER_L1, {"burn_in": 0, "start_exp": 1.0, "end_exp": 1.0, "steps": 1,
                                                            "hold": 0}])
def test_ramp_is_the_schedule_after_its_burn_in(spec):
    """The adaptive schedule's ramp gives exactly (bit for bit) the paper schedule's values after its burn-in."""
    arr = expand_schedule(spec)
    ramp = Ramp(spec["start_exp"], spec["end_exp"], spec["steps"], spec["hold"])
    for t in range(len(arr) - spec["burn_in"] + 5):
        assert ramp.weight(t) == arr[min(spec["burn_in"] + t, len(arr) - 1)], t
        assert 10.0 ** ramp.exponent(t) == pytest.approx(ramp.weight(t), rel=1e-12)
    assert ramp.final_from + spec["burn_in"] == ramp_end(spec) or spec["steps"] <= 1
    assert ramp.length == spec["steps"] + spec["hold"]


def test_adaptive_settings_defaults_and_roundtrip():
    s = AdaptiveSettings.from_dict(None)
    assert s.to_dict() == ADAPTIVE_DEFAULTS == AdaptiveSettings().to_dict()
    assert AdaptiveSettings.from_dict(s.to_dict()) == s
    assert AdaptiveSettings.from_dict({"max_burn_in": 12, "slowdown": 3}).to_dict() == {
        **ADAPTIVE_DEFAULTS, "max_burn_in": 12, "slowdown": 3.0}


@pytest.mark.parametrize("bad,message", [
    ({"max_burnin": 3}, r"adaptive: unknown key\(s\) \['max_burnin'\]; valid keys: \[.*'max_burn_in'"),
    ([1, 2], r"adaptive must be a dict of settings"),
    ({"ramp_patience": 0}, r"adaptive.ramp_patience must be an int >= 1, got 0"),
    ({"ramp_patience": 2.0}, r"adaptive.ramp_patience must be an int >= 1, got 2.0"),
    ({"ramp_patience": True}, r"adaptive.ramp_patience must be an int >= 1, got True"),
    ({"max_retries": -1}, r"adaptive.max_retries must be an int >= 0, got -1"),
    ({"ramp_min_gain": 0}, r"adaptive.ramp_min_gain must be a number > 0.0 and < 0.5, got 0"),
    ({"ramp_min_gain": 0.5}, r"adaptive.ramp_min_gain must be a number > 0.0 and < 0.5, got 0.5"),
    ({"ramp_min_gain": "0.1"}, r"adaptive.ramp_min_gain must be a number"),
    ({"collapse_margin": float("nan")}, r"adaptive.collapse_margin must be a number >= 0.0 and < 0.5, got nan"),
    ({"dead_fraction": 1.0}, r"adaptive.dead_fraction must be a number >= 0.0 and < 1.0"),
    ({"plateau_delta": -0.1}, r"adaptive.plateau_delta must be a number >= 0.0"),
    ({"slowdown": 0.5}, r"adaptive.slowdown must be a number >= 1.0, got 0.5"),
    ({"max_epochs": 0}, r"adaptive.max_epochs must be null or an int >= 1, got 0"),
    ({"max_burn_in": 0}, r"adaptive.max_burn_in must be an int >= 1, got 0"),
    ({"max_burn_in": 50, "max_epochs": 50}, r"adaptive.max_burn_in must be < adaptive.max_epochs \(50\), got 50"),
])
def test_adaptive_settings_reject_bad(bad, message):
    with pytest.raises(ValueError, match=message) as err:
        AdaptiveSettings.from_dict(bad, "adaptive")
    assert "\n" not in str(err.value)
