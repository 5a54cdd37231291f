"""Fixtures and markers shared by every test folder.

``gpu``: a test that needs a CUDA device; skipped where there is none (CI runs on CPU), run wherever one
exists. ``device``: the torch device a device-agnostic test should use ("cuda" when there is one).
"""

import pytest
import torch


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if item.get_closest_marker("gpu") is not None:  # the marker, not a parameter id that reads "gpu"
            item.add_marker(skip)


@pytest.fixture(scope="session")
def device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"
