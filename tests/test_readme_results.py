"""Claims are code: the README's table of verdicts must be the committed run's claims.csv, and
its trust summary the one written from the committed trust.csv and metric_trust.csv."""

from __future__ import annotations

import csv
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_verdicts_are_the_committed_runs() -> None:
    with open(ROOT / "results" / "claims.csv", newline="") as f:
        committed = {r["claim"]: r["verdict"] for r in csv.DictReader(f)}
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("Verdicts of the committed run"):text.index("## Speed")]
    shown = dict(re.findall(r"^\| ([^|]+?) \| \*\*([^*]+)\*\* \|$", section, re.M))
    assert shown == committed, "README's verdict table differs from results/claims.csv"


def test_readme_trust_summary_is_the_committed_runs() -> None:
    from xai_tutor.trust.report import README_END, README_START, readme_block

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    shown = text[text.index(README_START):text.index(README_END) + len(README_END)]
    assert shown == readme_block(ROOT / "results"), (
        "README's trust summary differs from results/trust.csv and results/metric_trust.csv; "
        "run 'python scripts/results_readme.py results'")
    assert len(text.encode("utf-8")) < 8 * 1024  # the README stays short


def test_results_readme_rewrites_only_the_trust_block(tmp_path) -> None:
    import importlib.util
    import shutil

    from xai_tutor.trust.report import README_END, README_START

    spec = importlib.util.spec_from_file_location("results_readme",
                                                  ROOT / "scripts" / "results_readme.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name in ("trust.csv", "metric_trust.csv"):
        shutil.copy(ROOT / "results" / name, tmp_path / name)
    readme = tmp_path / "README.md"
    readme.write_text(f"before\n{README_START}\nold\n{README_END}\nafter\n", encoding="utf-8")
    assert module.update_readme(tmp_path, readme)
    text = readme.read_text(encoding="utf-8")
    assert text.startswith("before\n" + README_START) and text.endswith(README_END + "\nafter\n")
    assert "old" not in text and "reveals the shortcut" in text
    readme.write_text("no block\n", encoding="utf-8")
    assert not module.update_readme(tmp_path, readme) and readme.read_text() == "no block\n"
