"""Exercise checks of notebook 04 (LRP): epsilon rule, BatchNorm folding, residual split.

The expected values agree with loop-by-loop float64 formulas written here, with the library's
LRP rules and with PyTorch's own modules; right answers computed differently pass; each typical
slip is diagnosed with its own message; every registered solution passes its own check.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
from torch import nn

from xai_tutor.exercises import lrp as ex
from xai_tutor.methods.lrp.canonizers import fold_batchnorm
from xai_tutor.methods.lrp.engine import Recorder, RelevanceSum
from xai_tutor.methods.lrp.rules import Epsilon, LinearMap

from solutions import checks, run_solution


@pytest.fixture(scope="module")
def layer() -> dict:
    """One dense layer in float64 with some negative pre-activations and a one-hot relevance."""
    gen = torch.Generator().manual_seed(3)
    a = torch.rand(5, generator=gen, dtype=torch.float64)
    W = torch.randn(4, 5, generator=gen, dtype=torch.float64)
    b = torch.randn(4, generator=gen, dtype=torch.float64) * 0.3
    R = torch.tensor([0.0, 0.7, -0.2, 1.1], dtype=torch.float64)
    z = W @ a + b
    assert (z < 0).any() and (z > 0).any()
    return dict(a=a, W=W, b=b, R=R, eps=0.25)


@pytest.fixture(scope="module")
def conv_bn() -> tuple[nn.Conv2d, nn.BatchNorm2d]:
    torch.manual_seed(0)
    conv = nn.Conv2d(3, 5, 3, padding=1, bias=True)
    bn = nn.BatchNorm2d(5)
    with torch.no_grad():
        bn.running_mean.uniform_(-0.5, 0.5)
        bn.running_var.uniform_(0.3, 2.0)
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.uniform_(-0.5, 0.5)
    return conv, bn.eval()


@pytest.fixture(scope="module")
def residual() -> dict:
    gen = torch.Generator().manual_seed(8)
    branch = torch.randn(1, 3, 4, 4, generator=gen)
    shortcut = torch.rand(1, 3, 4, 4, generator=gen)
    shortcut[0, 0, 0, 0], branch[0, 0, 0, 0] = 0.5, -0.5        # y = 0 at one position
    R = torch.relu(branch + shortcut)
    return dict(branch=branch, shortcut=shortcut, R=R)


# ------------------------------------------------------------------------------ epsilon rule


def _loops_epsilon(a, W, b, R, eps) -> np.ndarray:
    a, W, b, R = (t.numpy() for t in (a, W, b, R))
    K, J = W.shape
    out = np.zeros(J)
    for k in range(K):
        z = sum(a[j] * W[k, j] for j in range(J)) + b[k]
        den = z + (eps if z >= 0 else -eps)
        for j in range(J):
            out[j] += a[j] * W[k, j] / den * R[k]
    return out


def test_epsilon_expected_matches_loops_and_library(layer) -> None:
    got = ex._expected_epsilon_rule(**layer)
    np.testing.assert_allclose(got.numpy(), _loops_epsilon(**layer), rtol=1e-12, atol=1e-14)
    lin = nn.Linear(5, 4).double()
    m = LinearMap.from_module(lin, layer["W"], layer["b"])
    z = m.forward(layer["a"][None])
    lib = Epsilon(layer["eps"]).relevance(m, layer["a"][None], z, layer["R"][None])[0]
    torch.testing.assert_close(got, lib, rtol=1e-12, atol=1e-14)


def test_epsilon_check_accepts_float32_and_numpy(layer) -> None:
    right = ex._expected_epsilon_rule(**layer)
    assert ex.check_epsilon_rule(right, **layer)
    assert ex.check_epsilon_rule(right.float(), **layer)
    assert ex.check_epsilon_rule(right.numpy().tolist(), **layer)


@pytest.mark.parametrize("slip, words", [
    ("lrp0", "LRP-0"),
    ("nosign", "sign"),
    ("nobias", "bias"),
    ("noa", "a_j"),
    ("total", "one total"),
    ("times", "multiplied"),
])
def test_epsilon_check_names_the_slip(layer, slip, words) -> None:
    a, W, b, R, eps = (layer[k] for k in ("a", "W", "b", "R", "eps"))
    z = W @ a + b
    wrong = {
        "lrp0": a * (W.T @ (R / z)),
        "nosign": a * (W.T @ (R / (z + eps))),
        "nobias": a * (W.T @ (R / torch.where(W @ a >= 0, W @ a + eps, W @ a - eps))),
        "noa": W.T @ (R / torch.where(z >= 0, z + eps, z - eps)),
        "total": a * (W.T @ R) / torch.where(z >= 0, z + eps, z - eps).sum(),
        "times": a * (W.T @ (R * torch.where(z >= 0, z + eps, z - eps))),
    }[slip]
    fb = ex.check_epsilon_rule(wrong, **layer)
    assert not fb.ok
    assert words in fb.message, fb.message


def test_epsilon_check_missing_shape_and_nan(layer) -> None:
    assert "placeholder" in ex.check_epsilon_rule(None, **layer).message
    right = ex._expected_epsilon_rule(**layer)
    fb = ex.check_epsilon_rule(right[None], **layer)
    assert not fb.ok and "shape" in fb.message
    bad = right.clone()
    bad[0] = float("nan")
    assert "NaN" in ex.check_epsilon_rule(bad, **layer).message
    fb = ex.check_epsilon_rule(right + 0.01, **layer)
    assert not fb.ok


# ------------------------------------------------------------------------------ BatchNorm folding


def test_fold_expected_equals_conv_then_bn(conv_bn) -> None:
    conv, bn = conv_bn
    w, b = ex._expected_fold_batchnorm(conv, bn)
    x = torch.randn(2, 3, 7, 6, dtype=torch.float64)
    with torch.no_grad():
        ref = copy.deepcopy(bn).double()(copy.deepcopy(conv).double()(x))
    folded = torch.nn.functional.conv2d(x, w, b, padding=1)
    torch.testing.assert_close(folded, ref, rtol=1e-10, atol=1e-10)
    w_lib, b_lib = fold_batchnorm(conv, bn)
    torch.testing.assert_close(w.float(), w_lib)
    torch.testing.assert_close(b.float(), b_lib)


def test_fold_without_conv_bias() -> None:
    conv, bn = nn.Conv2d(2, 3, 1, bias=False), nn.BatchNorm2d(3).eval()
    with torch.no_grad():
        bn.running_mean.fill_(0.4)
    w, b = ex._expected_fold_batchnorm(conv, bn)
    torch.testing.assert_close(b, torch.full((3,), -0.4 / math.sqrt(1.0 + bn.eps),
                                             dtype=torch.float64))
    assert ex.check_fold_batchnorm(w.float(), b.float(), conv, bn)


@pytest.mark.parametrize("slip, words", [
    ("variance", "variance"),
    ("times_std", "multiplied by the standard deviation"),
    ("no_gamma", "gamma"),
    ("unchanged", "unchanged"),
    ("no_beta", "beta"),
    ("no_mean", "mean"),
    ("unscaled_bias", "scaled too"),
    ("minus_beta", "not subtracted"),
])
def test_fold_check_names_the_slip(conv_bn, slip, words) -> None:
    conv, bn = conv_bn
    W, b = conv.weight.detach().double(), conv.bias.detach().double()
    g, beta = bn.weight.detach().double(), bn.bias.detach().double()
    mu, var = bn.running_mean.double(), bn.running_var.double()
    std = torch.sqrt(var + bn.eps)
    scale = g / std
    w_ok, b_ok = ex._expected_fold_batchnorm(conv, bn)
    weight, bias = {
        "variance": (W * (g / (var + bn.eps)).view(-1, 1, 1, 1), b_ok),
        "times_std": (W * (g * std).view(-1, 1, 1, 1), b_ok),
        "no_gamma": (W / std.view(-1, 1, 1, 1), b_ok),
        "unchanged": (W, b_ok),
        "no_beta": (w_ok, (b - mu) * scale),
        "no_mean": (w_ok, b * scale + beta),
        "unscaled_bias": (w_ok, b - mu + beta),
        "minus_beta": (w_ok, (b - mu) * scale - beta),
    }[slip]
    fb = ex.check_fold_batchnorm(weight, bias, conv, bn)
    assert not fb.ok
    assert words in fb.message, fb.message


def test_fold_check_wrong_axis_and_placeholders(conv_bn) -> None:
    conv, bn = conv_bn
    w_ok, b_ok = ex._expected_fold_batchnorm(conv, bn)
    assert "placeholder" in ex.check_fold_batchnorm(None, b_ok, conv, bn).message
    assert "placeholder" in ex.check_fold_batchnorm(w_ok, None, conv, bn).message
    fb = ex.check_fold_batchnorm(w_ok[:, :, 0], b_ok, conv, bn)
    assert not fb.ok and "shape" in fb.message
    assert ex.check_fold_batchnorm(w_ok, b_ok, conv, bn).ok


# ------------------------------------------------------------------------------ residual split


def test_split_expected_matches_library_sum_and_conserves(residual) -> None:
    rb, rs = ex._expected_residual_split(**residual)
    x1 = residual["branch"].clone().requires_grad_(True)
    x2 = residual["shortcut"].clone().requires_grad_(True)
    y = RelevanceSum("t", Recorder(), stabilizer=0.0)(x1, x2)
    lb, ls = torch.autograd.grad(y, (x1, x2), residual["R"])
    torch.testing.assert_close(rb.float(), lb)
    torch.testing.assert_close(rs.float(), ls)
    y = residual["branch"] + residual["shortcut"]
    nonzero = y != 0
    torch.testing.assert_close((rb + rs)[nonzero], residual["R"].double()[nonzero])
    assert float(rb[0, 0, 0, 0]) == 0.0 and float(rs[0, 0, 0, 0]) == 0.0


def test_split_check_slips(residual) -> None:
    rb, rs = ex._expected_residual_split(**residual)
    br, sc, R = residual["branch"], residual["shortcut"], residual["R"]
    assert ex.check_residual_split(rb, rs, **residual).ok
    fb = ex.check_residual_split(rs, rb, **residual)
    assert not fb.ok and "swapped" in fb.message
    fb = ex.check_residual_split(R / 2, R / 2, **residual)
    assert not fb.ok and "equal split" in fb.message
    fb = ex.check_residual_split(br * R, sc * R, **residual)
    assert not fb.ok and "divide" in fb.message
    den = br.abs() + sc.abs()
    fb = ex.check_residual_split(br / den * R, sc / den * R, **residual)
    assert not fb.ok and "|branch|" in fb.message
    fb = ex.check_residual_split(rb, None, **residual)
    assert not fb.ok and "placeholder" in fb.message
    bad = rb.clone()
    bad[0, 0, 0, 0] = float("nan")
    assert "NaN" in ex.check_residual_split(bad, rs, **residual).message


# ------------------------------------------------------------------------------ solutions


def test_solutions_are_registered_and_pass(layer, conv_bn, residual) -> None:
    for key in ("lrp.epsilon_rule", "lrp.fold_batchnorm", "lrp.residual_split"):
        assert key in checks()
    conv, bn = conv_bn
    ns = dict(torch=torch, **layer)
    assert run_solution("lrp.epsilon_rule", ns).ok
    ns = dict(torch=torch, conv=conv, bn=bn)
    assert run_solution("lrp.fold_batchnorm", ns).ok
    ns = dict(torch=torch, branch=residual["branch"], shortcut=residual["shortcut"],
              R_block=residual["R"])
    assert run_solution("lrp.residual_split", ns).ok
    # the solution works for a conv without bias too
    conv2, bn2 = nn.Conv2d(3, 4, 3, bias=False), nn.BatchNorm2d(4).eval()
    assert run_solution("lrp.fold_batchnorm", dict(torch=torch, conv=conv2,
                                                               bn=bn2)).ok

