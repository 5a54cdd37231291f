"""Where stages run a model: the suite's ``executor.device``, a GPU per local worker, Ray's GPU share.

The CPU paths run everywhere; the ``gpu`` tests (skipped without CUDA) explain a model on the device and
compare with the CPU.
"""

import multiprocessing

import numpy as np
import pytest
import torch

import models
from bench import executors, registry
from bench.errors import SuiteError
from bench.methods.attribution import attribute, model_device
from bench.suite import load_suite
from tests.harness.test_suite import GOOD


def _suite_with(tmp_path, **executor):
    return {**GOOD, "executor": {"kind": "serial", **executor}}


@pytest.mark.parametrize("device", ["auto", "cpu", "cuda", "cuda:1"])
def test_the_suite_takes_a_device(tmp_path, device):
    assert load_suite(_suite_with(tmp_path, device=device)).raw.executor.device == device


@pytest.mark.parametrize("device", ["gpu", "cuda:x", ""])
def test_an_unknown_device_is_a_one_line_error_naming_the_field(tmp_path, device):
    with pytest.raises(SuiteError, match=r"executor\.device.*'auto', 'cpu', 'cuda' or 'cuda:<index>'") as info:
        load_suite(_suite_with(tmp_path, device=device))
    assert "\n" not in str(info.value)


def test_a_models_own_train_device_wins_and_auto_resolves_here():
    class Entry:
        train = {"device": "cpu"}

    assert registry.training_device(Entry, "cuda") == "cpu"
    Entry.train = {"epochs": 2}
    assert registry.training_device(Entry, "cuda:1") == "cuda:1"
    assert registry.training_device(None, "auto") == ("cuda" if torch.cuda.is_available() else "cpu")


def test_workers_take_the_gpus_round_robin(monkeypatch):
    chosen = []
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 3)
    monkeypatch.setattr(torch.cuda, "set_device", chosen.append)
    slots = multiprocessing.get_context("spawn").Value("i", 0)
    for _ in range(5):
        executors._take_gpu(slots)
    assert chosen == [0, 1, 2, 0, 1] and slots.value == 5


class _FakeRay:
    def __init__(self, gpus):
        self.gpus = gpus

    def is_initialized(self):
        return True

    def cluster_resources(self):
        return {"CPU": 8.0, **({"GPU": float(self.gpus)} if self.gpus else {})}


@pytest.mark.parametrize("device, gpus, workers, share", [
    ("auto", 2, 4, 0.5), ("cuda", 8, 4, 1.0), ("cpu", 2, 4, 0.0), ("auto", 0, 4, 0.0)])
def test_ray_cells_ask_for_their_share_of_the_gpus(device, gpus, workers, share):
    pytest.importorskip("ray")
    ex = executors.RayExecutor(workers, device=device)
    ex.ray = _FakeRay(gpus)
    assert ex.gpus_per_task() == share


def test_engines_run_where_the_model_is_and_return_cpu_arrays():
    model = models.build_model("cnn", {}, input_length=60, seed=0).eval()
    assert model_device(model).type == "cpu" and model_device(torch.nn.ReLU()).type == "cpu"
    x = np.eye(4, dtype=np.float32)[np.random.default_rng(0).integers(0, 4, (3, 60))].transpose(0, 2, 1).copy()
    actual, hyp, _ = attribute(model, x, "integrated_gradients", n_references=2, n_steps=4, seed=0)
    assert isinstance(actual, np.ndarray) and actual.shape == x.shape and hyp.shape == x.shape


@pytest.mark.gpu
@pytest.mark.parametrize("engine", ["deeplift_shap", "integrated_gradients", "ism", "saliency", "smoothgrad",
                                    "expected_gradients"])
def test_every_engine_on_the_gpu_matches_the_cpu(engine):
    model = models.build_model("cnn", {}, input_length=100, seed=0).eval()
    x = np.eye(4, dtype=np.float32)[np.random.default_rng(1).integers(0, 4, (4, 100))].transpose(0, 2, 1).copy()
    kw = dict(seed=0, n_references=3) if engine != "ism" else {}
    cpu, _, _ = attribute(model, x, engine, **kw)
    gpu, _, _ = attribute(model.to("cuda"), x, engine, **kw)
    assert next(model.parameters()).device.type == "cuda"  # left where it was
    np.testing.assert_allclose(gpu, cpu, rtol=1e-3, atol=1e-4)


@pytest.mark.gpu
def test_a_loaded_model_goes_to_the_suite_device(tmp_path):
    model = models.build_model("cnn", {}, input_length=60, seed=0)
    models.save_model(tmp_path / "model.pt", model, spec={"name": "cnn", "params": {}, "input_length": 60},
                      provenance={})

    class Entry:
        name, params, train = "cnn", {}, None

    class Data:
        length = 60

    trained = registry.load_trained(tmp_path, Entry, Data, device="cuda")
    assert next(trained.model.parameters()).device.type == "cuda" and not trained.model.training
