"""models._state.preserve_mode: the mode inside the block and the mode restored on exit."""

import pytest
from torch import nn

from models._state import preserve_mode


def _model(training: bool) -> nn.Module:
    model = nn.Sequential(nn.Conv1d(4, 2, 3), nn.BatchNorm1d(2), nn.Dropout(0.5))
    return model.train(training)


@pytest.mark.parametrize("was_training", [True, False])
@pytest.mark.parametrize("training", [False, True])
def test_mode_inside_and_restored_after_normal_exit(was_training, training):
    model = _model(was_training)
    with preserve_mode(model, training=training) as m:
        assert m is model
        assert all(sub.training is training for sub in model.modules())
    assert all(sub.training is was_training for sub in model.modules())


def test_eval_by_default():
    model = _model(True)
    with preserve_mode(model):
        assert not model.training and not model[1].training
    assert model.training and model[1].training


@pytest.mark.parametrize("was_training", [True, False])
def test_mode_restored_after_an_exception(was_training):
    model = _model(was_training)
    with pytest.raises(RuntimeError, match="inside"):
        with preserve_mode(model, training=not was_training):
            assert model.training is (not was_training)
            raise RuntimeError("inside")
    assert all(sub.training is was_training for sub in model.modules())
