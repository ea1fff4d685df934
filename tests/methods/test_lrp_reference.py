"""LRP against an independent float64 reference: every layer written as an explicit matrix.

The reference builds the dense matrix of each convolution / pooling from loops over its weights
(no torch convolution), folds BatchNorm by hand, and applies each rule's formula with NumPy.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import xai_tutor
from xai_tutor.methods.lrp.rules import IMAGENET_MEAN, IMAGENET_STD


def conv_matrix(conv: nn.Conv2d, h: int, w: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Dense matrix, bias vector and 0/1 connectivity of a (padded, strided) conv on h x w."""
    wt = conv.weight.detach().double().numpy()
    co, ci, kh, kw = wt.shape
    (sh, sw), (ph, pw) = conv.stride, conv.padding
    oh, ow = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    m = np.zeros((co, oh, ow, ci, h, w))
    c = np.zeros_like(m)
    for y in range(oh):
        for x in range(ow):
            for dy in range(kh):
                for dx in range(kw):
                    yy, xx = y * sh + dy - ph, x * sw + dx - pw
                    if 0 <= yy < h and 0 <= xx < w:
                        m[:, y, x, :, yy, xx] = wt[:, :, dy, dx]
                        c[:, y, x, :, yy, xx] = 1.0
    b = np.zeros(co) if conv.bias is None else conv.bias.detach().double().numpy()
    bias = np.repeat(b, oh * ow)
    return m.reshape(co * oh * ow, -1), bias, c.reshape(co * oh * ow, -1)


def avgpool_matrix(ch: int, h: int, w: int, k: int) -> np.ndarray:
    oh, ow = h // k, w // k
    m = np.zeros((ch, oh, ow, ch, h, w))
    for c in range(ch):
        for y in range(oh):
            for x in range(ow):
                m[c, y, x, c, y * k:(y + 1) * k, x * k:(x + 1) * k] = 1.0 / (k * k)
    return m.reshape(ch * oh * ow, -1)


def stab(z: np.ndarray, eps: float) -> np.ndarray:
    return z + eps * np.where(z >= 0, 1.0, -1.0)


def div(r: np.ndarray, z: np.ndarray, eps: float) -> np.ndarray:
    if eps > 0:
        return r / stab(z, eps)
    return np.where(z != 0, r / np.where(z != 0, z, 1.0), 0.0)


def ref_rule(rule, W, b, a, R, *, eps=0.0, gamma=0.25, st=1e-6, low=None, high=None, C=None):
    """R_in for one layer z = W a + b by the textbook formula of ``rule``."""
    pos, neg = np.clip(W, 0, None), np.clip(W, None, 0)
    if rule in ("zero", "epsilon"):
        s = div(R, W @ a + b, eps if rule == "epsilon" else 0.0)
        return a * (W.T @ s)
    ap, an = np.clip(a, 0, None), np.clip(a, None, 0)
    if rule == "gamma":
        z = W @ a + b
        wp, wn = W + gamma * pos, W + gamma * neg
        bp, bn = b + gamma * np.clip(b, 0, None), b + gamma * np.clip(b, None, 0)
        sp = div(R * (z > 0), wp @ ap + bp + wn @ an, st)
        sn = div(R * (z < 0), wn @ ap + bn + wp @ an, st)
        return ap * (wp.T @ sp + wn.T @ sn) + an * (wn.T @ sp + wp.T @ sn)
    if rule == "zplus":
        s = div(R, pos @ ap + np.clip(b, 0, None) + neg @ an, st)
        return ap * (pos.T @ s) + an * (neg.T @ s)
    if rule == "zb":
        s = div(R, W @ a - pos @ low - neg @ high, st)
        return a * (W.T @ s) - low * (pos.T @ s) - high * (neg.T @ s)
    if rule == "flat":
        s = div(R, C @ np.ones_like(a), st)
        return C.T @ s
    raise ValueError(rule)


class TinyNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(4, 5, 3, stride=1, padding=1)
        self.relu2 = nn.ReLU()
        self.pool = nn.AvgPool2d(2)
        self.fc = nn.Linear(5 * 3 * 3, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu2(self.conv2(self.relu(self.conv1(x))))
        return self.fc(torch.flatten(self.pool(x), 1))


def tiny(seed: int = 0) -> TinyNet:
    torch.manual_seed(seed)
    net = TinyNet().double().eval()
    with torch.no_grad():
        for m in (net.conv1, net.conv2, net.fc):
            m.bias.copy_(torch.randn_like(m.bias) * 0.1)
    return net


CASES = [
    ("zero", "zero", "zero"),
    ("epsilon", "epsilon", "epsilon"),
    ("gamma", "gamma", "epsilon"),
    ("zplus", "zplus", "epsilon"),
    ("zb", "gamma", "epsilon"),
    ("zb", "zplus", "zero"),
    ("flat", "zplus", "epsilon"),
]


@pytest.mark.parametrize("first,middle,dense", CASES)
def test_rules_match_matrix_reference(first: str, middle: str, dense: str) -> None:
    net = tiny()
    x = torch.randn(1, 3, 6, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    eps, gamma, st = 0.05, 0.3, 1e-6
    composite = "zero" if middle == "zero" else "epsilon"
    e = xai_tutor.explain(
        net, x, "lrp", target=1, composite=composite, epsilon=eps, gamma=gamma, stabilizer=st,
        rules={"conv1": first, "conv2": middle, "fc": dense},
    )

    m1, b1, c1 = conv_matrix(net.conv1, 6, 6)
    m2, b2, _ = conv_matrix(net.conv2, 6, 6)
    p = avgpool_matrix(5, 6, 6, 2)
    wf, bf = net.fc.weight.detach().numpy(), net.fc.bias.detach().numpy()
    a0 = x.numpy().reshape(-1)
    a1 = np.maximum(m1 @ a0 + b1, 0)
    a2 = np.maximum(m2 @ a1 + b2, 0)
    a3 = p @ a2
    logits = wf @ a3 + bf
    r = np.zeros(3)
    r[1] = logits[1]
    low = np.repeat([(0 - mu) / sd for mu, sd in zip(IMAGENET_MEAN, IMAGENET_STD)], 36)
    high = np.repeat([(1 - mu) / sd for mu, sd in zip(IMAGENET_MEAN, IMAGENET_STD)], 36)
    kw = dict(eps=eps, gamma=gamma, st=st)
    pool_eps = 0.0 if composite == "zero" else eps
    r = ref_rule(dense, wf, bf, a3, r, **kw)
    r = ref_rule("epsilon", p, np.zeros(p.shape[0]), a2, r, eps=pool_eps)
    r = ref_rule(middle, m2, b2, a1, r, **kw)
    r = ref_rule(first, m1, b1, a0, r, low=low, high=high, C=c1, **kw)

    got = e.attribution.numpy().reshape(-1)
    assert np.abs(r).max() > 1e-6  # not a trivial all-zero comparison
    np.testing.assert_allclose(got, r, rtol=0, atol=1e-9 * max(1.0, np.abs(r).max()))
    assert float(e.score[0]) == pytest.approx(logits[1], abs=1e-12)


def test_zb_user_bounds_and_max_pool_winner_takes_all() -> None:
    torch.manual_seed(3)
    conv = nn.Conv2d(3, 2, 3, padding=1).double()
    fc = nn.Linear(2 * 2 * 2, 2).double()
    net = nn.Sequential(conv, nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), fc).eval()
    x = torch.rand(1, 3, 4, 4, dtype=torch.float64) * 2 - 1
    e = xai_tutor.explain(
        net, x, "lrp", target=0, composite="epsilon_gamma_box", low=-1.0, high=1.0, epsilon=0.01
    )
    m, b, _ = conv_matrix(conv, 4, 4)
    a0 = x.numpy().reshape(-1)
    a1 = np.maximum(m @ a0 + b, 0)
    # max-pooling 2x2 as a selection matrix of the winners
    sel = np.zeros((8, 32))
    grid = a1.reshape(2, 4, 4)
    for c in range(2):
        for y in range(2):
            for xx in range(2):
                win = grid[c, 2 * y:2 * y + 2, 2 * xx:2 * xx + 2]
                dy, dx = np.unravel_index(np.argmax(win), (2, 2))
                sel[c * 4 + y * 2 + xx, c * 16 + (2 * y + dy) * 4 + 2 * xx + dx] = 1.0
    a2 = sel @ a1
    wf, bf = fc.weight.detach().numpy(), fc.bias.detach().numpy()
    out = wf @ a2 + bf
    r = np.array([out[0], 0.0])
    r = ref_rule("epsilon", wf, bf, a2, r, eps=0.01)
    r = sel.T @ r
    ones = -np.ones(48), np.ones(48)
    r = ref_rule("zb", m, b, a0, r, low=ones[0], high=ones[1], st=1e-6)
    np.testing.assert_allclose(e.attribution.numpy().reshape(-1), r, rtol=0, atol=1e-10)


class TinyBlock(nn.Module):
    """A BasicBlock-shaped block with `+=`, explained without editing it."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(4, 4, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(4)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(4, 4, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(4)
        self.downsample = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += identity
        return self.relu(out)


class TinyResNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3, padding=1)
        self.relu = nn.ReLU(inplace=True)
        self.block = TinyBlock()
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.block(self.relu(self.stem(x)))
        return self.fc(torch.flatten(self.gap(x), 1))


def folded(conv: nn.Conv2d, bn: nn.BatchNorm2d, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    m, _, _ = conv_matrix(conv, h, w)
    g, beta = bn.weight.detach().numpy(), bn.bias.detach().numpy()
    mu, var = bn.running_mean.numpy(), bn.running_var.numpy()
    scale = np.repeat(g / np.sqrt(var + bn.eps), h * w)
    return scale[:, None] * m, np.repeat(beta - mu * g / np.sqrt(var + bn.eps), h * w)


@pytest.mark.parametrize("composite", ["zero", "epsilon_plus", "epsilon_gamma_box"])
def test_residual_block_with_batchnorm_matches_reference(composite: str) -> None:
    torch.manual_seed(5)
    net = TinyResNet().double().eval()
    gen = torch.Generator().manual_seed(6)
    for bn in (net.block.bn1, net.block.bn2):
        bn.running_mean.copy_(torch.randn(4, generator=gen, dtype=torch.float64) * 0.1)
        bn.running_var.copy_(torch.rand(4, generator=gen, dtype=torch.float64) + 0.5)
        bn.weight.data.copy_(torch.rand(4, generator=gen, dtype=torch.float64) + 0.5)
        bn.bias.data.copy_(torch.randn(4, generator=gen, dtype=torch.float64) * 0.1)
    x = torch.randn(1, 3, 4, 4, dtype=torch.float64, generator=gen)
    e = xai_tutor.explain(net, x, "lrp", target=2, composite=composite, epsilon=0.01)
    assert e.params["composite"] == composite

    ms, bs, _ = conv_matrix(net.stem, 4, 4)
    m1, b1 = folded(net.block.conv1, net.block.bn1, 4, 4)
    m2, b2 = folded(net.block.conv2, net.block.bn2, 4, 4)
    gap = avgpool_matrix(4, 4, 4, 4)
    wf, bf = net.fc.weight.detach().numpy(), net.fc.bias.detach().numpy()
    a0 = x.numpy().reshape(-1)
    a1 = np.maximum(ms @ a0 + bs, 0)
    a2 = np.maximum(m1 @ a1 + b1, 0)
    z3 = m2 @ a2 + b2
    y = z3 + a1
    a4 = np.maximum(y, 0)
    a5 = gap @ a4
    out = wf @ a5 + bf
    np.testing.assert_allclose(net(x).detach().numpy()[0], out, atol=1e-12)
    zero = composite == "zero"
    st = 0.0 if zero else 1e-6
    conv_rule = {"zero": "zero", "epsilon_plus": "zplus", "epsilon_gamma_box": "gamma"}[composite]
    r = np.zeros(3)
    r[2] = out[2]
    r = ref_rule("zero" if zero else "epsilon", wf, bf, a5, r, eps=0.01)
    r = ref_rule("epsilon", gap, np.zeros(4), a4, r, eps=st)
    s = div(r, y, st)  # the residual sum: proportional split
    r_branch, r_skip = z3 * s, a1 * s
    r_branch = ref_rule(conv_rule, m2, b2, a2, r_branch, gamma=0.25)
    r_a1 = ref_rule(conv_rule, m1, b1, a1, r_branch, gamma=0.25) + r_skip
    low = np.repeat([(0 - mu) / sd for mu, sd in zip(IMAGENET_MEAN, IMAGENET_STD)], 16)
    high = np.repeat([(1 - mu) / sd for mu, sd in zip(IMAGENET_MEAN, IMAGENET_STD)], 16)
    r = ref_rule("zero" if zero else "zb", ms, bs, a0, r_a1, low=low, high=high)
    np.testing.assert_allclose(e.attribution.numpy().reshape(-1), r, rtol=0, atol=1e-9)
