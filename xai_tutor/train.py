"""Reproducible training of the course's own bird classifiers (``tiny_vgg``, ``tiny_resnet``).

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

Optimisation
    AdamW (lr ``--lr`` = 2e-3, weight decay 1e-4), batch ``--batch`` = 16, one-cycle learning
    rate over ``--epochs`` = 10 epochs, random horizontal flips, seeded (``--seed``) shuffling and
    initialisation, 2 CPU threads. The scenes are rendered once and shared by the models named
    in ``--model`` (default: both).

Output
    ``<out>/<model>.pt`` (float32 state dict) and an entry in ``<out>/models.json`` with the
    file's SHA-256 (checked by :func:`xai_tutor.models.load_model`), the species order, the
    architecture, the command line, the training time and the held-out accuracy measured on
    ``--val`` fresh single-bird scenes (seeds ``VAL_SEED_OFFSET + i``).

Cost (2 CPU threads, quiet machine): rendering the 2,096 scenes takes about a minute, each model
about 4 minutes (10 epochs over 2,000 whole scenes): under 10 minutes for both.

Example (the committed weights were made with exactly this command, the defaults)::

    python -m xai_tutor.train --out data/models --no-progress

``--model tiny_vgg`` trains one of them; ``--crop W H`` trains on windows cut from the scenes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from xai_tutor.data import IMAGENET_MEAN, IMAGENET_STD, SPECIES, make_scene
from xai_tutor.models.tiny import ARCHITECTURES

TRAIN_SEED_OFFSET = 1_000_000
VAL_SEED_OFFSET = 500_000
SIZE = (626, 418)


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
    """Draw the scenes: uint8 images (N, 3, h, w) and soft targets (N, classes) float32.

    With ``crop`` = (W, H), each 626 x 418 scene is cut to a seeded window that holds its first
    bird, at the scene's own pixel scale (so the model sees birds as large as in the full
    scene, for a fraction of the cost); the target is the share of each species among the birds
    that keep at least half of their visible pixels inside the window.
    """
    width, height = crop or SIZE
    images = torch.empty((len(plan), 3, height, width), dtype=torch.uint8)
    targets = torch.zeros((len(plan), len(SPECIES)), dtype=torch.float32)
    for i, (kind, species) in enumerate(tqdm(plan, desc="scenes", disable=not progress)):
        scene = make_scene(kind, species=species, size=SIZE, seed=offset + i)
        pixels = np.asarray(scene.image, dtype=np.uint8)
        masks = scene.masks
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
    return images, targets


def to_input(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, 3, H, W) -> ImageNet-normalised float32, as :func:`xai_tutor.load_image`."""
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return (images.float() / 255.0 - mean) / std


@torch.no_grad()
def accuracy(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor,
             batch: int = 16) -> float:
    """Top-1 accuracy of ``model`` (put in eval mode) on uint8 images and int labels."""
    model.eval()
    correct = 0
    for start in range(0, len(images), batch):
        logits = model(to_input(images[start:start + batch]))
        correct += int((logits.argmax(1) == labels[start:start + batch]).sum())
    return correct / len(images)


def prepare_data(args: argparse.Namespace):
    """Render (or load from ``--cache``) the training scenes and the held-out single scenes."""
    plan = scene_plan(args.scenes, tuple(args.mix), args.seed)
    val_plan = [("single", SPECIES[i % len(SPECIES)]) for i in range(args.val)]
    cache = None
    if args.cache:
        mix = "-".join(f"{m:g}" for m in args.mix)
        key = (f"o{args.offset}_n{args.scenes}_mix{mix}_s{args.seed}_v{args.val}"
               f"_c{'x'.join(str(c) for c in args.crop or [])}")
        cache = Path(args.cache) / f"scenes_{key}.pt"
    if cache is not None and cache.is_file():
        images, targets, val_images, val_targets = torch.load(cache, weights_only=True)
    else:
        crop = tuple(args.crop) if args.crop else None
        images, targets = render(plan, args.offset, crop, args.progress)
        val_images, val_targets = render(val_plan, VAL_SEED_OFFSET, None, args.progress)
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            torch.save((images, targets, val_images, val_targets), cache)
    return images, targets, val_images, val_targets.argmax(1)


