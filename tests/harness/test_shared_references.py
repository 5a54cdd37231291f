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
