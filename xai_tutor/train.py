"""Reproducible training of the course's own bird classifiers and of the cue models.

Two recipes, chosen by ``--model``: the course models ``tiny_vgg`` and ``tiny_resnet`` (the
default, described first) and the cue models of :mod:`xai_tutor.models.cue_models` (``Cue
models`` below), which train in a command of their own.

The models learn the 16 species of :data:`xai_tutor.data.SPECIES` from generated scenes at the
full course size, 626 x 418, so they see exactly the kind of input the notebooks give them.

Data
    ``--scenes`` scenes drawn with :func:`xai_tutor.data.make_scene` from the seeds
    ``TRAIN_SEED_OFFSET + i`` (far away from the small seeds that the course and the tests use):
    by default 75 % "single" scenes with a balanced species, 15 % "pair" and 10 % "flock"
    scenes with random species. The target of a scene is the *share* of each species among its
    birds (one-hot for a single bird, 1/2 + 1/2 for a mixed pair), trained with soft-target
    cross-entropy, so that on pair and flock scenes the softmax is split between the species
    that are present, and each of them is a sensible target to explain.

Augmentation (seeded, drawn per image and epoch)
    *Random erasing inside the bird's box* (single scenes, probability ``--erase``): a rectangle
    of 30-60 % of the box's width and height, placed at random inside the box, is replaced by
    the scene's own background (replayed by :func:`xai_tutor.data.training.scene_background`),
    so no single part of a bird (the flamingo's foot, the toucan's beak) suffices and none is
    required. *Scale* (probability ``--zoom``): a window of 80-100 % of each side, resized back
    to 626 x 418. *Mirror flip* (probability 1/2).

Optimisation
    AdamW (lr ``--lr`` = 2e-3, weight decay 1e-4), batch ``--batch`` = 16, one-cycle learning
    rate over ``--epochs`` = 5 epochs, seeded (``--seed``) shuffling, augmentation and
    initialisation, 2 CPU threads. The scenes are rendered once and shared by the models named
    in ``--model`` (default: both).

Held-out checks (fresh single-bird scenes, seeds ``VAL_SEED_OFFSET + i``, never trained on)
    accuracy on ``--val`` scenes, and accuracy when one quadrant of the bird's box (cut at its
    centre) is replaced by the background, for each of the four quadrants.

Output (never replaces existing weights without ``--force``)
    ``<out>/<model>.pt`` (float32 state dict) and an entry in ``<out>/models.json`` with the
    file's SHA-256 (checked by :func:`xai_tutor.models.load_model`), the species order, the
    architecture, the command line, epochs, seed, date, the training time and the held-out
    accuracies. Every file is written to a temporary file in the same folder and renamed into
    place; the weights of all models first, ``models.json`` last. Arguments are checked before
    any scene is drawn: a bad one ends the command with exit status 2 and one line.

Cost: rendering the scenes and their backgrounds runs on one thread, training on ``--threads``;
``models.json`` records the wall and CPU seconds of each run (``data_seconds``,
``data_cpu_seconds``, ``train_seconds``, ``train_cpu_seconds``); ``--cache`` keeps the rendered
scenes for the next run.

Example (the defaults; ``data/models/README.md`` says how the committed weights were made)::

    python -m xai_tutor.train --out data/models --force --no-progress

``--model tiny_vgg`` trains one of them; ``--crop W H`` trains on windows cut from the scenes.

Cue models (``--model tiny_resnet_shortcut tiny_resnet_mixed tiny_resnet_bird``)
    ``--scenes`` = 1600 single-bird cue scenes (:mod:`xai_tutor.data.cues`) at 320 x 224 from
    seeds ``CUE_TRAIN_SEED_OFFSET + i``, bird ``SPECIES[i % 16]``, rendered once without their
    badge. Each model draws (seeded, :func:`cue_labels`) the label and the badge of every scene
    from its ``label_from`` shares, and the badge is pasted at the scene's fixed place after
    random erasing and before the flip (no zoom: it could cut the badge off; no pair or flock
    scenes, no crop). Same optimiser, 5 epochs. Held-out: 64 cue scenes from seeds
    ``CUE_VAL_SEED_OFFSET + i``, measured by :func:`xai_tutor.reliance.measure_cue_reliance`,
    whose numbers go to ``models.json`` under ``reliance``::

        python -m xai_tutor.train --model tiny_resnet_shortcut tiny_resnet_mixed \
            tiny_resnet_bird --out data/models --force --no-progress

    ``tiny_vgg_shortcut`` (the shortcut recipe on VGG's head) stays at chance from scratch; it
    is trained from the course's ``tiny_vgg`` for 10 epochs (``data/models/README.md``)::

        python -m xai_tutor.train --model tiny_vgg_shortcut --init data/models/tiny_vgg.pt \
            --epochs 10 --out data/models --force --no-progress
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from xai_tutor.atomic import atomic_write
from xai_tutor.data import IMAGENET_MEAN, IMAGENET_STD, SPECIES, make_scene
from xai_tutor.data.cues import CUE_SCENE_SIZE, cue_badge, cue_layout, cue_side
from xai_tutor.data.training import QUADRANTS, hide_quadrant, scene_background
from xai_tutor.models.cue_models import CUE_MODELS, LABEL_SOURCES
from xai_tutor.models.tiny import ARCHITECTURES

TRAIN_SEED_OFFSET = 1_000_000
VAL_SEED_OFFSET = 500_000
CUE_TRAIN_SEED_OFFSET = 2_000_000
CUE_VAL_SEED_OFFSET = 600_000
CUE_STREAM = 5  # which training scenes get another class's cue: default_rng([seed, 5])
SIZE = (626, 418)
PROG = "python -m xai_tutor.train"
# Defaults of the two recipes: the course models and the cue models (``--model`` decides).
RECIPES: dict[str, dict] = {
    "course": {"scenes": 2000, "val": 96, "epochs": 5, "erase": 0.5, "zoom": 0.3,
               "mix": (0.75, 0.15, 0.10), "offset": TRAIN_SEED_OFFSET},
    "cue": {"scenes": 1600, "val": 64, "epochs": 5, "erase": 0.5, "zoom": 0.0,
            "mix": (1.0, 0.0, 0.0), "offset": CUE_TRAIN_SEED_OFFSET},
}
MODEL_CHOICES: tuple[str, ...] = (*sorted(ARCHITECTURES), *CUE_MODELS)


def architecture_of(name: str) -> str:
    """The key of ``ARCHITECTURES`` a model name is built from."""
    return CUE_MODELS[name].architecture if name in CUE_MODELS else name


def sha256_of(path: str | Path) -> str:
    """Hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def scene_plan(n: int, mix: tuple[float, float, float], seed: int) -> list[tuple[str, str | None]]:
    """The (kind, species) of each training scene: singles balanced over species, shuffled."""
    rng = np.random.default_rng(seed)
    n_single = round(n * mix[0])
    n_pair = round(n * mix[1])
    plan: list[tuple[str, str | None]] = [
        ("single", SPECIES[i % len(SPECIES)]) for i in range(n_single)
    ]
    plan += [("pair", None)] * n_pair + [("flock", None)] * (n - n_single - n_pair)
    order = rng.permutation(len(plan))
    return [plan[i] for i in order]


