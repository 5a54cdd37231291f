"""On a CUDA device (marker ``gpu``: skipped without one): training runs there and hands back a CPU model,
and a model's logits on the device match its logits on the CPU."""

import numpy as np
import pytest
import torch

import models

from .conftest import random_one_hot

pytestmark = pytest.mark.gpu


def test_training_on_the_device_returns_a_cpu_model_in_eval_mode(tiny_dataset, device):
    model = models.build_model("cnn", {}, input_length=tiny_dataset.length, seed=0)
    config = models.TrainConfig(epochs=1, batches_per_epoch=3, batch_size=32, schedule="paper", device=device,
                                progress=False)
    result = models.fit(model, tiny_dataset, config, seed=0)
    assert next(result.model.parameters()).device.type == "cpu" and not result.model.training
    assert np.isfinite(result.test_metrics["auroc"])


@pytest.mark.parametrize("name", ["cnn", "argminn"])
def test_logits_on_the_device_match_the_cpu(name, device):
    x = random_one_hot(16, 200, seed=1)
    model = models.build_model(name, {}, input_length=200, seed=0).eval()
    with torch.no_grad():
        cpu = model(x).numpy()
        on_device = model.to(device)(x.to(device)).cpu().numpy()
    np.testing.assert_allclose(on_device, cpu, rtol=1e-4, atol=1e-4)
