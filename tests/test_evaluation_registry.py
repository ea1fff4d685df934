"""The metric registry: every metric declared once with its facts, every declaration rule checked
where it is declared, and every registered score computes what its function computes."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from xai_tutor import evaluation as ev
from xai_tutor.evaluation import registry

from conftest import make_small


def test_every_metric_declares_its_facts():
    assert list(ev.METRICS)[:2] == ["pointing", "mass"]
    families = [m.family for m in ev.metrics_in()]
    assert families == sorted(families, key=ev.FAMILIES.index)  # tables group by family
    for name, info in ev.METRICS.items():
        assert info.name == name and info.title and info.reference
        assert info.family in ev.FAMILIES and info.needs <= set(ev.NEEDS)
        assert (info.score is None) == (info.family == "cost") == ("call" in info.needs)
        assert not (info.family == "cost" and info.judged)
    # the families the project measures, each with at least one metric
    assert {m.family for m in ev.metrics_in()} == set(ev.FAMILIES)
    new = {"road_morf", "road_lerf", "sparseness", "complexity", "max_sensitivity",
           "avg_sensitivity", "random_logit", "rank_accuracy", "emprt"}
    assert new <= set(ev.METRICS)
    assert ev.directions(["deletion", "seconds", "mass"]) == {"deletion": False, "mass": True}


def test_metrics_in_filters_and_names_unknown_metrics():
    assert [m.name for m in ev.metrics_in(family="complexity")] == ["sparseness", "complexity"]
    assert all(m.judged for m in ev.metrics_in(judged=True))
    with pytest.raises(ValueError, match="unknown metric.*nosuch.*available: pointing"):
        ev.metrics_in(["mass", "nosuch"])


@pytest.mark.parametrize("kwargs, message", [
    ({"name": "mass"}, "already registered"),
    ({"name": "not a column"}, "identifier"),
    ({"family": "beauty"}, "family must be one of"),
    ({"needs": ("masks", "telepathy")}, "unknown needs"),
    ({"family": "cost", "needs": ("call",)}, "not judged"),
])
def test_register_metric_checks_each_declaration_once(kwargs, message):
    base = {"name": "fresh_metric", "title": "t", "family": "complexity",
            "higher_is_better": True, "reference": "test"}
    with pytest.raises(ValueError, match=message):
        registry.register_metric(**{**base, **kwargs})(lambda s: 0.0)
    assert "fresh_metric" not in ev.METRICS


def test_a_score_function_is_required_exactly_for_map_metrics():
    declare = registry.register_metric("fresh_metric", title="t", family="complexity",
                                       higher_is_better=True, reference="test")
    with pytest.raises(ValueError, match="needs a score function"):
        declare(None)
    assert "fresh_metric" not in ev.METRICS


@pytest.fixture(scope="module")
def subject():
    torch.manual_seed(0)
    model = make_small("vgg")
    x = torch.randn(1, 3, 32, 40)
    target = int(model(x).argmax())
    fn = ev.explainer("gradcam")
    sal = fn(model, x, target)
    masks = np.zeros((2, 32, 40), bool)
    masks[0, 4:14, 5:15] = True
    masks[1, 18:30, 22:36] = True
    return ev.Subject(sal, masks, model, x, target, fn, ev.randomised_copy(model),
                      {"deletion": {"steps": 4}, "road": {"percentages": (30, 70)},
                       "sensitivity": {"samples": 3}})


def test_each_registered_score_is_its_function(subject):
    s = subject
    direct = {
        "pointing": float(ev.pointing_game(s.saliency, s.masks).hit),
        "mass": ev.relevance_mass(s.saliency, s.masks),
        "rank_accuracy": ev.relevance_rank_accuracy(s.saliency, s.masks),
        "energy": ev.instance_energy(s.saliency, s.masks),
        "coverage": ev.multi_instance_coverage(s.saliency, s.masks),
        "recall": ev.area_recall(s.saliency, s.masks),
        "shape_iou": ev.shape_iou(s.saliency, s.masks),
        "deletion": ev.deletion_auc(s.model, s.x, s.saliency, s.target, steps=4,
                                    progress=False),
        "insertion": ev.insertion_auc(s.model, s.x, s.saliency, s.target, progress=False),
        "road_morf": ev.road_curve(s.model, s.x, s.saliency, s.target, "morf", (30, 70),
                                   progress=False).score,
        "road_lerf": ev.road_curve(s.model, s.x, s.saliency, s.target, "lerf", (30, 70),
                                   progress=False).score,
        "max_sensitivity": ev.sensitivity(s.model, s.x, "gradcam", s.target, samples=3).max,
        "avg_sensitivity": ev.sensitivity(s.model, s.x, "gradcam", s.target, samples=3).mean,
        "sparseness": ev.sparseness(s.saliency),
        "complexity": ev.complexity(s.saliency),
        "random_logit": ev.random_logit(s.model, s.x, "gradcam", s.target).similarity,
        "emprt": ev.efficient_mprt(s.model, s.x, "gradcam", s.target).ratio,
    }
    # the ground-truth family needs a GroundTruth: tests/test_ground_truth.py checks it
    scored = [m for m in ev.metrics_in() if m.score is not None and "truth" not in m.needs]
    assert {m.name for m in scored} == set(direct)
    for info in scored:
        assert info.available(s)
        fresh = dataclasses.replace(s, cache={})
        assert info.score(fresh) == pytest.approx(direct[info.name], rel=1e-9, abs=1e-12), \
            info.name


def test_availability_follows_the_needs(subject):
    bare = ev.Subject(subject.saliency)
    assert ev.METRICS["sparseness"].available(bare)
    assert not ev.METRICS["mass"].available(bare)
    assert not ev.METRICS["deletion"].available(dataclasses.replace(bare, masks=subject.masks))
    no_explainer = dataclasses.replace(subject, explainer=None)
    assert ev.METRICS["deletion"].available(no_explainer)
    assert not ev.METRICS["random_logit"].available(no_explainer)
    assert not ev.METRICS["seconds"].available(subject)  # a cost is measured, not scored
