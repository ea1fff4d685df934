"""Max- and Avg-Sensitivity, Random Logit (with SSIM) and efficient MPRT: each against a loop
written here, their conventions, and Quantus 0.6 (where it deviates from the papers, the test
says how and compares through the paper's definition)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

from xai_tutor import evaluation as ev

from conftest import make_small


@pytest.fixture(scope="module")
def setting():
    torch.manual_seed(0)
    model = make_small("vgg")
    x = torch.randn(1, 3, 28, 32)
    return model, x, int(model(x).argmax())


def gradcam(model, x, target):
    return ev.explainer("gradcam")(model, x, target)


# --- sensitivity ----------------------------------------------------------------------------

def test_sensitivity_by_loop(setting):
    model, x, target = setting
    rng = np.random.default_rng(7)
    base = gradcam(model, x, target)
    ratios = []
    for _ in range(4):
        delta = rng.uniform(-0.1, 0.1, size=tuple(x.shape))
        assert np.abs(delta).max() <= 0.1  # inside the L-inf ball
        moved = gradcam(model, x + torch.from_numpy(delta).float(), target)
        ratios.append(math.sqrt(((moved - base) ** 2).sum()) / math.sqrt((base**2).sum()))
    r = ev.sensitivity(model, x, "gradcam", target, radius=0.1, samples=4, seed=7)
    assert np.allclose(r.values, ratios, rtol=1e-9)
    assert r.max == pytest.approx(max(ratios)) and r.mean == pytest.approx(np.mean(ratios))
    assert r.target == target
    again = ev.sensitivity(model, x, gradcam, target, radius=0.1, samples=4, seed=7)
    assert np.array_equal(again.values, r.values)  # seeded; a callable works like a name


def test_sensitivity_conventions(setting):
    model, x, target = setting
    blob = ev.centre_blob((28, 32))
    fixed = ev.sensitivity(model, x, lambda m, xx, t: blob, target, samples=3)
    assert fixed.max == 0.0 and fixed.mean == 0.0  # an image-blind map is perfectly robust
    zero = ev.sensitivity(model, x, lambda m, xx, t: np.zeros((28, 32)), target, samples=2)
    assert math.isnan(zero.max)                     # no relative change of a zero map
    top = ev.sensitivity(model, x, "gradcam", samples=1).target
    assert top == target                            # default: the top class
    with pytest.raises(ValueError, match="radius"):
        ev.sensitivity(model, x, "gradcam", radius=0.0)
    with pytest.raises(ValueError, match="samples"):
        ev.sensitivity(model, x, "gradcam", samples=0)


# --- SSIM and Random Logit ------------------------------------------------------------------

def ssim_by_loop(a, b):
    """The paper's SSIM with an 11 x 11 Gaussian window (sigma 1.5), every window inside."""
    t = np.arange(11) - 5
    g = np.exp(-(t**2) / (2 * 1.5**2))
    g = np.outer(g, g) / np.outer(g, g).sum()
    span = max(a.max(), b.max()) - min(a.min(), b.min())
    c1, c2 = (0.01 * span) ** 2, (0.03 * span) ** 2
    values = []
    for i in range(a.shape[0] - 10):
        for j in range(a.shape[1] - 10):
            pa, pb = a[i:i + 11, j:j + 11], b[i:i + 11, j:j + 11]
            ma, mb = (g * pa).sum(), (g * pb).sum()
            va, vb = (g * (pa - ma) ** 2).sum(), (g * (pb - mb) ** 2).sum()
            cov = (g * (pa - ma) * (pb - mb)).sum()
            values.append((2 * ma * mb + c1) * (2 * cov + c2)
                          / ((ma**2 + mb**2 + c1) * (va + vb + c2)))
    return float(np.mean(values))


