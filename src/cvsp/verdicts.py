"""How a claim of the paper fares, said so that it cannot be misread.

A claim is tested twice. On our number: does it meet the paper's relation (``≈`` within
:data:`cvsp.paper.APPROX_TOLERANCE`, a bound read at the paper's two decimals;
:func:`cvsp.paper.meets`)? On our 95 % interval: do both of its ends meet it, neither, or
does it cross the line (:func:`interval_side`)? A miss is never a bare cross: it says its
direction and what the direction means for the result (a correlation with human
judgements higher than the paper's bound is a better score for that model, not a failure
of the reproduction), so a reader sees which way our number differs from the paper's.

Used by every chapter's comparison table, the results page, the figure of the claims,
``cvsp reproduce`` and the Pages workflow's summary.
"""

from __future__ import annotations

import math

import pandas as pd

from cvsp.paper import APPROX_TOLERANCE, meets

_CORRELATION = {
    "above": "a higher correlation with human judgements",
    "below": "a lower correlation with human judgements",
}
MEANING = {  # what a miss on each side means, for each result
    "word_similarity": _CORRELATION,
    "sts": _CORRELATION,
    "cwe_self_similarity": {
        "above": "a more anisotropic space (higher self-similarity)",
        "below": "a less anisotropic space (lower self-similarity)",
    },
    "sentence_self_similarity": {
        "above": "sentence vectors more alike (higher self-similarity)",
        "below": "sentence vectors less alike (lower self-similarity)",
    },
}
MARKS = {"holds": "✓", "above": "✗ above", "below": "✗ below", "undefined": "—"}


def number(paper: float) -> str:
    """The paper's number as it prints it: two decimals (".73"), three for the values read
    from its Figure 1 (".964")."""
    return f"{paper:.2f}" if round(paper, 2) == round(paper, 6) else f"{paper:.3f}"


def side(relation: str, paper: float, ours: float) -> str:
    """``holds`` when ``ours`` meets the claim; otherwise ``above`` or ``below`` it
    (``undefined`` for a missing number)."""
    if not math.isfinite(ours):
        return "undefined"
    if meets(relation, paper, ours):
        return "holds"
    return "above" if ours > paper else "below"


def interval_side(relation: str, paper: float, low: float, high: float) -> str:
    """``holds`` if both ends of the interval meet the claim (so every value between
    does), ``fails`` if neither does and no value between could (for ``≈``: the interval
    lies wholly outside the tolerance), ``undecided`` when it crosses the line,
    ``undefined`` without an interval."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return "undefined"
    ends = meets(relation, paper, low), meets(relation, paper, high)
    if all(ends):
        return "holds"
    if relation == "≈":
        outside = high < paper - APPROX_TOLERANCE or low > paper + APPROX_TOLERANCE
        return "fails" if outside else "undecided"
    return "fails" if not any(ends) else "undecided"


def _miss(result: str, relation: str, paper: float, ours: float, where: str) -> str:
    gap = abs(ours - paper)
    if relation == "≈":
        target = f"the paper's {number(paper)} (≈ allows ±{APPROX_TOLERANCE:.2f})"
        compared = "than the paper reports"
    else:
        target = f"the bound {number(paper)}"
        compared = "than the paper's bound allows"
    return f"misses: {gap:.3f} {where} {target}, {MEANING[result][where]} {compared}"


_READING = {  # (our number holds, the interval's reading): what the interval adds
    (True, "holds"): "; so does the whole interval",
    (True, "undecided"): "; part of the interval does not",
    (True, "fails"): "; none of the interval does (our number lies outside it)",
    (False, "fails"): "; the whole interval misses too",
    (False, "undecided"): "; part of the interval meets it",
    (False, "holds"): "; the whole interval meets it (our number lies outside it)",
}


def verdict(
    result: str,
    relation: str,
    paper: float,
    ours: float,
    low: float = math.nan,
    high: float = math.nan,
) -> str:
    """The verdict in words: e.g. ``holds; so does the whole interval`` or ``misses: 0.058
    above the bound 0.45, a higher correlation with human judgements than the paper's
    bound allows; the whole interval misses too``."""
    where = side(relation, paper, ours)
    if where == "undefined":
        return "undefined: no number in this build"
    text = "holds" if where == "holds" else _miss(result, relation, paper, ours, where)
    interval = interval_side(relation, paper, low, high)
    if interval == "undefined":
        return text
    return text + _READING[(where == "holds", interval)]


def describe(comparison: pd.DataFrame) -> pd.DataFrame:
    """A comparison table (:func:`cvsp.paper.compare`) with ``verdict`` (in words),
    ``side`` (``holds``, ``above``, ``below``) and, when it has intervals, ``interval``
    (:func:`interval_side`)."""
    low = comparison["ci_low"] if "ci_low" in comparison else pd.Series(math.nan, comparison.index)
    high = comparison["ci_high"] if "ci_high" in comparison else low
    rows = list(
        zip(comparison["result"], comparison["relation"], comparison["paper"], comparison["ours"])
    )
    described = comparison.assign(
        side=[side(rel, value, ours) for _, rel, value, ours in rows],
        verdict=[
            verdict(result, rel, value, ours, lo, hi)
            for (result, rel, value, ours), lo, hi in zip(rows, low, high)
        ],
    )
    if "ci_low" in comparison:
        described["interval"] = [
            interval_side(rel, value, lo, hi) for (_, rel, value, _), lo, hi in zip(rows, low, high)
        ]
    return described
