"""The exercise checks: right answers pass, and each typical slip gets its own diagnosis."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from xai_tutor.exercises import (
    SOLUTION_CHECKS,
    Feedback,
    check_class,
    check_close,
    check_equal,
    check_set,
    check_shape,
    oracle,
)
from xai_tutor.exercises import gradient as ex_grad
from xai_tutor.exercises import taxonomy as ex_tax
from xai_tutor.exercises.core import EXERCISES, exercise

from conftest import make_small, small_input
from solutions import run_solution, solutions

RNG = np.random.default_rng(0)
E = RNG.normal(size=(3, 4, 5))


# ------------------------------------------------------------------------------- Feedback


def test_feedback_is_truthy_and_readable() -> None:
    good, bad = Feedback(True, "fine", name="a"), Feedback(False, "no <b>", ["hint"], "b")
    assert good and not bad
    assert "✅" in str(good) and "❌" in repr(bad) and "hint" in bad.text()
    assert "&lt;b&gt;" in bad._repr_html_() and "<li>hint</li>" in bad._repr_html_()
    assert good.raise_if_wrong() is good
    with pytest.raises(AssertionError, match="no <b>"):
        bad.raise_if_wrong()


# ---------------------------------------------------------------------------- check_close


def test_close_accepts_tensor_array_and_list() -> None:
    assert check_close("m", torch.tensor(E), E).ok
    assert check_close("m", E.tolist(), torch.tensor(E)).ok
    assert check_close("m", E + 1e-7, E).ok
    assert check_close("v", torch.tensor(2.0), 2.0).ok


def diagnose(got, expected=E, **kw) -> Feedback:
    fb = check_close("m", got, expected, **kw)
    assert not fb.ok
    assert fb.message
    return fb


@pytest.mark.parametrize("placeholder", [None, ...])
def test_close_not_answered(placeholder) -> None:
    assert "placeholder" in diagnose(placeholder).message


def test_close_wrong_type() -> None:
    assert "not a str" in diagnose("a string").message


def test_close_shape_diagnoses() -> None:
    assert "extra dimension of size 1" in diagnose(E[None]).details[0]
    assert "is missing" in diagnose(E[:, :, :], E[None]).details[0]
    assert "permuted" in diagnose(E.transpose(2, 1, 0)).details[0]
    assert "reduced away" in diagnose(np.stack([E, E], 1)).details[0]
    assert "sum / mean / max" in diagnose(np.stack([E, E], 1)).details[0]
    assert "reshape" in diagnose(E.reshape(6, 10)).details[0]
    assert "keepdim" in diagnose(E.sum(1), E).details[0]


def test_close_nan() -> None:
    bad = E.copy()
    bad[0, 0, 0] = np.nan
    assert "NaN" in diagnose(bad).message


def test_close_sign_abs_factor() -> None:
    assert "wrong sign" in diagnose(-E).message
    assert "absolute value of the answer" in diagnose(np.abs(E)).message
    pos = np.abs(E)
    assert "take .abs()" in diagnose(E, pos).message
    fb = diagnose(E * 2.5)
    assert "factor of about 2.5" in fb.message
    mean_not_sum = diagnose(E / 20, E)  # 20 = 4 * 5 = h * w
    assert "sum instead of a mean" in " ".join(mean_not_sum.details)


def test_close_normalisation_both_ways() -> None:
    raw = np.abs(E)
    norm = (raw - raw.min()) / (raw.max() - raw.min())
    assert "not normalised" in diagnose(raw, norm).message
    assert "raw values are expected" in diagnose(norm, raw).message
    assert "shifted and scaled" in diagnose(E * 3 + 1).message


def test_close_pattern_and_values_and_hints() -> None:
    noisy = E + RNG.normal(scale=0.05, size=E.shape)
    assert "right pattern" in diagnose(noisy).message
    fb = diagnose(RNG.normal(size=E.shape), hints={"values": "check the formula"})
    assert "does not match" in fb.message
    assert fb.details[-1] == "check the formula"
    assert "largest difference" in fb.details[0]
    assert diagnose(-E, hints={"sign": "gradient ascent!"}).details[-1] == "gradient ascent!"


def test_close_refuses_a_non_numeric_expected() -> None:
    with pytest.raises(TypeError):
        check_close("m", 1.0, "x")


# ------------------------------------------------------------------ other generic checks


def test_check_equal() -> None:
    assert check_equal("n", 4, 4).ok
    assert check_equal("n", np.int64(4), 4).ok
    assert check_equal("n", torch.tensor(4), 4).ok
    assert "off by one" in check_equal("n", 5, 4).details[0]
    assert "sign" in check_equal("n", -4, 4).details[0]
    assert "integer is expected" in check_equal("n", "4", 4).details[0]
    assert check_equal("s", " Post-Hoc ", "post-hoc").ok
    assert not check_equal("s", "ante-hoc", "post-hoc").ok
    assert not check_equal("n", True, 1).ok


def test_check_shape() -> None:
    assert check_shape("s", torch.zeros(1, 8, 4, 4), (1, 8, 4, 4)).ok
    assert check_shape("s", torch.Size([1, 8, 4, 4]), [1, 8, 4, 4]).ok
    fb = check_shape("s", (1, 8, 4, 5), (1, 8, 4, 4))
    assert "axis 3: 5 instead of 4" in fb.details[-1]
    assert "batch dimension" in check_shape("s", (8, 4, 4), (1, 8, 4, 4)).details[0]
    assert not check_shape("s", 3.5, (1,)).ok


def test_check_class() -> None:
    scores = torch.tensor([0.1, 3.0, -2.0, 1.5])
    names = ["a", "b", "c", "d"]
    assert check_class("c", 1, 1, names, scores).ok
    assert check_class("c", torch.tensor(1), 1, names, scores).ok
    assert check_class("c", "b", 1, names, scores).ok
    assert "LOWEST" in check_class("c", 2, 1, names, scores).details[0]
    assert "runner-up" in check_class("c", 3, 1, names, scores).details[0]
    assert "3 (d)" in check_class("c", 3, 1, names, scores).message
    assert "only 4 classes" in check_class("c", 9, 1, names, scores).details[0]
    assert ".item()" in check_class("c", [1], 1).message
    assert not check_class("c", "zebra", 1, names).ok


def test_check_set() -> None:
    fb = check_set("s", ["A", "x"], ["a", "b"], reasons={"b": "b is needed", "x": "x is not"},
                   key=str.lower)
    assert not fb.ok
    assert fb.details == ["missing 'b': b is needed", "'x' does not belong: x is not"]
    assert check_set("s", ["b", "a", "a"], ["a", "b"]).ok
    assert not check_set("s", "ab", ["a", "b"]).ok


# ------------------------------------------------------------------ strict mode, solutions


@exercise("test.answer", "answer", notebook="99")
def _check_answer(answer: int) -> Feedback:
    return Feedback(answer == 42, "the answer")


SOLUTION_CHECKS.pop("test.answer")
EXERCISES.pop("test.answer")


def test_strict_mode_turns_a_wrong_answer_into_an_error(monkeypatch) -> None:
    monkeypatch.delenv("XAI_TUTOR_STRICT_CHECKS", raising=False)
    assert not _check_answer(41).ok          # a learner gets feedback, not an exception
    monkeypatch.setenv("XAI_TUTOR_STRICT_CHECKS", "1")
    assert _check_answer(42).ok
    with pytest.raises(AssertionError, match="_check_answer failed"):
        _check_answer(41)
    monkeypatch.setenv("XAI_TUTOR_STRICT_CHECKS", "0")
    assert not _check_answer(41).ok


def test_every_exercise_has_one_solution_in_the_notebooks_and_one_check() -> None:
    from solutions import checks

    assert set(solutions()) == set(checks()), (
        "solution blocks in notebooks/*.md and registered checks differ: "
        f"{sorted(set(solutions()) ^ set(checks()))}")
    assert len(SOLUTION_CHECKS) >= 30


def test_the_package_does_not_hold_the_solutions() -> None:
    import xai_tutor.exercises as exercises

    public = [n for n in dir(exercises) if "solution" in n.lower() and n != "SOLUTION_CHECKS"]
    assert not public, public
    for module in ("cam", "gradient", "lrp", "smoothgrad", "fullgrad", "gradient_free"):
        mod = __import__(f"xai_tutor.exercises.{module}", fromlist=["_"])
        exposed = [n for n in getattr(mod, "__all__", ()) if n.startswith("expected")]
        assert not exposed, (module, exposed)


# --------------------------------------------------------------------- taxonomy exercises


def test_taxonomy_filter_check() -> None:
    assert ex_tax.check_filter(["DeconvNet", "DeepLIFT", "LRP", "CAM", "grad-cam++"]).ok
    rows = [{"method": m} for m in ex_tax._expected_filter()]
    assert ex_tax.check_filter(rows).ok
    fb = ex_tax.check_filter(["DeconvNet", "DeepLIFT", "LRP", "CAM", "LIME"])
    assert not fb.ok
    assert "missing 'Grad-CAM++': Grad-CAM++ is post-hoc, model-specific, attribution" in fb.details
    assert "'LIME' does not belong: LIME is post-hoc, model-agnostic, attribution" in fb.details
    assert not ex_tax.check_filter(None).ok


def test_taxonomy_classification_check() -> None:
    right = {"stage": "Post hoc", "dependency": "specific", "explanation": "attribution"}
    assert ex_tax.check_classification(right, "Score-CAM").ok
    fb = ex_tax.check_classification({**right, "dependency": "model-agnostic"}, "Score-CAM")
    assert not fb.ok and "inner convolutional layer" in fb.details[0]
    assert "lacks the key" in ex_tax.check_classification({"stage": "x"}, "Score-CAM").message
    assert not ex_tax.check_classification("post-hoc", "Score-CAM").ok
    assert ex_tax.check_classification({"stage": "post-hoc", "dependency": "agnostic",
                                        "explanation": "attribution"}, "LIME").ok
    with pytest.raises(ValueError, match="unknown method"):
        ex_tax.check_classification(right, "Magic")
    blank = ex_tax.check_classification({"stage": None, "dependency": None, "explanation": None})
    assert not blank.ok and not blank.answered


# --------------------------------------------------------------------- gradient exercises


@pytest.fixture(scope="module")
def vgg64():
    model = make_small("vgg", torch.float64)
    model.class_names = [f"class{i}" for i in range(5)]
    return model


@pytest.fixture(scope="module")
def x64():
    return small_input(1, 16, torch.float64, seed=3)


def test_expected_saliency_matches_finite_differences(vgg64, x64) -> None:
    with torch.no_grad():
        c = int(vgg64(x64)[0].argmax())
    sal = oracle.input_gradient(vgg64, x64)[0].abs().amax(dim=0)
    assert sal.shape == (16, 16)
    h = 1e-6
    pixels = [(0, 0), (5, 9), (15, 3), (8, 8)]
    batch = []
    for i, j in pixels:
        for ch in range(3):
            for sign in (1, -1):
                xs = x64.clone()
                xs[0, ch, i, j] += sign * h
                batch.append(xs)
    with torch.no_grad():
        scores = vgg64(torch.cat(batch))[:, c].reshape(len(pixels), 3, 2)
    slopes = ((scores[..., 0] - scores[..., 1]) / (2 * h)).abs().amax(dim=1)
    for (i, j), slope in zip(pixels, slopes):
        assert sal[i, j].item() == pytest.approx(slope.item(), rel=1e-5, abs=1e-9)


def test_saliency_check_diagnoses(vgg64, x64) -> None:
    leaf = x64.clone().requires_grad_(True)
    logits = vgg64(leaf)
    (g,) = torch.autograd.grad(logits[0, logits[0].argmax()], leaf, retain_graph=True)
    g = g[0]
    assert ex_grad.check_saliency(g.abs().amax(0), vgg64, x64).ok
    assert "absolute value first" in ex_grad.check_saliency(g.amax(0), vgg64, x64).message
    assert "summed" in ex_grad.check_saliency(g.abs().sum(0), vgg64, x64).message
    assert "averaged" in ex_grad.check_saliency(g.abs().mean(0), vgg64, x64).message
    fb = ex_grad.check_saliency(g.abs(), vgg64, x64)
    assert any("amax" in d for d in fb.details)
    assert "placeholder" in ex_grad.check_saliency(None, vgg64, x64).message
    other = int(logits[0].argmin())
    (g2,) = torch.autograd.grad(logits[0, other], leaf)
    assert not ex_grad.check_saliency(g2[0].abs().amax(0), vgg64, x64).ok
    assert vgg64.training is False
    assert all(p.requires_grad for p in vgg64.parameters())  # the check left the model alone


def test_denormalise_check_diagnoses() -> None:
    x = small_input(1, 8, seed=1)
    mean = torch.tensor([0.485, 0.456, 0.406]).reshape(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).reshape(1, 3, 1, 1)
    assert ex_grad.check_denormalise(x * std + mean, x).ok
    assert "still the normalised" in ex_grad.check_denormalise(x, x).message
    assert "second time" in ex_grad.check_denormalise((x - mean) / std, x).message
    assert "wrong order" in ex_grad.check_denormalise((x + mean) * std, x).message
    assert "did not add the mean" in ex_grad.check_denormalise(x * std, x).message
    assert "swapped" in ex_grad.check_denormalise(x * mean + std, x).message
    fb = ex_grad.check_denormalise((x * std + mean)[0].permute(1, 2, 0), x)
    assert not fb.ok and "(1, 3, H, W)" in " ".join(fb.details)


def test_activation_shape_and_top_class_checks(vgg64, x64) -> None:
    # SmallVGG: two 2x2 max-pools, 10 channels in the last block -> 16 / 4 = 4
    assert ex_grad._expected_activation_shape(vgg64, x64) == (1, 10, 4, 4)
    assert ex_grad.check_activation_shape((1, 10, 4, 4), vgg64, x64).ok
    assert not ex_grad.check_activation_shape((10, 4, 4), vgg64, x64).ok
    with torch.no_grad():
        logits = vgg64(x64)[0]
    assert ex_grad.check_top_class(int(logits.argmax()), vgg64, x64).ok
    fb = ex_grad.check_top_class(int(logits.argmin()), vgg64, x64)
    assert "LOWEST" in fb.details[0] and "class" in fb.message


def test_every_registered_solution_passes_its_own_check(vgg64, x64) -> None:
    import xai_tutor.exercises.gradient  # noqa: F401  (registers its solutions)
    import xai_tutor.exercises.taxonomy  # noqa: F401

    model = make_small("vgg")
    model.class_names = [f"class{i}" for i in range(5)]
    x = small_input(1, 16, seed=2)
    keys = [k for k in SOLUTION_CHECKS if k.split(".")[0] in ("gradient", "taxonomy")
            and not EXERCISES[k].prediction]
    assert len(keys) >= 6
    for key in keys:
        ns = {"torch": torch, "model": model, "x": x}
        fb = run_solution(key, ns)
        assert fb.ok, key
    assert model.training is False and not model.features[0]._forward_hooks
