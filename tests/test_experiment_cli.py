"""``xai-tutor experiment``: arguments checked before any work, results published atomically.

A run is written into a temporary folder beside ``--out`` and renamed into place only when it is
complete; an existing results folder is replaced only with ``--force``; Ctrl-C (simulated by a
``KeyboardInterrupt`` raised in the middle of the run) leaves the previous results intact and
prints one line.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import xai_tutor.experiment as experiment
from xai_tutor.__main__ import main

from conftest import make_small

FAST = ["--methods", "gradcam", "--samples", "0", "--size", "80", "64", "--steps", "2",
        "--no-sanity", "--no-progress", "--scenes", "single", "--trust-scenes", "0"]


@pytest.fixture
def small_models(monkeypatch):
    """``--models`` resolves to one seeded small CNN (milliseconds per map)."""
    monkeypatch.setattr(experiment.spec, "resolve_models",
                        lambda models: {"svgg": make_small("vgg")})


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def leftovers(parent: Path, name: str) -> list[str]:
    return [p.name for p in parent.iterdir() if p.name.startswith(f".{name}.")]


@pytest.fixture
def previous(tmp_path, small_models, capsys):
    """A results folder holding a complete earlier run."""
    out = tmp_path / "res"
    assert main(["experiment", "--out", str(out)] + FAST) == 0
    capsys.readouterr()
    return out


def fail_if_called(*args, **kwargs):
    raise AssertionError("the run started although its arguments are bad")


def test_existing_results_are_refused_without_force(previous, monkeypatch, capsys):
    before = snapshot(previous)
    monkeypatch.setattr(experiment, "run_experiment", fail_if_called)
    assert main(["experiment", "--out", str(previous)] + FAST) == 2
    err = capsys.readouterr().err
    assert "--force" in err and len(err.strip().splitlines()) == 1
    assert snapshot(previous) == before


def test_force_replaces_the_folder_as_a_whole(previous, capsys):
    (previous / "stale.txt").write_text("from an older run")
    assert main(["experiment", "--out", str(previous), "--force"] + FAST) == 0
    names = {p.name for p in previous.iterdir()}
    assert "stale.txt" not in names and {"run.json", "scores.csv", "grid_svgg.png"} <= names
    assert leftovers(previous.parent, previous.name) == []


def test_an_empty_existing_folder_is_used(tmp_path, small_models):
    out = tmp_path / "empty"
    out.mkdir()
    assert main(["experiment", "--out", str(out)] + FAST) == 0
    assert (out / "run.json").is_file()


@pytest.mark.parametrize("where", ["maps", "writing"])
def test_ctrl_c_leaves_the_previous_results_intact(previous, monkeypatch, capsys, where):
    before = snapshot(previous)
    if where == "maps":  # while computing the maps
        target, name = experiment.run, "score_map"
    else:  # after the tables were written, while drawing the figures
        target, name = experiment.report, "figures"

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(target, name, interrupt)
    assert main(["experiment", "--out", str(previous), "--force"] + FAST) == 130
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "interrupted" in lines[0] and str(previous) in lines[0]
    assert snapshot(previous) == before
    assert leftovers(previous.parent, previous.name) == []


def test_ctrl_c_on_a_new_folder_leaves_nothing(tmp_path, small_models, monkeypatch, capsys):
    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(experiment.report, "figures", interrupt)
    out = tmp_path / "new"
    assert main(["experiment", "--out", str(out)] + FAST) == 130
    assert not out.exists() and leftovers(tmp_path, "new") == []


def test_library_refuses_to_overwrite(previous):
    with pytest.raises(experiment.ResultsExistError, match="force"):
        experiment.run_experiment(models={"svgg": make_small("vgg")}, methods=["gradcam"],
                                  kinds=("single",), samples=0, size=(80, 64), out=previous,
                                  sanity=False, progress=False)


@pytest.mark.parametrize("args, expected", [
    (["--batch-size", "0"], "--batch-size"),
    (["--batch-size", "-3"], "--batch-size"),
    (["--max-seconds", "-5"], "--max-seconds"),
    (["--max-seconds", "nan"], "--max-seconds"),
    (["--max-seconds", "inf"], "--max-seconds"),
    (["--samples", "-1"], "--samples"),
    (["--steps", "0"], "--steps"),
    (["--size", "16", "200"], "--size"), (["--size", "80", "5000"], "--size"),
    (["--recompute-seconds", "-1"], "--recompute-seconds"),
    (["--seed", "-2"], "--seed"),
])
def test_bad_numbers_exit_2_with_one_line(tmp_path, monkeypatch, capsys, args, expected):
    monkeypatch.setattr(experiment, "run_experiment", fail_if_called)
    assert main(["experiment", "--out", str(tmp_path / "r"), "--no-progress"] + args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and expected in err[0], err
    assert not (tmp_path / "r").exists()


def test_bad_out_exits_2_with_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(experiment, "run_experiment", fail_if_called)
    a_file = tmp_path / "a_file.txt"
    a_file.write_text("not a folder")
    for out, expected in ((a_file, "is a file"), (a_file / "sub" / "res", "lies under"),
                          (Path("/proc/xai-tutor-no-such/res"), "cannot be created")):
        assert main(["experiment", "--out", str(out), "--no-progress"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and expected in err[0] and str(out) in err[0], err
    assert a_file.read_text() == "not a folder"


def test_check_out_leaves_nothing_behind(tmp_path):
    out = tmp_path / "deep" / "er" / "res"
    assert experiment.check_out(out) == out
    assert list(tmp_path.iterdir()) == []


def test_settings_from_the_command_line_are_one_checked_object(tmp_path, small_models, capsys):
    from xai_tutor.__main__ import build_parser, settings_from

    args = build_parser().parse_args(["experiment", "--preset", "quick", "--samples", "1",
                                      "--metrics", "mass", "sparseness", "--no-sanity"])
    s = settings_from(args)
    assert isinstance(s, experiment.Settings)
    assert (s.samples, s.size, s.curves, s.metrics) == (1, (313, 209), "none",
                                                        ("mass", "sparseness"))
    assert s.metric_names() == ["mass", "sparseness"]
    out = tmp_path / "m"
    assert main(["experiment", "--metrics", "mass", "sparseness", "--out", str(out)] + FAST) == 0
    header = (out / "scores.csv").read_text().splitlines()[0].split(",")
    assert "mass" in header and "sparseness" in header and "deletion" not in header
    with pytest.raises(SystemExit) as stop:
        main(["experiment", "--metrics", "nosuch", "--out", str(tmp_path / "n")] + FAST)
    assert stop.value.code == 2 and "invalid choice" in capsys.readouterr().err


def test_the_trust_section_is_written_with_the_run(tmp_path, small_models, capsys):
    """One scene per model of known reliance: the trust files come with the run, and the
    results README script summarises them."""
    import importlib.util
    import json

    out = tmp_path / "t"
    args = FAST[:FAST.index("--trust-scenes")] + ["--trust-scenes", "1"]
    assert main(["experiment", "--out", str(out)] + args) == 0
    for name in ("trust.md", "trust.csv", "metric_trust.csv", "trust_scores.csv"):
        assert (out / name).is_file(), name
    run = json.loads((out / "run.json").read_text())
    assert run["trust"]["scenes"] == 1 and "tiny_resnet_shortcut" in run["trust"]["models"]
    text = (out / "trust.md").read_text()
    assert "The rule:" in text and "tiny_vgg_shortcut" in text
    path = Path(__file__).resolve().parents[1] / "scripts" / "results_readme.py"
    spec = importlib.util.spec_from_file_location("results_readme", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert "## Which explanation can you trust?" in module.readme(out)
