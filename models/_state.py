"""Restoring a model's train/eval mode, after tangermeme's ``_preserve_model_state``."""

from __future__ import annotations

import contextlib

from torch import nn


@contextlib.contextmanager
def preserve_mode(model: nn.Module, training: bool = False):
    """Put ``model`` in eval mode (train mode with ``training=True``) inside the block; on exit,
    exceptions included, ``model.train(was_training)`` with the mode the model had on entry.

    As ``model.train``, this sets the mode of every submodule: a submodule left in another mode
    than the model's on entry comes back in the model's mode.
    """
    was_training = model.training
    model.train(training)
    try:
        yield model
    finally:
        model.train(was_training)
