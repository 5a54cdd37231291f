"""Fixtures for the method tests: tiny models with known behaviour (see tiny_models)."""

import pytest

from .tiny_models import TinyCNN, gata_motif_x


@pytest.fixture(scope="session")
def tiny_cnn():
    model = TinyCNN()
    # non-trivial BatchNorm statistics, so eval vs train mode matters
    model.bn.running_mean.uniform_(0, 0.5)
    model.bn.running_var.uniform_(0.5, 1.5)
    return model.eval()


@pytest.fixture(scope="session")
def tiny_x():
    return gata_motif_x()
