"""The method registry: parameter declarations, their checks in explain, layer use, progress
support and cost models."""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest
import torch

import xai_tutor
from xai_tutor.methods import METHODS, MethodInfo, Param
from xai_tutor.methods.base import default_layer, progress_listener
from xai_tutor.methods.params import Passes

from conftest import make_small, small_input

# cheap settings per method, so every method runs in milliseconds on the small models
FAST = {"smoothgrad": {"n": 3}, "smoothgradcampp": {"n": 3}}


# ---------------------------------------------------------------------- declarations


@pytest.mark.parametrize("name", sorted(METHODS))
def test_every_signature_parameter_is_declared_with_its_default(name: str) -> None:
    info = METHODS[name]
    signature = inspect.signature(info.fn).parameters
    own = [
        p for p in signature.values()
        if p.name not in ("model", "images", "target", "layer", "progress")
        and p.kind not in (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL)
    ]
    declared = {p.name: p for p in info.params}
    assert [p.name for p in own] == [n for n in declared if n in signature]
    for p in own:
        decl = declared[p.name]
        assert decl.doc and decl.doc != "(not declared)", (name, p.name)
        assert decl.default == p.default or (decl.default is p.default), (name, p.name)
        # the default itself is allowed
        assert decl.check(name, decl.default) == decl.default


def test_registry_flags_match_the_functions() -> None:
    for name, info in METHODS.items():
        takes_progress = "progress" in inspect.signature(info.fn).parameters
        assert info.accepts_progress == takes_progress
        if info.supports_progress:
            assert takes_progress, name
    looping = {"smoothgrad", "smoothgradcampp", "scorecam", "ablationcam"}
    assert {n for n, i in METHODS.items() if i.supports_progress} == looping
    assert {n for n, i in METHODS.items() if i.takes_layer} == {
        "cam", "gradcam", "gradcampp", "xgradcam", "smoothgradcampp", "scorecam", "ablationcam"
    }
    assert METHODS["scorecam"].cost == "per channel" and METHODS["smoothgrad"].cost == "n passes"
    assert METHODS["gradcam"].cost == "one pass"


def test_methodinfo_stays_callable_with_its_old_fields() -> None:
    info = MethodInfo("demo", lambda *a, **k: "ran", "pixel", "a demo", True)
    assert info("x") == "ran" and info.expensive and info.family == "pixel"
    assert info.params == () and not info.takes_layer and info.passes().describe()
    # calling a registered method through its MethodInfo checks its parameters too
    model = make_small("vgg")
    e = METHODS["gradcampp"](model, small_input(1), target=1, variant="grad-cam")
    assert e.params["variant"] == "grad-cam" and e.target.tolist() == [1]
    with pytest.raises(ValueError, match="lrp: gamma"):
        METHODS["lrp"](model, small_input(1), gamma=float("inf"))


# ---------------------------------------------------------------------- Param.check


def test_param_check_messages_name_method_parameter_value_and_range() -> None:
    p = Param("gamma", "float", 0.25, low=0.0, doc="gamma")
    assert p.check("lrp", 1) == 1.0 and isinstance(p.check("lrp", np.float32(0.5)), float)
    with pytest.raises(ValueError,
                       match=r"lrp: gamma must be a number >= 0 \(not inf or NaN\); got inf"):
        p.check("lrp", math.inf)
    with pytest.raises(ValueError, match="got nan"):
        p.check("lrp", float("nan"))
    with pytest.raises(ValueError, match=r">= 0 \(not inf or NaN\); got -0.1"):
        p.check("lrp", -0.1)
    with pytest.raises(TypeError, match="got '0.3'"):
        p.check("lrp", "0.3")
    with pytest.raises(TypeError, match="got True"):
        p.check("lrp", True)
    open_p = Param("eps", "float", 0.5, low=0.0, high=1.0, low_open=True)
    with pytest.raises(ValueError, match=r"in \(0, 1\] \(not inf or NaN\); got 0.0"):
        open_p.check("m", 0.0)
    n = Param("n", "int", 3, low=1)
    assert n.check("m", np.int64(4)) == 4 and type(n.check("m", np.int64(4))) is int
    with pytest.raises(TypeError, match="a positive int"):
        n.check("m", 2.0)
    c = Param("variant", "choice", "a", choices=("a", "b"))
    with pytest.raises(ValueError, match="one of 'a', 'b'; got 'c'"):
        c.check("m", "c")
    with pytest.raises(ValueError, match="got None"):
        c.check("m", None)
    assert Param("v", "choice", None, choices=("a",), optional=True).check("m", None) is None
    with pytest.raises(TypeError, match="True or False"):
        Param("flag", "bool", False).check("m", 1)