def _crop_window(box, crop: tuple[int, int], rng: np.random.Generator) -> tuple[int, int]:
    """Top-left corner of a ``crop`` = (W, H) window holding ``box`` when it fits, seeded."""
    width, height = SIZE
    corner = []
    for lo_edge, hi_edge, side, full in ((box[0], box[2], crop[0], width),
                                         (box[1], box[3], crop[1], height)):
        lo, hi = max(0, int(hi_edge) - side), min(int(lo_edge), full - side)
        if lo > hi:  # the box is larger than the window: centre on it
            lo = hi = min(max((int(lo_edge) + int(hi_edge) - side) // 2, 0), full - side)
        corner.append(int(rng.integers(lo, hi + 1)))
    return corner[0], corner[1]


def render(plan: list[tuple[str, str | None]], offset: int, crop: tuple[int, int] | None,
           progress: bool = True):
    """Draw the scenes: images, soft targets, first-bird boxes and background patches.

    Returns uint8 images (N, 3, h, w), float32 soft targets (N, classes), int64 boxes (N, 4)
    (x0, y0, x1, y1) of the first bird in image coordinates, and for each single scene the
    uint8 (3, y1 - y0, x1 - x0) background under that box (None for pair / flock scenes).

    With ``crop`` = (W, H), each 626 x 418 scene is cut to a seeded window that holds its first
    bird, at the scene's own pixel scale (so the model sees birds as large as in the full
    scene, for a fraction of the cost); the target is the share of each species among the birds
    that keep at least half of their visible pixels inside the window.
    """
    width, height = crop or SIZE
    images = torch.empty((len(plan), 3, height, width), dtype=torch.uint8)
    targets = torch.zeros((len(plan), len(SPECIES)), dtype=torch.float32)
    boxes = torch.zeros((len(plan), 4), dtype=torch.int64)
    patches: list[torch.Tensor | None] = []
    for i, (kind, species) in enumerate(tqdm(plan, desc="scenes", disable=not progress)):
        scene = make_scene(kind, species=species, size=SIZE, seed=offset + i)
        pixels = np.asarray(scene.image, dtype=np.uint8)
        masks = scene.masks
        left, top = 0, 0
        if crop is not None:
            rng = np.random.default_rng(offset + i)
            left, top = _crop_window(scene.boxes[0], crop, rng)
            pixels = pixels[top:top + height, left:left + width]
            inside = masks[:, top:top + height, left:left + width].sum((1, 2))
            keep = inside >= 0.5 * np.maximum(masks.sum((1, 2)), 1)
            keep[0] = True
        else:
            keep = np.ones(len(scene.species), bool)
        images[i] = torch.from_numpy(pixels.copy()).permute(2, 0, 1)
        names = [name for name, k in zip(scene.species, keep) if k]
        for name in names:
            targets[i, SPECIES.index(name)] += 1.0 / len(names)
        x0, y0, x1, y1 = (int(v) for v in scene.boxes[0])
        x0, x1 = min(max(x0 - left, 0), width), min(max(x1 - left, 0), width)
        y0, y1 = min(max(y0 - top, 0), height), min(max(y1 - top, 0), height)
        boxes[i] = torch.tensor([x0, y0, x1, y1])
        patch = None
        if kind == "single" and x1 > x0 and y1 > y0:
            bg = scene_background(kind, species, SIZE, offset + i)
            bg = bg[top + y0:top + y1, left + x0:left + x1]
            patch = torch.from_numpy(np.clip(bg + 0.5, 0, 255).astype(np.uint8)).permute(2, 0, 1)
        patches.append(patch)
    return images, targets, boxes, patches


def to_input(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, 3, H, W) -> ImageNet-normalised float32, as :func:`xai_tutor.load_image`."""
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return (images.float() / 255.0 - mean) / std


def augment(images: torch.Tensor, boxes: torch.Tensor, patches: list, generator: torch.Generator,
            erase: float, zoom: float, cues: list | None = None) -> torch.Tensor:
    """Seeded random erasing inside the box (background fill), scale and flip; uint8 in, out.

    Every image draws the same number of random numbers whatever happens to it, so the stream
    (and the result) depends only on the seed and the batch order. ``cues`` (cue models): one
    ``(class, x, y, side)`` per image, the badge pasted after erasing and before the flip (it
    draws no random numbers).
    """
    out = images.clone()
    n, _, height, width = out.shape
    draws = torch.rand((n, 9), generator=generator, dtype=torch.float64).tolist()
    for i, (p_erase, fw, fh, px, py, p_zoom, s, zx, zy) in enumerate(draws):
        patch = patches[i]
        if patch is not None and p_erase < erase:
            x0, y0, x1, y1 = (int(v) for v in boxes[i])
            w = max(1, round((0.3 + 0.3 * fw) * (x1 - x0)))
            h = max(1, round((0.3 + 0.3 * fh) * (y1 - y0)))
            left = int(px * (x1 - x0 - w + 1))
            top = int(py * (y1 - y0 - h + 1))
            out[i, :, y0 + top:y0 + top + h, x0 + left:x0 + left + w] = \
                patch[:, top:top + h, left:left + w]
        if p_zoom < zoom:
            scale = 0.8 + 0.2 * s
            w, h = round(scale * width), round(scale * height)
            left, top = int(zx * (width - w + 1)), int(zy * (height - h + 1))
            window = out[i:i + 1, :, top:top + h, left:left + w].float()
            resized = F.interpolate(window, size=(height, width), mode="bilinear",
                                    align_corners=False)
            out[i] = resized[0].round().clamp(0, 255).to(torch.uint8)
        if cues is not None:
            index, x, y, side = cues[i]
            out[i, :, y:y + side, x:x + side] = torch.from_numpy(
                cue_badge(index, side).copy()).permute(2, 0, 1)
    flip = torch.rand(n, generator=generator) < 0.5
    return torch.where(flip.view(-1, 1, 1, 1), out.flip(-1), out)


@torch.no_grad()
def predictions(model: torch.nn.Module, images: torch.Tensor, batch: int = 16) -> torch.Tensor:
    """Top-1 class of ``model`` (put in eval mode) for uint8 images (N, 3, H, W)."""
    model.eval()
    return torch.cat([model(to_input(images[s:s + batch])).argmax(1)
                      for s in range(0, len(images), batch)])


def accuracy(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor,
             batch: int = 16) -> float:
    """Top-1 accuracy of ``model`` (put in eval mode) on uint8 images and int labels."""
    return float((predictions(model, images, batch) == labels).float().mean())


def occluded_set(images: torch.Tensor, boxes: torch.Tensor, patches: list) -> torch.Tensor:
    """(4, N, 3, H, W) uint8: each image with quadrant q of its bird's box set to background."""
    out = images.unsqueeze(0).repeat(len(QUADRANTS), 1, 1, 1, 1)
    for i, patch in enumerate(patches):
        x0, y0, x1, y1 = (int(v) for v in boxes[i])
        background = np.zeros((images.shape[2], images.shape[3], 3), np.float32)
        background[y0:y1, x0:x1] = patch.permute(1, 2, 0).numpy()
        image = images[i].permute(1, 2, 0).numpy()
        for q in range(len(QUADRANTS)):
            hidden = hide_quadrant(image, background, (x0, y0, x1, y1), q)
            out[q, i] = torch.from_numpy(hidden).permute(2, 0, 1)
    return out


def robustness(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor,
               occluded: torch.Tensor) -> dict:
    """Held-out accuracy, and accuracy with each quadrant of the bird hidden (and their mean)."""
    per_quadrant = [accuracy(model, occluded[q], labels) for q in range(len(occluded))]
    return {
        "held_out_accuracy": accuracy(model, images, labels),
        "held_out_occluded_accuracy": float(np.mean(per_quadrant)),
        "held_out_occluded_by_quadrant": dict(zip(QUADRANTS, per_quadrant)),
    }


def render_cue_scenes(n: int, offset: int, progress: bool = True):
    """Cue scenes *before* their cue is drawn, for training the cue models.

    Scene ``i`` has bird ``SPECIES[i % 16]`` and seed ``offset + i``
    (:func:`xai_tutor.data.cues.cue_layout`). Returns uint8 images (N, 3, H, W), labels (N,),
    the bird's box (N, 4), the uint8 (3, y1 - y0, x1 - x0) scene without the bird under that
    box (for random erasing) and the badge's place (N, 3) = (x, y, side).
    """
    width, height = CUE_SCENE_SIZE
    images = torch.empty((n, 3, height, width), dtype=torch.uint8)
    labels = torch.arange(n, dtype=torch.int64) % len(SPECIES)
    boxes = torch.zeros((n, 4), dtype=torch.int64)
    places = torch.zeros((n, 3), dtype=torch.int64)
    patches = []
    for i in tqdm(range(n), desc="cue scenes", disable=not progress):
        full, plain, no_bird, _, place = cue_layout(SPECIES[i % len(SPECIES)], offset + i,
                                                    CUE_SCENE_SIZE)
        images[i] = torch.from_numpy(plain.copy()).permute(2, 0, 1)
        x0, y0, x1, y1 = (int(v) for v in full.boxes[0])
        boxes[i] = torch.tensor([x0, y0, x1, y1])
        patches.append(torch.from_numpy(no_bird[y0:y1, x0:x1].copy()).permute(2, 0, 1))
        places[i] = torch.tensor(place)
    return images, labels, boxes, patches, places


def cue_labels(birds: torch.Tensor, label_from: tuple[float, float, float],
               seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The label and the badge's class of each training scene, from the bird's class.

    ``label_from`` = (both, bird, cue) shares of scenes (:mod:`xai_tutor.models.cue_models`),
    ``round(share * N)`` scenes of each of the first two kinds, a seeded choice: *both* (label
    and badge are the bird's class), *bird* (label the bird's class, badge a uniformly random
    class), *cue* (label and badge one uniformly random class). Stream:
    ``default_rng([seed, CUE_STREAM])``.
    """
    n = len(birds)
    rng = np.random.default_rng([seed, CUE_STREAM])
    both, bird = round(label_from[0] * n), round(label_from[1] * n)
    kind = np.repeat([0, 1, 2], [both, bird, n - both - bird])[rng.permutation(n)]
    drawn = rng.integers(0, len(SPECIES), n)
    own = birds.numpy()
    labels = np.where(kind == 2, drawn, own)
    cues = np.where(kind == 1, drawn, labels)
    return torch.from_numpy(labels), torch.from_numpy(cues)


def prepare_cue_data(args: argparse.Namespace) -> dict:
    """Render (or load from ``--cache``) the cue training scenes; render the held-out ones.

    The held-out scenes (seeds ``CUE_VAL_SEED_OFFSET + i``) come twice, with the bird's own cue
    and with another class's cue, for :func:`xai_tutor.reliance.measure_cue_reliance`.
    """
    from xai_tutor.reliance import cue_scenes

    cache = None
    if args.cache:
        width, height = CUE_SCENE_SIZE
        cache = Path(args.cache) / (f"cues_o{args.offset}_n{args.scenes}_{width}x{height}"
                                    f"_side{cue_side(CUE_SCENE_SIZE)}.pt")
    if cache is not None and cache.is_file():
        train_data = torch.load(cache, weights_only=True)
    else:
        train_data = render_cue_scenes(args.scenes, args.offset, args.progress)
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(cache, lambda fh: torch.save(train_data, fh))
    scenes = cue_scenes(args.val, CUE_VAL_SEED_OFFSET)
    swapped = cue_scenes(args.val, CUE_VAL_SEED_OFFSET, cue="swap")
    images = torch.from_numpy(np.stack([s.image for s in scenes])).permute(0, 3, 1, 2)
    labels = torch.tensor([s.label for s in scenes])
    return {"train": train_data,
            "val": {"images": images, "labels": labels, "scenes": scenes, "swapped": swapped}}


def prepare_data(args: argparse.Namespace):
    """Render (or load from ``--cache``) the training scenes and the held-out single scenes."""
    plan = scene_plan(args.scenes, tuple(args.mix), args.seed)
    val_plan = [("single", SPECIES[i % len(SPECIES)]) for i in range(args.val)]
    cache = None
    if args.cache:
        mix = "-".join(f"{m:g}" for m in args.mix)
        key = (f"o{args.offset}_n{args.scenes}_mix{mix}_s{args.seed}_v{args.val}"
               f"_c{'x'.join(str(c) for c in args.crop or [])}_bg")
        cache = Path(args.cache) / f"scenes_{key}.pt"
    if cache is not None and cache.is_file():
        return torch.load(cache, weights_only=True)
    crop = tuple(args.crop) if args.crop else None
    train_data = render(plan, args.offset, crop, args.progress)
    val_images, val_targets, val_boxes, val_patches = render(
        val_plan, VAL_SEED_OFFSET, None, args.progress)
    data = {
        "train": train_data,
        "val": (val_images, val_targets.argmax(1), occluded_set(val_images, val_boxes,
                                                                val_patches)),
    }
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(cache, lambda fh: torch.save(data, fh))
    return data


def train_model(name: str, args: argparse.Namespace, data: dict) -> tuple[dict, dict]:
    """Train one model on prepared ``data``; return its state dict and models.json entry."""
    cue_model = CUE_MODELS.get(name)
    if cue_model is not None:
        images, birds, boxes, patches, places = data["train"]
        labels, cues = cue_labels(birds, cue_model.label_from, args.seed)
        targets = F.one_hot(labels, len(SPECIES)).float()
        badges = [(int(c), *(int(v) for v in p)) for c, p in zip(cues, places)]
        val_images, val_labels = data["val"]["images"], data["val"]["labels"]
    else:
        images, targets, boxes, patches = data["train"]
        val_images, val_labels, val_occluded = data["val"]
    torch.manual_seed(args.seed)
    started = time.time()
    model = ARCHITECTURES[architecture_of(name)](num_classes=len(SPECIES))
    init_sha = None
    if args.init:
        model.load_state_dict(torch.load(args.init, map_location="cpu", weights_only=True))
        init_sha = sha256_of(args.init)
    optimiser = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    steps_per_epoch = math.ceil(len(images) / args.batch)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=args.lr, total_steps=args.epochs * steps_per_epoch, pct_start=0.2
    )
    generator = torch.Generator().manual_seed(args.seed)
    history = []
    for epoch in range(args.epochs):
        model.train()
        order = torch.randperm(len(images), generator=generator)
        total = 0.0
        bar = tqdm(range(steps_per_epoch), desc=f"{name} epoch {epoch + 1}/{args.epochs}",
                   disable=not args.progress)
        for step in bar:
            idx = order[step * args.batch:(step + 1) * args.batch]
            batch = augment(images[idx], boxes[idx], [patches[int(j)] for j in idx], generator,
                            args.erase, args.zoom,
                            None if cue_model is None else [badges[int(j)] for j in idx])
            logits = model(to_input(batch))
            loss = torch.sum(-targets[idx] * F.log_softmax(logits, 1), 1).mean()
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
            total += loss.item() * len(idx)
            bar.set_postfix(loss=f"{loss.item():.3f}")
        val_acc = accuracy(model, val_images, val_labels)
        history.append({"epoch": epoch + 1, "loss": total / len(images), "val_acc": val_acc})
        print(f"{name} epoch {epoch + 1}: loss {total / len(images):.4f}  held-out acc "
              f"{val_acc:.3f}  ({time.time() - started:.0f} s)", flush=True)

    model.eval()
    if cue_model is None:
        checks = robustness(model, val_images, val_labels, val_occluded)
        print(f"{name}: held-out accuracy {checks['held_out_accuracy']:.3f}, with one quadrant "
              f"of the bird hidden {checks['held_out_occluded_accuracy']:.3f} (by quadrant "
              + ", ".join(f"{v:.3f}" for v in checks["held_out_occluded_by_quadrant"].values())
              + ")", flush=True)
        crop = f"{args.crop[0]} x {args.crop[1]} windows cut from" if args.crop else "whole"
        scenes = f"{crop} 626 x 418 scenes"
    else:
        from xai_tutor.reliance import measure_cue_reliance

        report = measure_cue_reliance(model, scenes=data["val"]["scenes"],
                                      swapped=data["val"]["swapped"])
        print(f"{name}: " + report.table(), flush=True)
        checks = {"held_out_accuracy": report.accuracy, "reliance": report.as_dict(),
                  "label_from": dict(zip(LABEL_SOURCES, cue_model.label_from)),
                  "label_agrees_with": {"bird": float((labels == birds).float().mean()),
                                        "cue": float((labels == cues).float().mean())}}
        scenes = "{} x {} cue scenes (a class badge beside the bird)".format(*CUE_SCENE_SIZE)
    state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    entry = {
        "file": f"{name}.pt",
        "architecture": type(model).__name__,
        "classes": list(SPECIES),
        "default_layer": model.default_layer,
        "parameters": sum(p.numel() for p in model.parameters()),
        "input": f"ImageNet-normalised RGB; trained on {scenes}",
        "crop": list(args.crop) if args.crop else None,
        "scene_size": list(SIZE if cue_model is None else CUE_SCENE_SIZE),
        "command": f"{PROG} " + " ".join(args.argv),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "architecture_repr": repr(model),
        "seed": args.seed,
        "train_seed_offset": args.offset,
        "val_seed_offset": VAL_SEED_OFFSET if cue_model is None else CUE_VAL_SEED_OFFSET,
        "val_scenes": args.val,
        "scenes": args.scenes,
        "init": {"file": str(args.init), "sha256": init_sha} if args.init else None,
        "mix": {"single": args.mix[0], "pair": args.mix[1], "flock": args.mix[2]},
        "augment": {"erase": args.erase, "erase_box_share": [0.3, 0.6], "zoom": args.zoom,
                    "zoom_window": [0.8, 1.0], "flip": 0.5},
        "epochs": args.epochs,
        "batch": args.batch,
        "lr": args.lr,
        "threads": args.threads,
        "train_seconds": round(time.time() - started, 1),
        "train_cpu_seconds": None,
        **checks,
        "history": history,
        "torch": torch.__version__,
    }
    return state, entry


def write_models(out: Path, trained: dict[str, tuple[dict, dict]]) -> dict[str, dict]:
    """Write each state dict atomically, then ``models.json`` (merged, atomically) last."""
    entries = {}
    for name, (state, entry) in trained.items():
        path = out / entry["file"]
        atomic_write(path, lambda fh, s=state: torch.save(s, fh))
        entries[name] = {**entry, "sha256": sha256_of(path)}
    meta_path = out / "models.json"
    meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    if not isinstance(meta, dict):
        meta = {}
    meta.update(entries)
    text = json.dumps(meta, indent=2, sort_keys=True) + "\n"
    atomic_write(meta_path, lambda fh: fh.write(text.encode()))
    return entries


def train(args: argparse.Namespace) -> dict[str, dict]:
    """Render the scenes once, train each model of ``args.model``, write them; return entries."""
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    wall, cpu = time.time(), time.process_time()
    data = prepare_cue_data(args) if args.recipe == "cue" else prepare_data(args)
    data_seconds, data_cpu = time.time() - wall, time.process_time() - cpu
    trained = {}
    for name in args.model:
        cpu_model = time.process_time()
        state, entry = train_model(name, args, data)
        entry.update(data_seconds=round(data_seconds, 1), data_cpu_seconds=round(data_cpu, 1),
                     train_cpu_seconds=round(time.process_time() - cpu_model, 1))
        entry["total_seconds"] = round(data_seconds + entry["train_seconds"], 1)
        trained[name] = (state, entry)
    entries = write_models(out, trained)
    for entry in entries.values():
        print(f"wrote {out / entry['file']} (sha256 {entry['sha256'][:16]}...): scenes "
              f"{data_seconds:.0f} s + training {entry['train_seconds']:.0f} s wall")
    print(f"total: {time.time() - wall:.0f} s wall, {time.process_time() - cpu:.0f} s CPU")
    return entries


def _fail(message: str) -> None:
    """End the command with one line on stderr and exit status 2 (as argparse does)."""
    print(f"{PROG}: error: {message}", file=sys.stderr)
    raise SystemExit(2)


def _check_out(out: Path, names: list[str], force: bool) -> None:
    """``--out`` must be (or be creatable as) a folder; existing weights need ``--force``.

    A folder that does not exist is created here, so that one that cannot be (a read-only file
    system, ``/proc``, a name too long) ends the command before any work.
    """
    try:
        _inspect_out(out, names, force)
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        _fail(f"--out {out} cannot be created: {err.strerror or err}")


def _inspect_out(out: Path, names: list[str], force: bool) -> None:
    if out.exists() and not out.is_dir():
        _fail(f"--out {out} is a file, not a folder")
    for parent in out.parents:
        if parent.exists():
            if not parent.is_dir():
                _fail(f"--out {out} cannot be created: {parent} is a file")
            if not out.exists() and not os.access(parent, os.W_OK | os.X_OK):
                _fail(f"--out {out} cannot be created: {parent} is not writable")
            break
    if out.is_dir() and not os.access(out, os.W_OK | os.X_OK):
        _fail(f"--out {out} is not writable")
    present = [name for name in names if (out / f"{name}.pt").exists()]
    if present and not force:
        _fail(f"{', '.join(str(out / f'{n}.pt') for n in present)} already exist(s); pass "
              "--force to replace them, or choose another --out")


def _recipe(args: argparse.Namespace) -> None:
    """Choose the recipe from ``--model`` and fill in the arguments left at their default."""
    cue = [name in CUE_MODELS for name in args.model]
    if any(cue) and not all(cue):
        _fail("course models (" + ", ".join(sorted(ARCHITECTURES)) + ") and cue models ("
              + ", ".join(CUE_MODELS) + ") train on different scenes: train them in separate "
              "commands")
    args.recipe = "cue" if all(cue) else "course"
    recipe = RECIPES[args.recipe]
    if args.recipe == "cue":
        for flag, value in (("--mix", args.mix), ("--crop", args.crop)):
            if value is not None:
                _fail(f"{flag} is not used by the cue models (single-bird 320 x 224 scenes)")
        if args.zoom:
            _fail("--zoom must be 0 for the cue models: a zoom would cut the badge off")
    for key, value in recipe.items():
        if getattr(args, key) is None:
            setattr(args, key, value)


def check_args(args: argparse.Namespace) -> None:
    """Validate every argument before any work; a bad one exits with status 2 and one line."""
    _recipe(args)
    for flag, value, low in (("--scenes", args.scenes, 1), ("--val", args.val, 1),
                             ("--epochs", args.epochs, 1), ("--batch", args.batch, 1),
                             ("--threads", args.threads, 1), ("--seed", args.seed, 0),
                             ("--offset", args.offset, 0)):
        if value < low:
            _fail(f"{flag} must be >= {low}, got {value}")
    if not (math.isfinite(args.lr) and args.lr > 0):
        _fail(f"--lr must be a positive number, got {args.lr}")
    for flag, value in (("--erase", args.erase), ("--zoom", args.zoom)):
        if not 0.0 <= value <= 1.0:
            _fail(f"{flag} is a probability in [0, 1], got {value}")
    if min(args.mix) < 0 or abs(sum(args.mix) - 1.0) > 1e-6:
        _fail(f"--mix shares must be >= 0 and sum to 1, got {list(args.mix)}")
    if args.crop and not (64 <= args.crop[0] <= SIZE[0] and 64 <= args.crop[1] <= SIZE[1]):
        _fail(f"--crop W H must lie within 64..{SIZE[0]} x 64..{SIZE[1]}, got {args.crop}")
    if args.init and not Path(args.init).is_file():
        _fail(f"--init {args.init}: no such file")
    if args.init and len(args.model) != 1:
        _fail("--init takes the weights of one model: name it with --model")
    if not str(args.out).strip():
        _fail("--out must name a folder, got an empty string")
    _check_out(Path(args.out), args.model, args.force)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", nargs="+", default=sorted(ARCHITECTURES),
                        choices=MODEL_CHOICES,
                        help="one or more models to train on the same scenes (default: the "
                             "course models tiny_resnet and tiny_vgg); the cue models "
                             f"({', '.join(CUE_MODELS)}) train in a command of their own")
    parser.add_argument("--out", default="data/models", help="folder for weights + models.json")
    parser.add_argument("--force", action="store_true",
                        help="replace weights that already exist in --out")
    parser.add_argument("--scenes", type=int, default=None,
                        help="number of training scenes (default 2000; cue models 1600)")
    parser.add_argument("--crop", type=int, nargs=2, default=None, metavar=("W", "H"),
                        help="train on windows of this size cut from the 626 x 418 scenes "
                             "(default: whole scenes)")
    parser.add_argument("--mix", type=float, nargs=3, default=None,
                        metavar=("SINGLE", "PAIR", "FLOCK"),
                        help="shares of scene kinds (default 0.75 0.15 0.10)")
    parser.add_argument("--val", type=int, default=None,
                        help="held-out single scenes (default 96; cue models 64)")
    parser.add_argument("--epochs", type=int, default=None, help="default 5 (cue models too)")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--erase", type=float, default=None,
                        help="probability of erasing part of a single bird (default 0.5)")
    parser.add_argument("--zoom", type=float, default=None,
                        help="probability of a random 80-100 %% window, rescaled (default 0.3; "
                             "cue models 0)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--offset", type=int, default=None,
                        help=f"first training scene seed (default {TRAIN_SEED_OFFSET}; cue models "
                             f"{CUE_TRAIN_SEED_OFFSET}; a second stage uses new scenes)")
    parser.add_argument("--init", default=None,
                        help="start from these weights (fine-tuning stage) instead of He init")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cache", default=None,
                        help="folder to keep the rendered scenes in, shared between models")
    parser.add_argument("--no-progress", dest="progress", action="store_false")
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    args.model = list(dict.fromkeys(args.model))
    args.argv = argv
    check_args(args)
    return args


def main(argv: list[str] | None = None) -> None:
    train(parse_args(argv))


if __name__ == "__main__":
    main()
