"""Models: ARGMINN, the paper's standard CNN baselines and ExplaiNN; training, I/O and read-outs."""

from .argminn import ARGMINN, StreamAttentionLayer, fused_attention, positional_encoding
from .baselines import Exp, ExplaiNN, StandardCNN
from .registry import REGULARIZED_BY_DEFAULT, build_model, check_model_params, list_models, probabilities
from .losses import (
    attention_entropy_loss,
    l1_loss,
    overlap_loss,
    overlap_loss_bruteforce,
    prediction_loss,
)
from .schedules import expand_schedule, weight_at
from .train import TrainConfig, TrainResult, fit, predict, evaluate
from .io import load_model, save_model
from . import readout

#: extra modules for tangermeme ``deep_lift_shap(additional_nonlinear_ops=NONLINEAR_OPS)``
from tangermeme.deep_lift_shap import _nonlinear as _dls_nonlinear

NONLINEAR_OPS = {Exp: _dls_nonlinear}
