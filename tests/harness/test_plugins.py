"""Plug-ins by import path: a suite beside the user's own `my_models.py` names `my_models:TinyCNN`; it
validates, trains, is interpreted by DeepLiftSHAP and scored; an edited module changes the cache keys."""

import json
import sys
import textwrap

import numpy as np
import pytest
import torch

from bench import plugins
from bench.errors import PluginError, SuiteError
from bench.executors import SerialExecutor
from bench.runner import method_key, model_key, run_suite
from bench.suite import load_suite

TINY_CNN = textwrap.dedent('''
    import torch
    from torch import nn


    class TinyCNN(nn.Module):
        """A plain Conv1d -> ReLU -> max-pool -> Linear network."""

        def __init__(self, input_length, filters=4, width=7):
            super().__init__()
            self.conv = nn.Conv1d(4, filters, width)
            self.relu = nn.ReLU()
            self.pool = nn.MaxPool1d(input_length - width + 1)
            self.linear = nn.Linear(filters, 1)

        def forward(self, x):
            return self.linear(self.pool(self.relu(self.conv(x))).squeeze(-1)).squeeze(-1)  # (N,)


    def not_a_model():
        return None
''')

MY_METHODS = textwrap.dedent('''
    import numpy as np

    from bench.methods import Interpretation
    from bench.plugins import method


    @method(produces=["attributions"], requires=["differentiable"], params={"scale": 1.0})
    def gradient_times_input(model, x, params, seed, truth_motifs):
        import torch

        xt = torch.from_numpy(x).requires_grad_(True)
        model(xt).sum().backward()
        hyp = xt.grad.numpy() * params["scale"]
        return Interpretation(attributions=hyp * x, hypothetical=hyp)


    def undeclared(model, x, params, seed, truth_motifs):
        return Interpretation()
''')


def _suite(folder, methods=None, models=None):
    return {
        "name": "plugins", "output": str(folder / "run"), "seeds": [0],
        "simulations": [{"preset": "spi1_single", "n": 200}],
        "models": models or [{"name": "my_models:TinyCNN", "params": {"filters": 3},
                              "train": {"epochs": 1, "batches_per_epoch": 2, "batch_size": 32, "schedule": "paper"}}],
        "methods": methods if methods is not None else [
            {"name": "deeplift_shap", "params": {"n_references": 2}},
            {"name": "my_methods:gradient_times_input"}],
        "metrics": ["prediction", "motifs", "instances", "attributions"],
        "interpret": {"split": "test", "n_sequences": 10, "classes": ["positive"]},
        "executor": {"kind": "serial"},
    }


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "my_models.py").write_text(TINY_CNN)
    (tmp_path / "my_methods.py").write_text(MY_METHODS)
    yield tmp_path
    for name in ("my_models", "my_methods"):
        sys.modules.pop(name, None)


def _write_suite(folder, data):
    import yaml

    path = folder / "suite.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_a_plugin_suite_validates_trains_interprets_and_scores(folder, capsys):
    from bench.__main__ import main

    path = _write_suite(folder, _suite(folder))
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert "plug-in model  my_models:TinyCNN" in out and str(folder / "my_models.py") in out
    assert "plug-in method my_methods:gradient_times_input" in out and "produces attributions" in out
    assert main(["list", "methods", "--suite", str(path)]) == 0
    assert "my_methods:gradient_times_input (produces attributions; plug-in from" in capsys.readouterr().out

    summary = run_suite(load_suite(path), executor=SerialExecutor(), progress=False, report=False)
    df = summary.results
    assert not (df.status == "failed").any(), df[df.status == "failed"].reason.tolist()
    assert {"prediction/auroc", "attributions/auroc"} <= set(df.metric)
    dls = df[df.method == "deeplift_shap"]
    assert dls.metric.str.startswith("attributions/").any()
    mine = df[df.method == "my_methods:gradient_times_input"]
    assert mine.metric.str.startswith("attributions/").any()
    # an attribution-only plug-in is not scored as a motif finder
    assert not mine.metric.str.startswith(("motifs/", "instances/")).any()