def train_model(name: str, args: argparse.Namespace, data, data_seconds: float) -> dict:
    """Train one architecture on prepared ``data``; write its weights and models.json entry."""
    images, targets, val_images, val_labels = data
    torch.manual_seed(args.seed)
    started = time.time()
    out = Path(args.out)
    model = ARCHITECTURES[name](num_classes=len(SPECIES))
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
            batch = images[idx]
            flip = torch.rand(len(idx), generator=generator) < 0.5
            batch = torch.where(flip.view(-1, 1, 1, 1), batch.flip(-1), batch)
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
    path = out / f"{name}.pt"
    state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    torch.save(state, path)
    train_seconds = time.time() - started
    crop = f"{args.crop[0]} x {args.crop[1]} windows cut from" if args.crop else "whole"
    entry = {
        "file": path.name,
        "sha256": sha256_of(path),
        "architecture": type(model).__name__,
        "classes": list(SPECIES),
        "default_layer": model.default_layer,
        "parameters": sum(p.numel() for p in model.parameters()),
        "input": f"ImageNet-normalised RGB; trained on {crop} 626 x 418 scenes",
        "crop": list(args.crop) if args.crop else None,
        "command": "python -m xai_tutor.train " + " ".join(args.argv),
        "architecture_repr": repr(model),
        "train_seed_offset": args.offset,
        "val_seed_offset": VAL_SEED_OFFSET,
        "scenes": args.scenes,
        "init": {"file": str(args.init), "sha256": init_sha} if args.init else None,
        "mix": {"single": args.mix[0], "pair": args.mix[1], "flock": args.mix[2]},
        "epochs": args.epochs,
        "batch": args.batch,
        "lr": args.lr,
        "threads": args.threads,
        "data_seconds": round(data_seconds, 1),
        "train_seconds": round(train_seconds, 1),
        "total_seconds": round(data_seconds + train_seconds, 1),
        "held_out_accuracy": history[-1]["val_acc"],
        "history": history,
        "torch": torch.__version__,
    }
    meta_path = out / "models.json"
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    meta[name] = entry
    meta_path.write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    print(f"wrote {path} (sha256 {entry['sha256'][:16]}...): scenes {data_seconds:.0f} s + "
          f"training {train_seconds:.0f} s")
    return entry


def train(args: argparse.Namespace) -> dict[str, dict]:
    """Render the scenes once, then train each model of ``args.model``; return their entries."""
    torch.set_num_threads(args.threads)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    started = time.time()
    data = prepare_data(args)
    data_seconds = time.time() - started
    return {name: train_model(name, args, data, data_seconds) for name in args.model}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m xai_tutor.train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", nargs="+", default=sorted(ARCHITECTURES),
                        choices=sorted(ARCHITECTURES),
                        help="one or more models to train on the same scenes (default: all)")
    parser.add_argument("--out", default="data/models", help="folder for weights + models.json")
    parser.add_argument("--scenes", type=int, default=2000, help="number of training scenes")
    parser.add_argument("--crop", type=int, nargs=2, default=None, metavar=("W", "H"),
                        help="train on windows of this size cut from the 626 x 418 scenes "
                             "(default: whole scenes)")
    parser.add_argument("--mix", type=float, nargs=3, default=(0.75, 0.15, 0.10),
                        metavar=("SINGLE", "PAIR", "FLOCK"), help="shares of scene kinds")
    parser.add_argument("--val", type=int, default=96, help="held-out single scenes")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--offset", type=int, default=TRAIN_SEED_OFFSET,
                        help="first training scene seed (a second stage uses new scenes)")
    parser.add_argument("--init", default=None,
                        help="start from these weights (fine-tuning stage) instead of He init")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cache", default=None,
                        help="folder to keep the rendered scenes in, shared between models")
    parser.add_argument("--no-progress", dest="progress", action="store_false")
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    if abs(sum(args.mix) - 1.0) > 1e-6 or min(args.mix) < 0:
        parser.error(f"--mix shares must be >= 0 and sum to 1, got {args.mix}")
    args.argv = argv
    return args


def main(argv: list[str] | None = None) -> None:
    train(parse_args(argv))


if __name__ == "__main__":
    main()
