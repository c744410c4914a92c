"""The paper's claims beside our numbers, as Markdown: the Pages workflow's job summary.

    python tools/claims_summary.py [COMPARISON_CSV] >> "$GITHUB_STEP_SUMMARY"

Reads the ``comparison.csv`` a build wrote (by default the one the book's status page
writes, ``book/_generated/results/comparison.csv``) and prints one table: each claim,
the paper's number, ours with its 95 % interval, and the verdict in words
(``cvsp.verdicts``: a miss says its direction and what it means). It reports; it
never fails on a claim that does not hold (whether the claims hold is the book's
content, not a condition for publishing it). Exit 1 only when there is no table to read.
"""

from __future__ import annotations

import csv
import math
import sys
from pathlib import Path

DEFAULT = Path(__file__).resolve().parents[1] / "book" / "_generated" / "results" / "comparison.csv"


def _number(text: str) -> str:
    try:
        value = float(text)
    except ValueError:
        return text or "—"
    return "—" if math.isnan(value) else f"{value:.3f}"


def summary(rows: list[dict[str, str]]) -> str:
    """The Markdown table of the claims and a one-line count."""
    weights = {row.get("weights", "") for row in rows}
    held = sum(row["holds"] == "True" for row in rows)
    lines = [
        "## The paper's claims in this build",
        "",
        f"Weights: {', '.join(sorted(weights))}. {held} of {len(rows)} numbers of the paper hold "
        "by its own criterion (\"≈\" within ±0.03; a bound after rounding to the paper's two decimals); the book's chapters give the detail.",
        "",
        "| claim | paper | ours | 95 % interval | verdict |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        interval = f"[{_number(row.get('ci_low', ''))}, {_number(row.get('ci_high', ''))}]"
        lines.append(
            f"| {row['claim']} | {row['relation']} {row['paper']} | {_number(row['ours'])} "
            f"| {interval} | {row.get('verdict') or '—'} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    path = Path(argv[0]) if argv else DEFAULT
    if not path.is_file():
        print(
            f"No comparison table at {path}: the book's status page did not run.", file=sys.stderr
        )
        return 1
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    print(summary(rows), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
