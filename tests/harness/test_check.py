"""`python -m bench check MODULE:ATTR`: the contract checks catch a model returning probabilities and a
method returning the wrong shapes, one message per failure, exit 1."""

import sys
import textwrap

import pytest

from bench.__main__ import main

MODELS = textwrap.dedent('''
    import torch
    from torch import nn


    class TinyCNN(nn.Module):
        def __init__(self, input_length, filters=4, width=7):
            super().__init__()
            self.conv = nn.Conv1d(4, filters, width)
            self.relu = nn.ReLU()
            self.pool = nn.MaxPool1d(input_length - width + 1)
            self.linear = nn.Linear(filters, 1)

        def forward(self, x):
            return self.linear(self.pool(self.relu(self.conv(x))).squeeze(-1))


    class ProbCNN(TinyCNN):
        def __init__(self, input_length):
            super().__init__(input_length)
            self.out = nn.Sigmoid()

        def forward(self, x):
            return self.out(super().forward(x))


    class WideOutput(TinyCNN):
        def forward(self, x):
            return super().forward(x).repeat(1, 3)
''')

METHODS = textwrap.dedent('''
    import numpy as np

    from bench.methods import Interpretation
    from bench.plugins import method


    @method(produces=["attributions"])
    def good(model, x, params, seed, truth_motifs):
        a = np.random.default_rng(seed).normal(size=x.shape).astype(np.float32) * x
        return Interpretation(attributions=a)


    @method(produces=["attributions"])
    def short(model, x, params, seed, truth_motifs):
        return Interpretation(attributions=np.zeros((x.shape[0], 4, x.shape[2] - 1), np.float32))


    @method(produces=["attributions"])
    def not_an_interpretation(model, x, params, seed, truth_motifs):
        return np.zeros(x.shape)
''')


@pytest.fixture
def here(tmp_path, monkeypatch):
    (tmp_path / "chk_models.py").write_text(MODELS)
    (tmp_path / "chk_methods.py").write_text(METHODS)
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    for name in ("chk_models", "chk_methods"):
        sys.modules.pop(name, None)


def _run(capsys, *args):
    code = main(["check", *args])
    return code, capsys.readouterr()


def test_a_good_model_passes(here, capsys):
    code, out = _run(capsys, "chk_models:TinyCNN", "--length", "40")
    assert code == 0, out.out
    assert "FAIL" not in out.out and "DeepLiftSHAP is complete" in out.out and "passes every check" in out.out


def test_a_model_returning_probabilities_is_caught(here, capsys):
    code, out = _run(capsys, "chk_models:ProbCNN", "--length", "40")
    assert code == 1
    fails = [line for line in out.out.splitlines() if line.startswith("FAIL")]
    assert len(fails) == 1 and "returns probabilities" in fails[0] and "Sigmoid" in fails[0]


def test_a_model_with_the_wrong_output_shape_is_caught(here, capsys):
    code, out = _run(capsys, "chk_models:WideOutput", "--length", "40")
    assert code == 1 and "must map to logits (8,) or (8, 1), got (8, 3)" in out.out


def test_a_good_method_passes(here, capsys):
    code, out = _run(capsys, "chk_methods:good")
    assert code == 0, out.out


def test_a_method_returning_wrong_shapes_is_caught(here, capsys):
    code, out = _run(capsys, "chk_methods:short")
    assert code == 1
    assert "FAIL  Interpretation: attributions must have the input's shape (N, 4, L) = (8, 4, 100), got (8, 4, 99)" \
        in out.out


def test_a_method_not_returning_an_interpretation_is_caught(here, capsys):
    code, out = _run(capsys, "chk_methods:not_an_interpretation")
    assert code == 1 and "must return bench.methods.Interpretation, got ndarray" in out.out


def test_an_unimportable_target_is_one_line(here, capsys):
    code, out = _run(capsys, "nope_mod:X")
    assert code == 2 and out.err.count("\n") == 1 and "cannot import plug-in module 'nope_mod'" in out.err
    code, out = _run(capsys, "no_colon")
    assert code == 2 and "MODULE:ATTR" in out.err


@pytest.mark.parametrize("shadow", ["models.py", "simulations"])
def test_a_users_models_or_simulations_in_the_working_directory_is_named(tmp_path, shadow):
    import os
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    if shadow.endswith(".py"):
        (tmp_path / shadow).write_text("x = 1\n")
    else:
        (tmp_path / shadow).mkdir()
        (tmp_path / shadow / "__init__.py").write_text("x = 1\n")
    env = {**os.environ, "PYTHONPATH": str(root)}
    r = subprocess.run([sys.executable, "-m", "bench", "list", "metrics"], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "shadows the benchmark's own package" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and r.stderr.count("\n") == 1
