"""Claims are code: the README's table of verdicts must be the committed run's claims.csv."""

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
