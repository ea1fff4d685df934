"""combine() against its formulas on hand-made maps."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from xai_tutor import combine


def mm(a):
    a = np.asarray(a, dtype=np.float64)
    span = a.max() - a.min()
    return (a - a.min()) / span if span > 0 else np.zeros_like(a)


A = np.array([[0.0, 2.0], [4.0, 2.0]])  # normalised: 0, .5, 1, .5
B = np.array([[1.0, 1.0], [3.0, 5.0]])  # normalised: 0, 0, .5, 1


def test_mean_product_geometric_max_by_hand():
    na, nb = mm(A), mm(B)
    assert np.allclose(combine([A, B], "mean"), mm((na + nb) / 2))
    assert np.allclose(combine([A, B], "mean", weights=[3, 1]), mm(0.75 * na + 0.25 * nb))
    assert np.allclose(combine([A, B], "product"), mm(na * nb))  # 0, 0, .5, .5 -> 0, 0, 1, 1
    assert combine([A, B], "product").tolist() == [[0.0, 0.0], [1.0, 1.0]]
    assert np.allclose(combine([A, B], "geometric", weights=[1, 3]),
                       mm(na ** 0.25 * nb ** 0.75))
    assert np.allclose(combine([A, B], "max"), mm(np.maximum(na, nb)))


def test_batches_are_normalised_per_image_and_types_follow_first():
    a = torch.tensor(np.stack([A, 10 * A]))
    b = torch.tensor(np.stack([B, B + 7]))
    out = combine([a, b], "mean")
    assert isinstance(out, torch.Tensor) and out.shape == (2, 2, 2)
    assert torch.allclose(out[0], out[1])  # scale and offset do not matter
    assert isinstance(combine([A, torch.tensor(B)]), np.ndarray)


def test_constant_and_disjoint_maps():
    z = np.zeros((2, 2))
    assert np.array_equal(combine([z, z], "mean"), z)
    assert np.array_equal(combine([np.eye(2), 1 - np.eye(2)], "product"), z)  # nothing agrees


def test_errors():
    with pytest.raises(ValueError, match="rule"):
        combine([A, B], "median")
    with pytest.raises(ValueError, match="at least two"):
        combine([A])
    with pytest.raises(ValueError, match="same shape"):
        combine([A, np.zeros((3, 3))])
    with pytest.raises(ValueError, match="weight"):
        combine([A, B], weights=[1.0])
    with pytest.raises(ValueError, match="weights"):
        combine([A, B], weights=[-1.0, 2.0])
    with pytest.raises(ValueError, match="NaN"):
        combine([A, np.full((2, 2), np.nan)])
    with pytest.raises(TypeError):
        combine([A, "b"])
