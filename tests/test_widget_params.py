"""The explorer's parameter controls come from the method registry."""

from __future__ import annotations

import pytest

from xai_tutor.methods import METHODS, Param
from xai_tutor.methods.registry import register
from xai_tutor.widgets.param_specs import (
    AUTO,
    NO_LAYER,
    PARAM_SPECS,
    method_params,
    spec_from_param,
)


def test_controls_are_the_registry_declarations() -> None:
    for name, specs in PARAM_SPECS.items():
        declared = {p.name: p for p in METHODS[name].params}
        for spec in specs:
            decl = declared[spec.name]
            assert decl.explorer and spec.help == decl.doc
            want = AUTO if decl.default is None and decl.optional else decl.default
            assert spec.default == want, (name, spec.name)
            if spec.kind in ("float", "int"):
                # every slider position is a value the method accepts
                assert decl.check(name, spec.low) is not None
                assert decl.check(name, spec.high) is not None
                assert spec.low <= spec.default <= spec.high
            if spec.kind == "log":
                assert decl.check(name, 10.0**spec.low) > 0
            if spec.kind == "choice":
                for choice in spec.choices:
                    decl.check(name, None if choice == AUTO else choice)
    assert "fullgrad" in NO_LAYER and "gradcam" not in NO_LAYER
    assert [s.name for s in PARAM_SPECS["smoothgrad"]] == ["base", "n", "sigma"]


def test_a_newly_registered_method_gets_its_controls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("xai_tutor.methods.registry.METHODS", dict(METHODS))
    import xai_tutor.methods.registry as registry

    monkeypatch.setattr("xai_tutor.widgets.param_specs.METHODS", registry.METHODS)

    @register("demo_method", "cam", "demo", params=(
        Param("strength", "float", low=0.0, high=1.0, slider=(0.0, 1.0, 0.1), explorer=True,
              doc="how strong"),
        Param("hidden", "int", low=1, doc="not offered"),
    ), takes_layer=False)
    def demo(model, images, target=None, layer=None, strength=0.5, hidden=3):
        return None

    specs = method_params("demo_method", demo)
    assert [(s.name, s.kind, s.default, s.low, s.high) for s in specs] == [
        ("strength", "float", 0.5, 0.0, 1.0)
    ]
    assert "demo_method" in PARAM_SPECS and "demo_method" in NO_LAYER


def test_spec_from_param_needs_an_explorer_range() -> None:
    with pytest.raises(ValueError, match="slider"):
        spec_from_param(Param("n", "int", 3, low=1))
    assert spec_from_param(Param("c", "choice", None, choices=("a",), optional=True)).choices == (
        AUTO, "a"
    )
