"""Our ARGMINN, CNN and ExplaiNN reproduce the reference implementation's outputs on fixed weights.

The vectors come from Genentech/ARGMINN @ c9a6b4f (see shared/reference/vectors/README.md).
"""

from pathlib import Path

import numpy as np
import pytest
import torch

import models
from models.argminn import reference_to_ours
from models.baselines import explainn_reference_to_ours

# ../shared sits beside the repository, in development and in CI
VECTORS = Path(__file__).resolve().parents[3] / "shared" / "reference" / "vectors" / "argminn_reference_vectors.npz"
pytestmark = pytest.mark.skipif(not VECTORS.exists(), reason="reference vectors not available")
ATOL = 1e-5


@pytest.fixture(scope="module")
def ref():
    return dict(np.load(VECTORS))


def _weights(ref, prefix):
    return {k[len(prefix) + 1:]: torch.from_numpy(np.asarray(v)) for k, v in ref.items()
            if k.startswith(prefix + ".") and ".out." not in k}


def _x(ref):
    return torch.from_numpy(ref["x_BxLx4"]).float().transpose(1, 2).contiguous()  # (B, 4, L)


def _logit(p):
    p = np.asarray(p, dtype=np.float64)
    return np.log(p / (1 - p))


def _load(name, ref, prefix, mapping=lambda d: d):
    x = _x(ref)
    model = models.build_model(name, {}, x.shape[2])
    model.load_state_dict(mapping(_weights(ref, prefix)), strict=True)
    model.eval()
    return model, x


def test_argminn_matches_reference(ref):
    model, x = _load("argminn", ref, "argminn", reference_to_ours)
    with torch.no_grad():
        logits, acts, att = model.forward_with_interims(x)
    np.testing.assert_allclose(logits.numpy().astype(np.float64), _logit(ref["argminn.out.probs"]), atol=ATOL,
                               rtol=1e-4)
    np.testing.assert_allclose(acts.transpose(1, 2).numpy(), ref["argminn.out.conv_acts_BxLpxF"], atol=ATOL)
    np.testing.assert_allclose(att.numpy(), ref["argminn.out.att_vals_BxALxNHxLp"], atol=ATOL)


def test_argminn_loss_components_match_reference(ref):
    model, x = _load("argminn", ref, "argminn", reference_to_ours)
    y = torch.from_numpy(ref["y"]).float()
    with torch.no_grad():
        logits, acts, att = model.forward_with_interims(x)
        w = model.scanner_weight
        np.testing.assert_allclose(models.overlap_loss(acts, w).numpy(), ref["argminn.out.loss_overlap"][:, 0],
                                   rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(models.l1_loss(w, len(x)).numpy(), ref["argminn.out.loss_l1"][:, 0], rtol=1e-6)
        np.testing.assert_allclose(models.attention_entropy_loss(att).numpy(),
                                   ref["argminn.out.loss_att_entropy"][:, 0], atol=1e-4)
        np.testing.assert_allclose(models.prediction_loss(logits, y).numpy(), ref["argminn.out.loss_pred"][:, 0],
                                   atol=1e-5, rtol=1e-5)


def test_cnn_matches_reference(ref):
    model, x = _load("cnn", ref, "cnn")
    with torch.no_grad():
        logits, acts = model.forward_with_interims(x)
    np.testing.assert_allclose(logits.numpy()[:, 0], _logit(ref["cnn.out.probs"])[:, 0], atol=ATOL, rtol=1e-4)
    np.testing.assert_allclose(acts.transpose(1, 2).numpy(), ref["cnn.out.conv_acts_BxLpxF"], atol=ATOL)
    np.testing.assert_allclose(model.scanner_activations(x).detach().numpy(), acts.numpy())


def test_explainn_matches_reference(ref):
    model, x = _load("explainn", ref, "explainn", explainn_reference_to_ours)
    with torch.no_grad():
        logits = model(x)
    np.testing.assert_allclose(logits.numpy()[:, 0], _logit(ref["explainn.out.probs"])[:, 0], atol=ATOL, rtol=1e-4)
