import numpy as np
import pytest
import torch

import simulations

SINGLE_MOTIF_SPEC = {
    "name": "single", "length": 100, "motifs": {"A": {"jaspar": "MA0080.7"}},
    "classes": [
        {"name": "positive", "label": 1, "fraction": 0.5, "configs": [{"name": "a", "motifs": [{"motif": "A"}]}]},
        {"name": "negative", "label": 0, "fraction": 0.5, "configs": [{"name": "bg"}]},
    ],
}


@pytest.fixture(scope="session")
def tiny_dataset():
    return simulations.simulate(SINGLE_MOTIF_SPEC, n=400, seed=0)


def random_one_hot(n, length, seed=0):
    """:func:`tests.methods.tiny_models.random_one_hot` as a torch tensor."""
    from tests.methods.tiny_models import random_one_hot as one_hot

    return torch.from_numpy(one_hot(n, length, seed))
