"""Small models with known behaviour for the method tests and benchmarks (models/ may not be ready)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


def random_one_hot(n: int, length: int, seed: int = 0) -> np.ndarray:
    """(n, 4, length) float32 one-hot, uniform bases."""
    codes = np.random.default_rng(seed).integers(0, 4, size=(n, length))
    return (codes[:, None, :] == np.arange(4)[None, :, None]).astype(np.float32)


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



class PaperCNN(nn.Module):
    """The paper's standard CNN (argminn-notes.md §7.1), returning the logit: three conv blocks
    Conv -> ReLU -> BN, MaxPool(40), then Linear -> ReLU -> BN twice and Linear(5 -> 1)."""

    def __init__(self, length: int = 500, seed: int = 0):
        super().__init__()
        torch.manual_seed(seed)
        self.conv1, self.relu1, self.bn1 = nn.Conv1d(4, 8, 10), nn.ReLU(), nn.BatchNorm1d(8)
        self.conv2, self.relu2, self.bn2 = nn.Conv1d(8, 8, 5), nn.ReLU(), nn.BatchNorm1d(8)
        self.conv3, self.relu3, self.bn3 = nn.Conv1d(8, 8, 5), nn.ReLU(), nn.BatchNorm1d(8)
        self.pool = nn.MaxPool1d(40)
        self.flatten = nn.Flatten()
        n = 8 * ((length - 17) // 40)
        self.fc1, self.relu4, self.bn4 = nn.Linear(n, 10), nn.ReLU(), nn.BatchNorm1d(10)
        self.fc2, self.relu5, self.bn5 = nn.Linear(10, 5), nn.ReLU(), nn.BatchNorm1d(5)
        self.fc3 = nn.Linear(5, 1)
        self.scanner_width = 10

    def scanner_activations(self, x):
        with torch.no_grad():
            return self.relu1(self.conv1(torch.as_tensor(x, dtype=torch.float32)))

    def forward(self, x):
        h = self.bn1(self.relu1(self.conv1(x)))
        h = self.bn2(self.relu2(self.conv2(h)))
        h = self.pool(self.bn3(self.relu3(self.conv3(h))))
        h = self.bn4(self.relu4(self.fc1(self.flatten(h))))
        return self.fc3(self.bn5(self.relu5(self.fc2(h))))


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