def test_ssim_by_loop_and_against_scikit_image():
    rng = np.random.default_rng(3)
    a = rng.random((16, 19))
    b = 0.6 * a + 0.4 * rng.random((16, 19))
    assert ev.ssim(a, b) == pytest.approx(ssim_by_loop(a, b), rel=1e-10)
    assert ev.ssim(a, a) == pytest.approx(1.0)
    assert ev.ssim(np.ones((12, 12)), np.ones((12, 12))) == 1.0  # identical constants
    skimage_metrics = pytest.importorskip("skimage.metrics")
    theirs = skimage_metrics.structural_similarity(
        a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
        data_range=float(max(a.max(), b.max()) - min(a.min(), b.min())))
    assert abs(ev.ssim(a, b) - theirs) < 1e-12
    with pytest.raises(ValueError, match="at least 11"):
        ev.ssim(np.ones((5, 20)), np.ones((5, 20)))


def test_random_logit_by_hand(setting):
    model, x, target = setting
    r = ev.random_logit(model, x, "gradcam", target, seed=5)
    others = [c for c in range(5) if c != target]
    assert r.other == others[int(np.random.default_rng(5).integers(4))]
    assert r.similarity == pytest.approx(ev.ssim(gradcam(model, x, target),
                                                 gradcam(model, x, r.other)))
    fixed = ev.random_logit(model, x, lambda m, xx, t: ev.centre_blob((28, 32)), target)
    assert fixed.similarity == 1.0  # a map that ignores the class
    assert ev.random_logit(model, x, "gradcam", target, other=(target + 1) % 5).other == \
        (target + 1) % 5
    with pytest.raises(ValueError, match="differ"):
        ev.random_logit(model, x, "gradcam", target, other=target)
    with pytest.raises(ValueError, match="one class"):
        ev.other_class(0, 1)
    draws = {ev.other_class(2, 5, s) for s in range(40)}
    assert draws == {0, 1, 3, 4}


# --- efficient MPRT -------------------------------------------------------------------------

def test_efficient_mprt_by_hand(setting):
    model, x, target = setting
    random_model = ev.randomised_copy(model, seed=2)
    before, after = gradcam(model, x, target), gradcam(random_model, x, target)

    def entropy(m):
        counts, _ = np.histogram(m, bins=100)
        p = counts[counts > 0] / m.size
        return float(-(p * np.log(p)).sum())

    r = ev.efficient_mprt(model, x, "gradcam", target, seed=2)
    assert r.entropy == pytest.approx(entropy(before))
    assert r.randomised_entropy == pytest.approx(entropy(after))
    assert r.ratio == pytest.approx(entropy(after) / entropy(before))
    blob = ev.centre_blob((28, 32))
    assert ev.efficient_mprt(model, x, lambda m, xx, t: blob, target).ratio == 1.0
    flat = ev.efficient_mprt(model, x, lambda m, xx, t: np.ones((28, 32)), target)
    assert math.isnan(flat.ratio)  # no complexity to rise from
    # the user's model is untouched
    assert all(torch.equal(p, q) for p, q in zip(model.state_dict().values(),
                                                 make_small("vgg").state_dict().values()))


def test_randomised_copy_resets_the_last_layers_only():
    model = make_small("vgg")
    layers = ev.parameterised_layers(model)
    clone = ev.randomised_copy(model, count=1, seed=0)
    changed = [n for n in layers if not all(
        torch.equal(a, b) for a, b in zip(dict(model.named_modules())[n].parameters(),
                                          dict(clone.named_modules())[n].parameters()))]
    assert changed == layers[-1:] and not clone.training
    again = ev.randomised_copy(model, count=1, seed=0)
    assert all(torch.equal(a, b) for a, b in zip(clone.parameters(), again.parameters()))
    with pytest.raises(ValueError, match="count"):
        ev.randomised_copy(model, count=len(layers) + 1)


# --- Quantus 0.6 (test-only reference) ------------------------------------------------------

quantus = pytest.importorskip("quantus")


