"""The learned gate on hand-made numbers and on a model with constant output."""

import math

import numpy as np
import pytest

from bench.gate import gate, learned_bar


def test_bar_is_a_quarter_of_the_way_to_the_ceiling():
    assert learned_bar(0.9) == pytest.approx(0.6)
    assert learned_bar(None) == pytest.approx(0.625)
    assert learned_bar(float("nan")) == pytest.approx(0.625)
    assert learned_bar(0.4) == pytest.approx(0.625)  # a ceiling at chance bounds nothing


def test_gate_decisions():
    assert gate(0.61, 0.9) == (True, "")
    learned, reason = gate(0.55, 0.9)
    assert not learned and "0.550 < 0.600" in reason and "ceiling 0.900" in reason
    assert gate(float("nan"), 0.9)[0]
    assert not gate(0.6, None)[0]


def test_a_constant_model_fails_the_gate():
    """A model whose output does not depend on its input has test auROC exactly 0.5."""
    import torch

    from bench.metrics import prediction_scores

    class Constant(torch.nn.Module):
        def forward(self, x):
            return torch.zeros(x.shape[0], 1)

    rng = np.random.default_rng(0)
    x = torch.tensor(rng.random((50, 4, 20)), dtype=torch.float32)
    y = np.r_[np.ones(25), np.zeros(25)]
    auroc = prediction_scores(y, Constant()(x).numpy().ravel())["auroc"]
    assert math.isclose(auroc, 0.5)
    learned, reason = gate(auroc, 0.95)
    assert not learned and "did not learn" in reason
