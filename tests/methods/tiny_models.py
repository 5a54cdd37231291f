"""Small models with known behaviour for the method tests and benchmarks (models/ may not be ready)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


def random_one_hot(n: int, length: int, seed: int = 0) -> np.ndarray:
    """(n, 4, length) float32 one-hot, uniform bases (the package's, which ``bench check`` uses)."""
    from bench.plugins import random_one_hot as one_hot

    return one_hot(n, length, seed)


class LinearConv(nn.Module):
    """Width-1 linear conv summed over positions: f(x) = sum_l w[:, l] . x[:, l] + b.

    Its DeepLIFT and IG contributions are analytic: w * (x - ref), per channel.
    """

    def __init__(self, length: int, seed: int = 0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.w = nn.Parameter(torch.randn(4, length, generator=g))
        self.b = nn.Parameter(torch.tensor(0.3))
        self.flatten = nn.Flatten()

    def forward(self, x):
        return (self.flatten(x * self.w).sum(dim=1, keepdim=True)) + self.b


class TinyCNN(nn.Module):
    """Conv -> ReLU -> MaxPool -> Linear, with the scanner interface the filter read-out needs."""

    def __init__(self, length: int = 40, n_filters: int = 4, width: int = 5, pool: int = 4, seed: int = 0,
                 batch_norm: bool = True):
        super().__init__()
        torch.manual_seed(seed)
        self.conv = nn.Conv1d(4, n_filters, width)
        self.relu = nn.ReLU()
        # without BatchNorm, MaxPool sits next to ReLU: the pattern captum's DeepLift gets wrong
        self.bn = nn.BatchNorm1d(n_filters) if batch_norm else nn.Identity()
        self.pool = nn.MaxPool1d(pool)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(n_filters * ((length - width + 1) // pool), 1)
        self.scanner_width = width

    def scanner_activations(self, x):
        with torch.no_grad():
            return self.relu(self.conv(torch.as_tensor(x, dtype=torch.float32)))

    def forward(self, x):
        return self.fc(self.flatten(self.pool(self.bn(self.relu(self.conv(x))))))


class Plain(nn.Module):
    """A bare Linear head on flattened input: differentiable but no scanner."""

    def __init__(self, length: int = 40):
        super().__init__()
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(4 * length, 1)

    def forward(self, x):
        return self.fc(self.flatten(x))


def gata_motif_x(n: int = 32, length: int = 40, seed: int = 0) -> np.ndarray:
    x = random_one_hot(n, length, seed)
    for i in range(0, n, 2):
        s = 10 + i % 20
        for j, b in enumerate("GATAA"):
            x[i, :, s + j] = 0
            x[i, "ACGT".index(b), s + j] = 1
    return x



def paper_cnn(length: int = 500, seed: int = 0) -> nn.Module:
    """The paper's standard CNN (argminn-notes.md §7.1) as the package builds it, not a copy."""
    import models

    return models.build_model("cnn", {}, input_length=length, seed=seed)


def train(model: nn.Module, x: np.ndarray, y: np.ndarray, epochs: int = 5, batch_size: int = 64,
          lr: float = 1e-2, seed: int = 0) -> nn.Module:
    """A plain BCE-with-logits Adam loop; returns the model in eval mode."""
    torch.manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.BCEWithLogitsLoss()
    xt, yt = torch.from_numpy(np.asarray(x, np.float32)), torch.from_numpy(np.asarray(y, np.float32)).reshape(-1, 1)
    model.train()
    for _ in range(epochs):
        perm = torch.randperm(len(xt))
        for i in range(0, len(xt), batch_size):
            idx = perm[i:i + batch_size]
            opt.zero_grad()
            loss_fn(model(xt[idx]), yt[idx]).backward()
            opt.step()
    return model.eval()