def _explain_func(model, inputs, targets, **kwargs):
    return np.stack([gradcam(model, torch.from_numpy(np.asarray(xi))[None].float(), int(t))[None]
                     for xi, t in zip(inputs, targets)])


@pytest.mark.parametrize("name", ["MaxSensitivity", "AvgSensitivity"])
def test_sensitivity_agrees_with_quantus(setting, name):
    """Quantus draws its perturbations from NumPy's global generator; it is given ours (the
    same seeded draws, in order) so that both evaluate the same inputs."""
    model, x, target = setting
    draws = iter(ev.perturbations(x, 0.1, 3, seed=9))

    def replay(arr, indices=None, **kwargs):
        return next(draws).numpy().reshape(arr.shape)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        metric = getattr(quantus, name)(nr_samples=3, lower_bound=0.1, perturb_func=replay,
                                        norm_numerator=quantus.norm_func.fro_norm,
                                        norm_denominator=quantus.norm_func.fro_norm,
                                        disable_warnings=True)
        theirs = metric(model=model, x_batch=x.numpy(), y_batch=np.array([target]),
                        a_batch=gradcam(model, x, target)[None, None],
                        explain_func=_explain_func, device="cpu")[0]
    ours = ev.sensitivity(model, x, "gradcam", target, radius=0.1, samples=3, seed=9)
    assert abs(theirs - (ours.max if name == "MaxSensitivity" else ours.mean)) < 1e-6


def test_random_logit_agrees_with_quantus_through_the_paper_s_2d_ssim(setting):
    """Quantus's default similarity is SSIM of the *flattened* maps (a 1-D signal), not the 2-D
    SSIM of Sixt et al.: with its default the numbers differ; given a 2-D SSIM and the class it
    draws, they agree."""
    model, x, target = setting
    a = gradcam(model, x, target)[None, None]

    def run(similarity=None):
        kwargs = {} if similarity is None else {"similarity_func": similarity}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return quantus.RandomLogit(num_classes=5, seed=42, normalise=False,
                                       disable_warnings=True, **kwargs)(
                model=model, x_batch=x.numpy(), y_batch=np.array([target]), a_batch=a,
                explain_func=_explain_func, device="cpu")[0]

    np.random.seed(42)  # the class Quantus draws: its generator, seed and order
    pick = int(np.random.randint(0, 4, 1)[0])
    other = [c for c in range(5) if c != target][pick]
    ours = ev.random_logit(model, x, "gradcam", target, other=other).similarity
    two_d = run(lambda p, q, batched=False, **k: [ev.ssim(pp.reshape(28, 32),
                                                          qq.reshape(28, 32))
                                                  for pp, qq in zip(p, q)])
    assert abs(two_d - ours) < 1e-12
    assert abs(run() - ours) > 1e-3  # Quantus's 1-D SSIM is another number


def test_efficient_mprt_agrees_with_quantus_given_the_same_randomised_model(setting):
    """Quantus reports (H(ê) - H(e)) / H(e), the ratio minus 1, and re-seeds every layer with
    the same seed: it randomises its own copy, which ours is handed."""
    model, x, target = setting
    import copy

    quantus_copy = copy.deepcopy(model)
    modules = [m for _, m in quantus_copy.named_modules() if hasattr(m, "reset_parameters")]
    for m in modules:  # Quantus's bottom-up order and seeding (seed + 1 before each layer)
        torch.manual_seed(42 + 1)
        m.reset_parameters()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = quantus.EfficientMPRT(seed=42, disable_warnings=True)(
            model=model, x_batch=x.numpy(), y_batch=np.array([target]),
            a_batch=gradcam(model, x, target)[None, None], explain_func=_explain_func,
            device="cpu")[0]
    ours = ev.efficient_mprt(model, x, "gradcam", target, randomised=quantus_copy.eval())
    assert abs(theirs - (ours.ratio - 1)) < 1e-9
