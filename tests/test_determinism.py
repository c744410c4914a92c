"""Determinism: two runs from two empty caches write the same bytes, and --seed changes
only the random-token result."""

from __future__ import annotations

import pandas as pd
import pytest
from support.runs import run_reproduce

from cvsp.experiments import CWE_VARIANTS

RANDOM_VARIANTS = CWE_VARIANTS

pytestmark = pytest.mark.slow


def test_a_different_seed_changes_only_the_random_token_result(small_reference_run, tmp_path):
    """On the first rows of the data (``support.runs.SMALL_DATA``): what a seed may change does
    not depend on how many sentences there are."""
    root, _ = small_reference_run
    run_reproduce(tmp_path / "seed1", root / "cache", "--seed", "1", small=True)
    base = pd.read_csv(root / "out" / "scores.csv")
    other = pd.read_csv(tmp_path / "seed1" / "scores.csv")
    random = base["variant"].isin(RANDOM_VARIANTS)
    assert random.sum() == 2 * 13 * len(RANDOM_VARIANTS)  # both models, layers 0-12, every rule
    pd.testing.assert_frame_equal(base[~random], other[~random])
    for variant in RANDOM_VARIANTS:
        rows = base["variant"] == variant
        changed = (base.loc[rows, "value"] != other.loc[rows, "value"]).mean()
        assert changed > 0.9, variant  # nearly every layer's value moves with the drawn tokens


def test_two_runs_from_two_empty_caches_are_byte_identical(small_reference_run, tmp_path):
    """The same command from an empty cache of its own (stand-ins written anew, every pass
    and bootstrap computed again) writes the first run's very bytes: the run is
    deterministic, not merely read back from a cache. On the first rows of the data: what
    is tested is the seeding, not the size of the corpus."""
    root, _ = small_reference_run
    run_reproduce(tmp_path / "again", tmp_path / "cache", small=True)
    for name in ("scores.csv", "comparison.csv", "differences.csv"):
        assert (tmp_path / "again" / name).read_bytes() == (root / "out" / name).read_bytes(), name
