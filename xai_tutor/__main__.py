"""The command line: ``xai-tutor experiment ...`` or ``python -m xai_tutor experiment ...``.

Example::

    xai-tutor experiment --models tiny_vgg --methods gradcam lrp --samples 2 --out results
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``xai-tutor`` command."""
    from .evaluation import METRICS
    from .experiment import DEFAULT_KINDS, DEFAULT_SAMPLES, PRESETS

    parser = argparse.ArgumentParser(
        prog="xai-tutor",
        description="Post-hoc, model-specific explanations of CNN image classifiers.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    exp = sub.add_parser(
        "experiment",
        help="run the paper's experiment (Figure 5 grids, metrics, claims) and write the files",
        description="Run every method on every scene and model; write a Figure-5 grid per "
        "model, metrics tables (CSV and Markdown), timing, a sanity check and a claims table.",
    )
    exp.add_argument("--models", nargs="+", default=None,
                     help="model names (default: the course models)")
    exp.add_argument("--methods", nargs="+", default=None,
                     help="method names (default: every registered method)")
    scored = [name for name, info in METRICS.items()
              if info.score is not None and "truth" not in info.needs]
    exp.add_argument("--metrics", nargs="+", default=None, choices=scored, metavar="METRIC",
                     help=f"metrics to compute (default: all of {', '.join(scored)}); run "
                     "time and memory are always measured")
    exp.add_argument("--scenes", nargs="+", default=None,
                     choices=list(DEFAULT_KINDS), help="scene kinds (default: all three)")
    exp.add_argument("--preset", choices=list(PRESETS), default="default",
                     help="quick: the canonical scenes only, at half size (313 x 209), no "
                     "deletion/insertion curves, no sanity check, --max-seconds 20 and no "
                     "Score-CAM unless named in --methods "
                     "(meant to finish within 10 minutes on 2 cores for the ImageNet models); "
                     "options given on the command line win over the preset")
    exp.add_argument("--estimate-only", action="store_true",
                     help="print the expected run time (from a short probe) and stop")
    exp.add_argument("--samples", type=int, default=None,
                     help=f"generated scenes per kind besides the canonical one "
                     f"(default {DEFAULT_SAMPLES}; quick preset: 0)")
    exp.add_argument("--out", default="results",
                     help="output folder (default: results); the run is written into a "
                     "temporary folder beside it and moved into place only when complete")
    exp.add_argument("--force", action="store_true",
                     help="replace an output folder that already holds files (the old one is "
                     "deleted only after the new run is in place)")
    exp.add_argument("--size", nargs=2, type=int, default=None, metavar=("W", "H"),
                     help="scene size (default 626 418, as in the paper; quick preset: 313 209)")
    exp.add_argument("--steps", type=int, default=None,
                     help="steps of the deletion/insertion curves (default 4)")
    exp.add_argument("--curves", choices=["canonical", "all", "none"], default=None,
                     help="scenes that get the metrics that run the model (deletion, insertion, "
                     "ROAD) or recompute the map (sensitivity, Random Logit, eMPRT) (default: "
                     "canonical; quick preset: none)")
    exp.add_argument("--expensive", choices=["canonical", "all"], default=None,
                     help="scenes for Score-CAM / Ablation-CAM (default: canonical only)")
    exp.add_argument("--max-seconds", type=float, default=None,
                     help="a method slower than this on one scene runs on no further scenes of "
                     "that model (default 60; quick preset: 20)")
    exp.add_argument("--batch-size", type=int, default=None,
                     help="batch size of Score-CAM, Ablation-CAM and the SmoothGrad family "
                     "(default: each method's own)")
    exp.add_argument("--recompute-seconds", type=float, default=None,
                     help="the metrics that recompute the map run only for methods that take "
                     "at most this per call (default 0.5)")
    exp.add_argument("--seed", type=int, default=None,
                     help="base seed of the generated scenes and of the metrics' draws "
                     "(default 0)")
    exp.add_argument("--trust-scenes", type=int, default=None,
                     help="scenes per model of the trust section (every method on the models "
                     "whose reliance is known; trust.md, trust.csv, metric_trust.csv); 0 "
                     "skips it (default 16; quick preset: 4)")
    exp.add_argument("--no-sanity", action="store_true",
                     help="skip the model-randomisation sanity check")
    exp.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    _add_grade(sub)
    return parser


