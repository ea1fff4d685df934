"""Tensor memory of one call: hand-counted bytes on tiny networks, deterministic on real ones."""

from __future__ import annotations

import torch
from torch import nn

import xai_tutor
from xai_tutor import evaluation as ev

F32 = 4  # bytes per float32


def tiny_net() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))


def test_allocations_by_hand():
    def f(x):
        a = x * 2           # 1000 floats
        b = a + 1           # 1000 more while a lives: the peak
        del a
        return b.sum()      # one float, returned

    m = ev.tensor_memory(f, torch.ones(1000))
    assert (m.peak_bytes, m.retained_bytes, m.allocations) == (2000 * F32, F32, 3)
    assert float(m.result) == 3000.0


def test_views_and_inputs_are_not_counted():
    x = torch.ones(10, 10)
    m = ev.tensor_memory(lambda t: (t.view(100), t[0], t.t(), t.add_(1)), x)
    assert m.peak_bytes == 0  # views of the input, and writing into it, allocate nothing
    y = ev.tensor_memory(lambda t: (lambda c: (c, c.view(-1), c[:2]))(t.clone()), x)
    assert y.peak_bytes == y.retained_bytes == 100 * F32 and y.allocations == 1  # one storage


def test_forward_of_a_tiny_network_by_hand():
    net = tiny_net()
    x = torch.ones(1, 4)
    with torch.no_grad():
        m = ev.tensor_memory(net, x)
    # Linear(4, 3) out (12 B) and ReLU out (12 B) live together; then Linear(3, 2) out (8 B)
    assert (m.peak_bytes, m.retained_bytes) == (6 * F32, 2 * F32)
    m = ev.tensor_memory(net, x)  # with autograd: the ReLU output is saved for the backward
    assert (m.peak_bytes, m.retained_bytes) == (6 * F32, (3 + 2) * F32)


def test_a_backward_pass_retains_exactly_the_gradients():
    net = tiny_net()
    x = torch.ones(1, 4, requires_grad=True)
    m = ev.tensor_memory(lambda: net(x).sum().backward())
    grads = sum(p.grad.numel() for p in net.parameters()) + x.grad.numel()
    assert m.retained_bytes == grads * F32   # weights 12 + 3 + 6 + 2, input 4 floats
    assert m.peak_bytes >= m.retained_bytes


def test_deterministic_and_growing_with_the_pixels_on_a_course_model():
    model = xai_tutor.load_model("tiny_vgg")
    small, large = torch.randn(1, 3, 48, 64), torch.randn(1, 3, 96, 128)
    runs = [ev.tensor_memory(xai_tutor.explain, model, small, "fullgrad").peak_bytes
            for _ in range(2)]
    assert runs[0] == runs[1] > 0
    big = ev.tensor_memory(xai_tutor.explain, model, large, "fullgrad").peak_bytes
    assert 3.0 < big / runs[0] < 4.5   # 4x the pixels
    grad = ev.tensor_memory(xai_tutor.explain, model, small, "gradcam").peak_bytes
    assert grad < runs[0]              # FullGrad keeps a map per bias layer