# ---------------------------------------------------------------------- explain validates


@pytest.mark.parametrize(
    "method, params, error, text",
    [
        ("lrp", {"gamma": math.inf}, ValueError, r"lrp: gamma must be a number >= 0.*got inf"),
        ("lrp", {"epsilon": -1.0}, ValueError, r"lrp: epsilon .*got -1.0"),
        ("lrp", {"low": 2.0, "high": 1.0}, ValueError, "lrp: the zB box needs low < high"),
        ("lrp", {"low": 3.0}, ValueError, "low < high"),  # above the default high
        ("lrp", {"low": [0.0, float("nan"), 0.0]}, ValueError, "lrp: low must hold finite"),
        ("lrp", {"composite": "fancy"}, ValueError, "lrp: composite must be one of"),
        ("lrp", {"rules": ["zero"]}, TypeError, "lrp: rules must be a mapping"),
        ("smoothgrad", {"sigma": math.inf}, ValueError, r"smoothgrad: sigma must be .*got inf"),
        ("smoothgrad", {"n": 0}, ValueError, r"smoothgrad: n must be a positive int; got 0"),
        ("smoothgrad", {"n": 2.5}, TypeError, "smoothgrad: n must be a positive int; got 2.5"),
        ("smoothgrad", {"base": "smoothgrad"}, ValueError, "smoothgrad: base must be a regis"),
        ("smoothgrad", {"seed": 1.5}, TypeError, "smoothgrad: seed must be an int"),
        ("smoothgrad", {"seed": 1, "generator": torch.Generator()}, ValueError, "either seed"),
        ("smoothgrad", {"times_input": "yes"}, TypeError,
         "smoothgrad with base='gradient': gradient: times_input must be True or False"),
        ("smoothgrad", {"base": "gradcam", "times_input": True}, TypeError,
         "gradcam has no parameter 'times_input'"),
        ("smoothgradcampp", {"sigma": -0.1}, ValueError, "smoothgradcampp: sigma"),
        ("scorecam", {"batch_size": 0}, ValueError,
         r"scorecam: batch_size must be a positive int or None; got 0"),
        ("scorecam", {"variant": "fast"}, ValueError, "scorecam: variant must be one of"),
        ("ablationcam", {"path": "short"}, ValueError, "ablationcam: path must be one of"),
        ("gradcam", {"sigma": 0.1}, TypeError, r"gradcam has no parameter 'sigma'"),
        ("gradient", {"progress": "no"}, TypeError, "gradient: progress must be True or False"),
        ("cam", {"relu": 1}, TypeError, "cam: relu must be True or False"),
        ("cam", {"fc": 3}, TypeError, "cam: fc must be a layer name"),
        ("fullgrad", {"variant": "pixel"}, ValueError, "fullgrad: variant must be one of"),
    ],
)
def test_explain_validates_parameters_in_one_place(method, params, error, text) -> None:
    model = make_small("vgg")
    with pytest.raises(error, match=text):
        xai_tutor.explain(model, small_input(1), method, **params)


def test_lrp_gamma_inf_was_nan_and_is_now_refused() -> None:
    """Before the registry check, gamma=inf gave NaN attributions; finite large gamma works."""
    model = make_small("vgg")
    e = xai_tutor.explain(model, small_input(1), "lrp", gamma=1e6)
    assert torch.isfinite(e.attribution).all()
    with pytest.raises(ValueError, match="gamma"):
        xai_tutor.explain(model, small_input(1), "lrp", gamma=float("inf"))


