"""Each shared constant and helper has one home: ImageNet statistics, scene
kinds, safe division."""

from __future__ import annotations

import ast
from pathlib import Path

import torch

import xai_tutor
from xai_tutor.constants import IMAGENET_MEAN, IMAGENET_STD
from xai_tutor.numerics import safe_divide, stabilise

PACKAGE = Path(xai_tutor.__file__).parent


def _assignments(name: str) -> list[str]:
    """Modules of the package that assign ``name`` at top level (``X = ...``, ``X: T = ...``)."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            targets = node.targets if isinstance(node, ast.Assign) else (
                [node.target] if isinstance(node, ast.AnnAssign) else []
            )
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                found.append(str(path.relative_to(PACKAGE)))
    return found


def _functions(name: str) -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        found += [str(path.relative_to(PACKAGE)) for node in ast.walk(tree)
                  if isinstance(node, ast.FunctionDef) and node.name == name]
    return found


def test_imagenet_statistics_are_defined_once() -> None:
    assert _assignments("IMAGENET_MEAN") == ["constants.py"]
    assert _assignments("IMAGENET_STD") == ["constants.py"]
    from xai_tutor.data import IMAGENET_MEAN as data_mean
    from xai_tutor.methods.lrp import rules
    from xai_tutor.models import efficientnet_lite

    assert data_mean is IMAGENET_MEAN and rules.IMAGENET_STD is IMAGENET_STD
    assert efficientnet_lite.IMAGENET_MEAN is IMAGENET_MEAN


def test_scene_kinds_are_defined_once() -> None:
    from xai_tutor.data import KINDS
    from xai_tutor.experiment import DEFAULT_KINDS
    from xai_tutor.widgets import explorer

    assert DEFAULT_KINDS is KINDS and explorer.KINDS is KINDS
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if path.name != "scenes.py":
            assert '("single", "pair", "flock")' not in text, path


def test_one_safe_division() -> None:
    assert _functions("safe_divide") == ["numerics.py"]
    assert _functions("stabilise") == ["numerics.py"]
    assert not _functions("_divide") and not _functions("_stab")
    num = torch.tensor([1.0, -2.0, 3.0, 0.0], dtype=torch.float64)
    den = torch.tensor([0.0, 4.0, -0.5, 0.0], dtype=torch.float64)
    assert safe_divide(num, den).tolist() == [0.0, -0.5, -6.0, 0.0]
    eps = 1e-3
    assert safe_divide(num, den, eps).tolist() == [
        1.0 / eps, -2.0 / (4.0 + eps), 3.0 / (-0.5 - eps), 0.0
    ]
    assert stabilise(den, eps).dtype == torch.float64
    d = den.clone().requires_grad_(True)
    safe_divide(num, d).sum().backward()
    assert torch.isfinite(d.grad).all()  # the masked-out division never sees the zero
