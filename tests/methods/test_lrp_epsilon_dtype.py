"""LRP-epsilon keeps epsilon exact in float64 (found while writing notebook 04).

``torch.where(z >= 0, eps, -eps)`` with two Python floats builds a float32 tensor, so a float64
explanation used 0.1 rounded to float32 (0.10000000149...). The notebook compares a hand-made
float64 epsilon rule with the library at 1e-10, which that rounding broke.
"""

from __future__ import annotations

import torch
from torch import nn

import xai_tutor
from xai_tutor.methods.lrp.rules import stabilise


def test_stabilise_is_exact_in_float64_and_keeps_dtype() -> None:
    z = torch.tensor([0.0, -1.5, 2.0, -1e-3], dtype=torch.float64)
    got = stabilise(z, 0.1)
    assert got.dtype == torch.float64
    assert got.tolist() == [0.0 + 0.1, -1.5 - 0.1, 2.0 + 0.1, -1e-3 - 0.1]
    assert stabilise(z.float(), 0.1).dtype == torch.float32


def test_epsilon_rule_matches_float64_formula_to_1e12() -> None:
    torch.manual_seed(2)
    net = nn.Sequential(nn.Flatten(), nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3)).double().eval()
    x = torch.rand(1, 1, 2, 3, dtype=torch.float64) * 2 - 1
    c = 1
    eps = 0.1
    a0 = x.flatten()
    W1, b1 = net[1].weight.detach(), net[1].bias.detach()
    W2, b2 = net[3].weight.detach(), net[3].bias.detach()
    a1 = torch.relu(W1 @ a0 + b1)
    z2 = W2 @ a1 + b2
    R = torch.zeros(3, dtype=torch.float64)
    R[c] = z2[c]
    R = a1 * (W2.T @ (R / torch.where(z2 >= 0, z2 + eps, z2 - eps)))
    z1 = W1 @ a0 + b1
    R = a0 * (W1.T @ (R / torch.where(z1 >= 0, z1 + eps, z1 - eps)))
    e = xai_tutor.explain(net, x, "lrp", target=c, composite="epsilon", epsilon=eps)
    torch.testing.assert_close(e.attribution.flatten(), R, rtol=0, atol=1e-12)
