"""simulations.validation.validate_one_hot_shape on tiny exact inputs (numpy and torch)."""

import numpy as np
import pytest
import torch

from simulations import check_one_hot, validate_one_hot_shape

# two sequences of length 3: ACG and T, N, A (the N an all-zero column)
GOOD = np.array([
    [[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 0]],
    [[0, 0, 1], [0, 0, 0], [0, 0, 0], [1, 0, 0]],
], dtype=np.uint8)


def test_good_input_passes_unchanged():
    out = validate_one_hot_shape(GOOD, "x", one_hot=True, allow_empty=False)
    assert out is GOOD
    np.testing.assert_array_equal(validate_one_hot_shape(GOOD.tolist()), GOOD)
    # maps need not be one-hot unless asked
    maps = np.array(GOOD, dtype=np.float64) * -0.5
    assert validate_one_hot_shape(maps, "attr") is maps


def test_dtype_conversion_after_the_checks():
    out = validate_one_hot_shape(GOOD, dtype=np.float32)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, GOOD)


def test_torch_input_stays_a_tensor():
    t = torch.as_tensor(GOOD)
    assert validate_one_hot_shape(t, one_hot=True) is t
    f = validate_one_hot_shape(t, dtype=torch.float32)
    assert isinstance(f, torch.Tensor) and f.dtype == torch.float32
    assert torch.equal(f, t.float())
    with pytest.raises(ValueError, match=r"x must have shape \(N, 4, L\), got shape \(2, 3, 4\)"):
        validate_one_hot_shape(t.transpose(1, 2))
    with pytest.raises(ValueError, match="t must be one-hot"):
        validate_one_hot_shape(t * 2, "t", one_hot=True)


@pytest.mark.parametrize("bad", [GOOD[0], GOOD[None], GOOD.transpose(0, 2, 1), GOOD[:, :3], np.zeros(3)])
def test_wrong_ndim_or_channels_raise_naming_the_argument(bad):
    with pytest.raises(ValueError, match=r"background must have shape \(N, 4, L\), got shape"):
        validate_one_hot_shape(bad, "background")
    with pytest.raises(ValueError, match=r"seqs must be one-hot with shape \(N, 4, L\)"):
        validate_one_hot_shape(bad, "seqs", one_hot=True)


@pytest.mark.parametrize("change", ["two", "double", "half"])
def test_non_one_hot_raises_when_asked(change):
    bad = GOOD.astype(np.float32)
    if change == "two":
        bad[0, :, 0] = [1, 1, 0, 0]  # two bases at one position
    elif change == "double":
        bad[1, 3, 0] = 2
    else:
        bad[0, 0, 1] = 0.5
    assert validate_one_hot_shape(bad, "x") is bad  # not asked: passes
    with pytest.raises(ValueError, match=r"seqs must be one-hot \(each position one 1"):
        validate_one_hot_shape(bad, "seqs", one_hot=True)


@pytest.mark.parametrize("shape", [(0, 4, 3), (2, 4, 0)])
def test_empty_raises_only_when_not_allowed(shape):
    empty = np.zeros(shape, np.uint8)
    assert validate_one_hot_shape(empty, one_hot=True) is empty
    with pytest.raises(ValueError, match=r"x must hold at least one sequence of length >= 1, got shape"):
        validate_one_hot_shape(empty, "x", allow_empty=False)


def test_check_one_hot_goes_through_it():
    assert check_one_hot(torch.as_tensor(GOOD)).shape == (2, 4, 3)
    assert isinstance(check_one_hot(torch.as_tensor(GOOD)), np.ndarray)
    with pytest.raises(ValueError, match=r"x must be one-hot with shape \(N, 4, L\)"):
        check_one_hot(GOOD[:, :3])
    with pytest.raises(ValueError, match="y must be one-hot"):
        check_one_hot(GOOD * 2, "y")
