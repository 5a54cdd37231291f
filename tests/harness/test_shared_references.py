"""Every model of a (simulation, seed) explains the same sequences against the same shuffled references."""

import numpy as np

from bench import runner
from bench.methods import METHODS
from bench.methods import attribution as attr
from bench.suite import load_suite
from tests.methods.tiny_models import LinearConv, TinyCNN, random_one_hot


def test_the_methods_seed_does_not_depend_on_the_model():
    suite = load_suite("suites/quick.yaml")
    sim = suite.simulations[0]
    dls = next(m for m in suite.methods if m.name == "deeplift_shap")
    seeds = {runner.method_key(dls, model_key, {"n_sequences": 10}, runner.cell_seed("method", sim, 0))[1]
             for model_key in ("key-of-argminn", "key-of-cnn")}
    assert len(seeds) == 1
    assert runner.cell_seed("method", sim, 1) not in seeds


def test_two_models_read_the_same_references(monkeypatch):
    """DeepLiftSHAP on two different models at the cell's seed shuffles identical references."""
    seen = []
    real = attr.make_references

    def recording(x, n_references=10, seed=0):
        refs = real(x, n_references, seed)
        seen.append(refs)
        return refs

    monkeypatch.setattr(attr, "make_references", recording)
    x = random_one_hot(6, 40, seed=3)
    sim = load_suite("suites/quick.yaml").simulations[0]
    seed = runner.cell_seed("method", sim, 0)
    for model in (LinearConv(40).eval(), TinyCNN(40).eval()):
        METHODS["deeplift_shap"].fn(model, x, {"n_references": 3, "batch_size": 64}, seed, [])
    assert len(seen) == 2 and seen[0].shape[:2] == (6, 3)
    np.testing.assert_array_equal(seen[0], seen[1])


def test_two_models_of_a_cell_explain_the_same_sequences_against_the_same_references(tmp_path, monkeypatch):
    """Through the runner: the CNN and ExplaiNN cells of one seed interpret identical inputs with
    identical shuffles (recorded where the references are made)."""
    from bench.executors import SerialExecutor
    from bench.runner import run_suite

    seen = {}
    real = attr.make_references

    def recording(x, n_references=10, seed=0):
        refs = real(x, n_references, seed)
        seen.setdefault(len(seen), (np.asarray(x).copy(), refs))
        return refs

    monkeypatch.setattr(attr, "make_references", recording)
    suite = load_suite({
        "name": "two_models", "output": str(tmp_path / "run"), "seeds": [0],
        "simulations": [{"preset": "spi1_single", "n": 300}],
        "models": [{"name": "cnn", "train": {"epochs": 1, "batches_per_epoch": 2, "batch_size": 32}},
                   {"name": "explainn", "train": {"epochs": 1, "batches_per_epoch": 2, "batch_size": 32}}],
        "methods": [{"name": "deeplift_shap", "params": {"n_references": 2}}], "metrics": ["attributions"],
        "interpret": {"n_sequences": 8}, "executor": {"kind": "serial"}})
    run_suite(suite, executor=SerialExecutor(), progress=False, report=False)
    assert len(seen) == 2
    (x0, r0), (x1, r1) = seen[0], seen[1]
    np.testing.assert_array_equal(x0, x1)
    np.testing.assert_array_equal(r0, r1)