def test_smoothgrad_sigma_inf_blames_sigma_not_images() -> None:
    with pytest.raises(ValueError) as err:
        xai_tutor.explain(make_small("vgg"), small_input(1), "smoothgrad", sigma=float("inf"))
    assert "sigma" in str(err.value) and "images" not in str(err.value)


def test_numpy_scalars_are_accepted_and_passed_as_python_numbers() -> None:
    e = xai_tutor.explain(make_small("vgg"), small_input(1), "smoothgrad",
                          n=np.int64(2), sigma=np.float64(0.1), progress=False)
    assert e.params["n"] == 2 and type(e.params["n"]) is int
    assert type(e.params["sigma"]) is float


@pytest.mark.parametrize("name", sorted(METHODS))
def test_every_method_accepts_progress_and_reports_only_if_it_says_so(name: str) -> None:
    model = make_small("vgg")
    steps: list[int] = []
    with progress_listener(lambda desc, done, total: steps.append(done)):
        e = xai_tutor.explain(model, small_input(1), name, progress=False, **FAST.get(name, {}))
    assert e.method == name
    assert bool(steps) == METHODS[name].supports_progress, steps


@pytest.mark.parametrize("name", sorted(METHODS))
def test_takes_layer_is_truthful(name: str) -> None:
    model = make_small("vgg")
    layer = default_layer(model)
    params = FAST.get(name, {})
    if METHODS[name].takes_layer:
        e = xai_tutor.explain(model, small_input(1), name, layer=layer, **params)
        assert e.layer == layer
    else:
        with pytest.raises(ValueError, match="layer"):
            xai_tutor.explain(model, small_input(1), name, layer=layer, **params)


# ---------------------------------------------------------------------- cost models


def _count_forwards(model: torch.nn.Module) -> tuple[list[int], object]:
    seen: list[int] = []
    handle = model.register_forward_hook(lambda m, i, o: seen.append(int(i[0].shape[0])))
    return seen, handle


@pytest.mark.parametrize(
    "name, params",
    [
        ("gradcam", {}),
        ("cam", {}),
        ("smoothgrad", {"n": 5, "batch_size": 2}),
        ("smoothgradcampp", {"n": 5, "batch_size": 2}),
        ("scorecam", {"batch_size": 4}),
        ("ablationcam", {"batch_size": 4, "path": "full"}),
    ],
)
def test_cost_model_counts_the_forward_passes(name: str, params: dict) -> None:
    """The whole-model forward calls and images a method runs equal its registry estimate
    (Ablation-CAM's tail passes bypass the model's own forward when a tail exists)."""
    model = make_small("vgg")
    channels = 10  # SmallVGG's last conv block
    estimate = METHODS[name].passes(channels, params)
    seen, handle = _count_forwards(model)
    try:
        xai_tutor.explain(model, small_input(1), name, **params)
    finally:
        handle.remove()
    full = estimate.forwards + (estimate.tail_forwards if params.get("path") == "full" else 0)
    if name == "scorecam":  # constant channels are skipped: the estimate is an upper bound
        assert sum(seen) <= full and len(seen) <= estimate.calls, (seen, estimate)
        assert sum(seen) > 1
    else:
        assert sum(seen) == full, (seen, estimate)
        assert len(seen) == estimate.calls, (seen, estimate)


def test_passes_estimates_and_descriptions() -> None:
    sc = METHODS["scorecam"].passes(512)  # default batch of the registry (8)
    assert sc == Passes(513, 0, 0, 1 + 64)
    assert sc.describe() == "~513 forwards in 65 batches"
    ab = METHODS["ablationcam"].passes(512, {"batch_size": 128})
    assert ab.forwards == 1 and ab.tail_forwards == 512 and ab.calls == 5
    sg = METHODS["smoothgrad"].passes(params={"n": 10, "batch_size": 4})
    assert sg == Passes(11, 10, 0, 4) and "forward/backward" in sg.describe()
    assert METHODS["gradcam"].passes().describe() == "~1 forward/backward pass"
    assert METHODS["cam"].passes().describe() == "~1 forward pass"
