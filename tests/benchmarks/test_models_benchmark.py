"""Model training throughput and the overlap loss's cost (issue 3).

Targets: the overlap loss ≤ 10 % of an ARGMINN training step at F = 8 (L = 500, batch 128), and a
40-epoch paper-setting run (100 batches of 128) under 5 minutes on 2 cores. The loss's memory, what it
holds for the backward and its peak, is checked at F = 8 and 32 by plain tests here.
Run with ``pytest tests/benchmarks/test_models_benchmark.py --benchmark-enable``.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import models
from models.losses import overlap_loss
from models.train import _batch_loss

L, BATCH = 500, 128


def _batch(seed=0):
    codes = np.random.default_rng(seed).integers(0, 4, size=(BATCH, L))
    x = torch.from_numpy((codes[:, None, :] == np.arange(4)[None, :, None]).astype(np.float32))
    y = torch.from_numpy((np.arange(BATCH) % 2).astype(np.float32))
    return x, y


def _step_fn(name):
    model = models.build_model(name.removesuffix("_no_overlap"), {}, L).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = _batch()
    # the held phase of the paper schedule: every regularizer on (ARGMINN's most expensive step);
    # "argminn_no_overlap" leaves the overlap loss out, so that the two steps' difference is its cost in place
    w = {"overlap": 1e5, "l1": 1e-2, "att_entropy": 0.0} if name.startswith("argminn") else \
        {"overlap": 0.0, "l1": 0.0, "att_entropy": 0.0}
    if name.endswith("_no_overlap"):
        w["overlap"] = 0.0

    def step():
        total, _ = _batch_loss(model, x, y, w)
        opt.zero_grad(set_to_none=True)
        total.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    return step


@pytest.mark.parametrize("name", ["argminn", "argminn_no_overlap", "cnn"])
def test_train_step_throughput(benchmark, name):
    step = _step_fn(name)
    step()
    benchmark.pedantic(step, rounds=10, iterations=1, warmup_rounds=1)
    if benchmark.stats is not None:
        median = benchmark.stats.stats.median
        benchmark.extra_info["seq_per_s"] = BATCH / median
        benchmark.extra_info["paper_run_40x100_min"] = 40 * 100 * median / 60


@pytest.mark.parametrize("n_filters", [8, 32])
def test_overlap_loss_time(benchmark, n_filters):
    g = torch.Generator().manual_seed(0)
    acts = torch.relu(torch.randn(BATCH, n_filters, L - 9, generator=g)).requires_grad_()
    weight = torch.randn(n_filters, 4, 10, generator=g).requires_grad_()

    def run():  # forward and backward: what a training step pays
        overlap_loss(acts, weight).mean().backward()
    run()
    benchmark.pedantic(run, rounds=10, iterations=1, warmup_rounds=1)


@pytest.mark.parametrize("n_filters", [8, 32])
def test_overlap_loss_memory(n_filters):
    """What the loss holds for the backward pass grows like the activations (N·F·L'), not like F²."""
    g = torch.Generator().manual_seed(0)
    acts = torch.relu(torch.randn(BATCH, n_filters, L - 9, generator=g)).requires_grad_()
    weight = torch.randn(n_filters, 4, 10, generator=g).requires_grad_()
    saved = {}  # by storage, so that a tensor saved by several ops counts once

    def pack(t):
        if t.data_ptr() != acts.data_ptr():  # the activations are the model's, held anyway
            saved[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = overlap_loss(acts, weight).mean()
    extra = sum(saved.values())
    print(f"F={n_filters}: {extra / 2**20:.2f} MiB held for backward "
          f"({extra / (acts.numel() * acts.element_size()):.2f}x the activations)")
    assert extra <= 2.5 * acts.numel() * acts.element_size()
    loss.backward()


# Peak resident memory of one forward + backward, above what was resident before it, in a fresh
# process: large blocks are mmapped (MALLOC_MMAP_THRESHOLD_) so that a freed block leaves the
# resident set at once, and the kernel's high-water mark is reset just before the call.
_PEAK_SCRIPT = """
import json, re, sys, torch
from models.losses import overlap_loss

def resident(field):
    return int(re.search(field + r":\\s+(\\d+) kB", open("/proc/self/status").read()).group(1)) * 1024

out = []
for implementation in ("loops", "convolution"):
    for n_filters in (8, 32):
        g = torch.Generator().manual_seed(0)
        acts = torch.relu(torch.randn(128, n_filters, 491, generator=g)).requires_grad_()
        weight = torch.randn(n_filters, 4, 10, generator=g).requires_grad_()
        overlap_loss(acts, weight, implementation=implementation).mean().backward()  # compile, warm
        acts.grad = weight.grad = None
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        before = resident("VmRSS")
        overlap_loss(acts, weight, implementation=implementation).mean().backward()
        out.append({"implementation": implementation, "F": n_filters, "peak": resident("VmHWM") - before,
                    "acts": acts.numel() * acts.element_size()})
print(json.dumps(out))
"""


@pytest.mark.skipif(not os.access("/proc/self/clear_refs", os.W_OK), reason="needs Linux's peak-RSS reset")
def test_overlap_loss_peak_memory():
    """Peak memory of the loss's forward + backward, the activations' gradient included: the CPU loops
    stay near 2x the activations at F=8 and F=32 (the penalty map and the gradient); the dense form
    needs the one-hot map and its scaled copy besides."""
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="65536")
    done = subprocess.run([sys.executable, "-c", _PEAK_SCRIPT], env=env, capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[2], check=True)
    rows = json.loads(done.stdout.strip().splitlines()[-1])
    for r in rows:
        print(f"{r['implementation']} F={r['F']}: peak {r['peak'] / 2**20:.1f} MiB "
              f"({r['peak'] / r['acts']:.2f}x the activations)")
    loops = [r for r in rows if r["implementation"] == "loops"]
    assert all(r["peak"] <= 2.5 * r["acts"] for r in loops), loops
