"""Baselines (notes §7): the paper's standard CNN (and its exponential-activation variant) and ExplaiNN.

Every nonlinearity is its own module instance used once per forward, so DeepLIFT rules attach
to each application. Models return logits (N, 1).
"""

from __future__ import annotations

import torch
from torch import nn

from simulations.validation import validate_one_hot_shape

CNN_DEFAULTS = {
    "conv_widths": [10, 5, 5],
    "conv_filters": [8, 8, 8],
    "pool_size": 40,
    "pool_stride": 40,
    "fc_sizes": [10, 5],
    "batch_norm": True,
}

EXPLAINN_DEFAULTS = {
    "num_units": 8,
    "filter_width": 19,
    "pool_size": 7,
    "pool_stride": 7,
    "fc_size": 100,
    "dropout": 0.3,
}


class Exp(nn.Module):
    """Elementwise exponential as a module (no torch.nn equivalent); register it for DeepLIFT
    through :data:`models.NONLINEAR_OPS`."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.exp(x)


class StandardCNN(nn.Module):
    """The paper's standard CNN (``ConvNet``), notes §7.1.

    Conv → act → BN per conv layer (no padding), MaxPool, flatten (channel-major), then
    Linear → ReLU → BN per FC layer and a final Linear. ``first_activation="exp"`` gives the
    Koo & Ploenzke (2021) exponential first layer.

    Input (N, 4, L); output logits (N, 1).
    """

    def __init__(self, input_length: int, conv_widths=(10, 5, 5), conv_filters=(8, 8, 8), pool_size=40,
                 pool_stride=40, fc_sizes=(10, 5), batch_norm=True, first_activation="relu"):
        super().__init__()
        if len(conv_widths) != len(conv_filters) or not conv_widths:
            raise ValueError(f"conv_widths and conv_filters must be non-empty and of equal length, "
                             f"got {list(conv_widths)} and {list(conv_filters)}")
        if first_activation not in ("relu", "exp"):
            raise ValueError(f"first_activation must be 'relu' or 'exp', got {first_activation!r}")
        layers, in_ch, length = [], 4, input_length
        for i, (w, f) in enumerate(zip(conv_widths, conv_filters)):
            act = Exp() if (i == 0 and first_activation == "exp") else nn.ReLU()
            layers.append(nn.Sequential(nn.Conv1d(in_ch, f, w), act,
                                        nn.BatchNorm1d(f) if batch_norm else nn.Identity()))
            in_ch, length = f, length - w + 1
        pooled = (length - pool_size) // pool_stride + 1 if length >= pool_size else 0
        if pooled < 1:
            raise ValueError(f"input_length {input_length} is too short: {length} positions after the convs "
                             f"cannot be max-pooled with size {pool_size}")
        self.conv_layers = nn.Sequential(*layers)
        self.pool = nn.MaxPool1d(pool_size, pool_stride)
        self.flatten = nn.Flatten()
        fcs, size = [], in_ch * pooled
        for h in fc_sizes:
            fcs.append(nn.Sequential(nn.Linear(size, h), nn.ReLU(),
                                     nn.BatchNorm1d(h) if batch_norm else nn.Identity()))
            size = h
        self.fc_layers = nn.Sequential(*fcs)
        self.last_fc_layer = nn.Linear(size, 1)
        self.scanner_width = conv_widths[0]

    @property
    def scanner_weight(self) -> torch.Tensor:
        """First-layer conv weights (F, 4, W)."""
        return self.conv_layers[0][0].weight

    def scanner_activations(self, x: torch.Tensor) -> torch.Tensor:
        """First-layer post-activation, pre-BN activations, shape (N, F, L')."""
        first = self.conv_layers[0]
        return first[1](first[0](x))

    def forward_with_interims(self, x: torch.Tensor):
        """Returns logits (N, 1) and the first-layer activations (N, F, L')."""
        first = self.conv_layers[0]
        acts = first[1](first[0](x))
        h = self.conv_layers[1:](first[2](acts))
        return self.last_fc_layer(self.fc_layers(self.flatten(self.pool(h)))), acts

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        validate_one_hot_shape(x, "x")
        return self.forward_with_interims(x)[0]


class ExplaiNN(nn.Module):
    """ExplaiNN (Novakovsky et al. 2023) as re-implemented in the reference, notes §7.2.

    U independent units: grouped conv (4→1 each, width w) → BN → exp → MaxPool → per-unit
    Linear(P→H) (as a grouped 1×1 conv) → BN → ReLU → Dropout → per-unit Linear(H→1) → BN → ReLU,
    then Linear(U→1). Input (N, 4, L); output logits (N, 1).
    """

    def __init__(self, input_length: int, num_units=8, filter_width=19, pool_size=7, pool_stride=7,
                 fc_size=100, dropout=0.3):
        super().__init__()
        lp = input_length - filter_width + 1
        pooled = (lp - pool_size) // pool_stride + 1 if lp >= pool_size else 0
        if pooled < 1:
            raise ValueError(f"input_length {input_length} is too short for filter_width {filter_width} "
                             f"and pool_size {pool_size}")
        self.num_units = num_units
        self.conv_layer = nn.Conv1d(4 * num_units, num_units, filter_width, groups=num_units)
        self.bn1 = nn.BatchNorm1d(num_units)
        self.exp = Exp()
        self.pool = nn.MaxPool1d(pool_size, pool_stride)
        self.flatten1 = nn.Flatten()                       # unit-major: (N, U*P)
        self.unflatten = nn.Unflatten(1, (num_units * pooled, 1))
        self.unit_fc1 = nn.Conv1d(num_units * pooled, num_units * fc_size, 1, groups=num_units)
        self.bn2 = nn.BatchNorm1d(num_units * fc_size)
        self.relu1 = nn.ReLU()
        self.dropout = nn.Dropout(dropout)
        self.unit_fc2 = nn.Conv1d(num_units * fc_size, num_units, 1, groups=num_units)
        self.bn3 = nn.BatchNorm1d(num_units)
        self.relu2 = nn.ReLU()
        self.flatten2 = nn.Flatten()
        self.last_fc_linear = nn.Linear(num_units, 1)
        self.scanner_width = filter_width

    @property
    def scanner_weight(self) -> torch.Tensor:
        """Unit filters (U, 4, w)."""
        return self.conv_layer.weight

    def scanner_activations(self, x: torch.Tensor) -> torch.Tensor:
        """Raw unit conv outputs (N, U, L'), pre-BN and possibly negative, as in the reference."""
        return self.conv_layer(x.repeat(1, self.num_units, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        validate_one_hot_shape(x, "x")
        h = self.pool(self.exp(self.bn1(self.scanner_activations(x))))
        h = self.unflatten(self.flatten1(h))
        h = self.dropout(self.relu1(self.bn2(self.unit_fc1(h))))
        h = self.flatten2(self.relu2(self.bn3(self.unit_fc2(h))))
        return self.last_fc_linear(h)


def explainn_reference_to_ours(ref_state: dict) -> dict:
    """Map a reference ExplaiNN state dict (no prefix) onto :class:`ExplaiNN`."""
    rename = {"post_conv_layer.0.": "bn1.", "post_conv_layer.5.": "unit_fc1.", "post_conv_layer.6.": "bn2.",
              "post_conv_layer.9.": "unit_fc2.", "post_conv_layer.10.": "bn3."}
    out = {}
    for name, value in ref_state.items():
        for old, new in rename.items():
            if name.startswith(old):
                name = new + name[len(old):]
        out[name] = value
    return out
