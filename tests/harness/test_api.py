"""The Python API: each call is the runner's stage, on a tiny dataset."""

import numpy as np
import pytest

import bench
from bench.methods import METHODS


@pytest.fixture(scope="module")
def tiny():
    data = bench.simulate("spi1_single", n=400, seed=0)
    fitted = bench.fit("cnn", data, seed=0, epochs=1, batches_per_epoch=3, batch_size=32, schedule="paper")
    return data, fitted


def test_simulate_fit_interpret_score(tiny):
    data, fitted = tiny
    assert data.x.shape == (400, 4, data.length) and len(fitted.history) == 1
    interp = bench.interpret("deeplift_shap", fitted, data, n=10, seed=3, n_references=2)
    index = np.asarray(interp.details["index"])
    assert len(index) == 10 and set(index) <= set(np.asarray(data.splits["test"]))
    # the same maps as the method called directly on those sequences with that seed
    direct = METHODS["deeplift_shap"].run(fitted.model, data.x[index].astype(np.float32), {"n_references": 2},
                                          seed=3)
    np.testing.assert_allclose(interp.attributions, direct.attributions, rtol=1e-5, atol=1e-6)
    scores = bench.score(interp, data)
    assert 0 <= scores["attributions/auroc"] <= 1
    assert not any(k.startswith(("motifs/", "per_sequence/")) for k in scores)  # attributions only
    calls = bench.interpret("filter_readout", fitted, data, n=10, seed=3)
    assert "motifs/recall" in bench.score(calls, data) and "instances/f1" in bench.score(calls, data)


def test_api_errors_name_what_was_wrong(tiny):
    data, fitted = tiny
    with pytest.raises(ValueError, match="unknown method 'deeplift'"):
        bench.interpret("deeplift", fitted, data)
    with pytest.raises(ValueError, match="split must be one of"):
        bench.interpret("saliency", fitted, data, split="holdout")
    with pytest.raises(ValueError, match="unknown parameter"):
        bench.interpret("saliency", fitted, data, n=5, n_references=3)
    with pytest.raises(ValueError, match="index"):
        bench.score(METHODS["saliency"].run(fitted.model, data.x[:3].astype(np.float32)), data)
    with pytest.raises(ValueError, match="model must be"):
        bench.fit(3, data)
    with pytest.raises(AttributeError, match="no attribute 'simulat'"):
        bench.simulat


def test_run_a_suite_dict(tmp_path):
    suite = {"name": "api", "output": str(tmp_path / "run"), "seeds": [0],
             "simulations": [{"preset": "spi1_single", "n": 300}],
             "models": [{"name": "cnn", "train": {"epochs": 1, "batches_per_epoch": 2, "batch_size": 32,
                                                   "schedule": "paper"}}],
             "methods": [{"name": "saliency"}], "metrics": ["attributions"],
             "interpret": {"split": "test", "n_sequences": 5, "classes": ["positive"]},
             "executor": {"kind": "serial"}}
    summary = bench.run(suite, report=False, progress=False)
    assert (summary.results.metric == "attributions/auroc").any()
    assert (tmp_path / "run" / "results.parquet").exists()