def _add_grade(sub: argparse._SubParsersAction) -> None:
    grade = sub.add_parser(
        "grade", help="run learners' submitted notebooks and write a table of every check's result",
        description="Run each submitted notebook (the student edition with the learner's answers) "
        "in a fresh kernel and temporary folder with a time limit; write grades.csv, grades.html "
        "and the executed notebooks. Bad submissions are reported in the table, never run "
        "outside their temporary folder.")
    grade.add_argument("submissions", help="folder with a folder per learner (or a file per "
                       "learner) holding the notebooks")
    grade.add_argument("--out", default="grades", help="output folder (default: grades)")
    grade.add_argument("--timeout", type=int, default=600,
                       help="seconds one notebook may run, kernel start included (default 600)")
    grade.add_argument("--jobs", type=int, default=1,
                       help="notebooks run at the same time (default 1)")
    grade.add_argument("--force", action="store_true", help="replace an output folder that "
                       "already holds files (only once the new one is complete)")
    grade.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``xai-tutor`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "experiment":
        return _experiment(args)
    if args.command == "grade":
        return _grade(args)
    return 1  # pragma: no cover - argparse rejects other commands


def _fail(message: str) -> int:
    print(f"xai-tutor: error: {message}", file=sys.stderr)
    return 2


def _grade(args: argparse.Namespace) -> int:
    """``xai-tutor grade``: one line per problem with the arguments (exit 2); the table's path."""
    from .grading import grade_folder

    try:
        results = grade_folder(args.submissions, args.out, seconds=args.timeout, jobs=args.jobs,
                               force=args.force, progress=not args.no_progress)
    except (ValueError, FileNotFoundError, FileExistsError) as err:
        return _fail(str(err))
    except KeyboardInterrupt:
        print(f"\nxai-tutor: interrupted; {args.out} left as it was", file=sys.stderr)
        return 130
    bad = sum(r.status != "ran" for r in results)
    print(f"graded {len(results)} submissions ({bad} with a problem: see the status column): "
          f"{args.out}/grades.csv, {args.out}/grades.html")
    return 0


def _experiment(args: argparse.Namespace) -> int:
    """``xai-tutor experiment``: every argument checked before any work (exit 2, one line);
    the expected run time printed before the run; Ctrl-C: exit 130, one line."""
    try:
        return _run(args)
    except KeyboardInterrupt:
        print(f"\nxai-tutor: interrupted; {args.out} left as it was", file=sys.stderr)
        return 130


#: command-line options that set a field of Settings of the same name (``--no-sanity`` aside)
SETTINGS_OPTIONS = ("methods", "metrics", "samples", "size", "steps", "curves", "expensive",
                    "max_seconds", "recompute_seconds", "batch_size", "seed", "trust_scenes")


def settings_from(args: argparse.Namespace) -> Any:
    """The run's :class:`~xai_tutor.experiment.Settings`: the preset, with the fields given on
    the command line replaced (checked once, by Settings)."""
    from .experiment import PRESETS

    given = {name: getattr(args, name) for name in SETTINGS_OPTIONS
             if getattr(args, name) is not None}
    if args.scenes is not None:
        given["kinds"] = args.scenes
    if args.no_sanity:
        given["sanity"] = False
    return dataclasses.replace(PRESETS[args.preset], **given)


def _run(args: argparse.Namespace) -> int:
    from .experiment import check_out, run_experiment, spec
    from .experiment.estimate import estimate_run
    from .models import WeightsUnavailableError

    try:
        settings = settings_from(args)
        if not args.estimate_only:
            check_out(args.out, args.force)
    except (ValueError, FileExistsError) as err:
        return _fail(_as_option(str(err)))
    left_out = settings.left_out()
    try:
        models = spec.resolve_models(args.models)
    except (ValueError, TypeError, KeyError, WeightsUnavailableError) as err:
        return _fail(str(err))
    scene = spec.make_scenes(settings.kinds[:1], 0, settings.size, settings.seed)[0][1]
    estimate = estimate_run(models, settings, scene)
    print(estimate.table(), flush=True)
    if left_out:
        print(f"--preset {args.preset} leaves out {', '.join(left_out)}; name it in --methods "
              "to include it", flush=True)
    if args.estimate_only:
        return 0
    try:
        result = run_experiment(
            settings, models=models, out=args.out, force=args.force,
            progress=not args.no_progress,
            run_info={"preset": args.preset, "left_out": left_out,
                      "estimated_seconds": round(estimate.seconds, 1),
                      "probe_seconds": round(estimate.probe_seconds, 1)},
        )
    except (ValueError, TypeError, KeyError, FileExistsError, WeightsUnavailableError) as err:
        return _fail(str(err))
    print(f"wrote {len(result.files)} files to {args.out} in {result.seconds:.0f} s "
          f"(expected ~{estimate.seconds:.0f} s):")
    for path in result.files:
        print(f"  {path}")
    return 0


def _as_option(message: str) -> str:
    """``max_seconds must be ...`` -> ``--max-seconds must be ...`` (the name the user typed)."""
    head, _, rest = message.partition(" ")
    if head in SETTINGS_OPTIONS:
        return f"--{head.replace('_', '-')} {rest}"
    if head == "kinds":
        return f"--scenes {rest}"
    return message


if __name__ == "__main__":
    sys.exit(main())