def test_an_edited_plugin_module_changes_the_cache_keys(folder):
    suite = load_suite(_write_suite(folder, _suite(folder)))
    sim, model, method = suite.simulations[0], suite.models[0], suite.methods[1]
    m_before, _ = model_key(sim, model, 0, "ds")
    i_before, _ = method_key(method, m_before, {}, 0)
    assert model_key(sim, model, 0, "ds")[0] == m_before  # stable while the file is
    (folder / "my_models.py").write_text(TINY_CNN.replace("nn.ReLU()", "nn.Tanh()"))
    m_after, _ = model_key(sim, model, 0, "ds")
    assert m_after != m_before
    (folder / "my_methods.py").write_text(MY_METHODS + "\n# edited\n")
    assert method_key(method, m_before, {}, 0)[0] != i_before
    # and the edited module is what a build now uses
    import models

    built = models.build_model("my_models:TinyCNN", {}, input_length=30)
    assert isinstance(built.net.relu, torch.nn.Tanh)


def test_builtin_keys_do_not_change(folder):
    from bench.runner import _plugin_part

    suite = load_suite(_write_suite(folder, _suite(folder, models=[{"name": "cnn"}],
                                                   methods=[{"name": "deeplift_shap"}])))
    assert _plugin_part(*suite.models, *suite.methods) == ()


def test_plugin_model_outputs_n_by_1_logits_and_takes_params(folder):
    import models

    suite = load_suite(_write_suite(folder, _suite(folder)))
    assert suite.models[0].name == "my_models:TinyCNN"
    model = models.build_model("my_models:TinyCNN", {"filters": 3}, input_length=50, seed=0)
    x = torch.zeros(5, 4, 50)
    x[:, 0] = 1
    assert model(x).shape == (5, 1) and model.net.conv.out_channels == 3
    again = models.build_model("my_models:TinyCNN", {"filters": 3}, input_length=50, seed=0)
    assert torch.equal(model(x), again(x))  # the seed fixes the init
    assert models.check_model_params("my_models:TinyCNN", {}) == {"filters": 4, "width": 7}
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['depth'\]"):
        models.check_model_params("my_models:TinyCNN", {"depth": 2})


@pytest.mark.parametrize("name, message", [
    ("nowhere_module:Thing", r"cannot import plug-in module 'nowhere_module': no nowhere_module.py in .* and none on sys.path"),
    ("my_models:TinyCN", r"has no attribute 'TinyCN'; did you mean TinyCNN"),
    ("my_models:not_a_model", r"is a function, not a torch.nn.Module class"),
    ("my_models:", r"is not a plug-in path: write module:attr"),
    ("models:ARGMINN", r"has the name of the benchmark's own package 'models'"),
])
def test_bad_model_plugins_are_one_line_suite_errors(folder, name, message):
    data = _suite(folder, models=[{"name": name}])
    with pytest.raises(SuiteError, match=r"models\[0\]\.name: .*" + message) as info:
        load_suite(_write_suite(folder, data))
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("name, message", [
    ("my_methods:undeclared", r"does not declare what it produces"),
    ("my_methods:np", r"is a module, not a function"),
    ("my_models:TinyCNN", r"is a type, not a function"),
    ("my_methods:nothing", r"has no attribute 'nothing'"),
])
def test_bad_method_plugins_are_one_line_suite_errors(folder, name, message):
    with pytest.raises(SuiteError, match=r"methods\[0\]\.name: .*" + message):
        load_suite(_write_suite(folder, _suite(folder, methods=[{"name": name}])))


def test_a_module_that_fails_to_import_says_so(folder):
    (folder / "broken.py").write_text("import torch\nraise RuntimeError('boom')\n")
    with pytest.raises(PluginError, match=r"plug-in module 'broken' failed to import: RuntimeError: boom"):
        plugins.resolve("broken:X", folder)
    sys.modules.pop("broken", None)


def test_method_plugin_params_are_validated(folder):
    with pytest.raises(SuiteError, match=r"unknown parameter\(s\) \['scal'\]"):
        load_suite(_write_suite(folder, _suite(folder, methods=[
            {"name": "my_methods:gradient_times_input", "params": {"scal": 2}}])))


def test_a_plugin_runs_in_a_pool_worker(folder):
    """Workers import the plug-in from the suite's folder themselves (it is not on their sys.path)."""
    from bench.executors import make_executor

    data = _suite(folder, methods=[{"name": "my_methods:gradient_times_input"}])
    data["metrics"] = ["attributions"]
    data["seeds"] = [0, 1]  # two cells, two workers: a pool, not the in-process fallback
    summary = run_suite(load_suite(_write_suite(folder, data)), executor=make_executor("local", 2),
                        progress=False, report=False)
    df = summary.results
    assert not (df.status == "failed").any(), df[df.status == "failed"].reason.tolist()
    assert df[df.method == "my_methods:gradient_times_input"].metric.str.startswith("attributions/").any()
