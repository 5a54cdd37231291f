"""Input validators shared by every package: ``(N, 4, L)`` arrays and ``(4, W)`` PFMs.

:func:`validate_one_hot_shape` (after tangermeme's ``_validate_input``) checks sequences, one-hot
or not, and attribution maps; it takes numpy arrays (or anything ``numpy.asarray`` accepts) and
torch tensors alike without importing torch itself: a tensor stays a tensor, on its device.
:func:`validate_pfm` checks a motif's matrix. They live in :mod:`simulations`, the package every
other one may import (``bench`` and ``models`` call them too).
"""

from __future__ import annotations

import numpy as np

__all__ = ["validate_one_hot_shape", "validate_pfm"]


def _is_tensor(x) -> bool:
    return type(x).__module__.split(".", 1)[0] == "torch"


def validate_one_hot_shape(x, name: str = "x", *, allow_empty: bool = True, one_hot: bool = False,
                           dtype=None):
    """Check that ``x`` has shape ``(N, 4, L)``; return it, as a numpy array or a torch tensor.

    Parameters
    ----------
    x : array-like or torch.Tensor
        A tensor is checked and returned as a tensor; anything else goes through ``numpy.asarray``.
    name : str
        The argument's name, for the error messages.
    allow_empty : bool
        With False, ``x`` must hold at least one sequence (``N >= 1``) of length ``L >= 1``.
    one_hot : bool
        With True, every value must be 0 or 1 and every column a single 1 or all zero (an N base).
    dtype : numpy or torch dtype, optional
        Convert to this dtype once the checks have passed (``numpy.asarray(x, dtype)``, or
        ``tensor.to(dtype)``); without it the dtype is kept.

    Raises
    ------
    ValueError
        Naming ``name`` and what was expected: the shape, one-hot values, a non-empty batch.
    """
    if not _is_tensor(x):
        x = np.asarray(x)
    shape = tuple(x.shape)
    if x.ndim != 3 or shape[1] != 4:
        what = "be one-hot with shape" if one_hot else "have shape"
        raise ValueError(f"{name} must {what} (N, 4, L), got shape {shape}")
    if not allow_empty and (shape[0] == 0 or shape[2] == 0):
        raise ValueError(f"{name} must hold at least one sequence of length >= 1, got shape {shape}")
    if one_hot:
        col = x.sum(1)
        if not (bool(((x == 0) | (x == 1)).all()) and bool(((col == 0) | (col == 1)).all())):
            raise ValueError(f"{name} must be one-hot (each position one 1 in A, C, G, T, or all zero)")
    if dtype is not None:
        x = x.to(dtype) if _is_tensor(x) else np.asarray(x, dtype=dtype)
    return x


def validate_pfm(pfm, name: str = "pfm") -> np.ndarray:
    """A ``(4, W)`` float64 array from a PFM or a :class:`simulations.Motif` (its ``pfm``), finite
    and non-negative (``W`` may be 0); raises ValueError naming ``name`` otherwise."""
    pfm = getattr(pfm, "pfm", pfm)
    arr = np.asarray(pfm, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] != 4:
        raise ValueError(f"{name} must be a PFM of shape (4, W), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"{name} must be finite and non-negative")
    return arr
