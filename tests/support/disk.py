"""Free disk for the slow tests: checked once, before any test runs, so that a full disk
gives one sentence instead of dozens of I/O errors (used by ``conftest.py``)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

# Free disk the slow tests need at their peak, in pytest's temporary folder: the end-to-end
# runs, the stand-in book and the real-mode book against the hub replica, all with small
# stand-ins since 2026-11-29. Measured with df, sampled every 5 s during a fresh-clone
# `bash .ci/run` on two xdist workers, the clone, its environment (1.9 GB) and its cache
# (0.8 GB) included: 19.3 GB with full-size stand-ins; 7.3 GB with small ones; 9.0 to
# 9.5 GB (four runs) once chapter 8's four extra models joined the book and the replica (nine
# repositories); 8.45 GB (2026-11-29 evening) once the real-mode book's folder (1.7 GB)
# went as its test passed and test_standins' fresh full-size stand-ins (then in test_faults) (1.0 GB) with their
# module; 6.82 GB once the hub replica's three runs (1.6 GB) went with their module too,
# instead of all staying to the session's end (4.96 GB without the environment, of which
# 0.87 GB is the cache). The peak is now the real-mode book's build (1.4 GB) beside the
# reference run with the stand-in book's cache (1.5 GB). A passing test's folder is removed
# as it ends. Checked before any test runs, so that a full disk gives one sentence instead
# of dozens of I/O errors.
SLOW_TESTS_NEED_GB = 7


def missing_disk(folder: Path, need_gb: float, usage=None) -> str | None:
    """One sentence if ``folder``'s file system has less than ``need_gb`` GB free, else None."""
    free = (usage or shutil.disk_usage)(folder).free / 1e9
    if free >= need_gb:
        return None
    return (
        f"The slow tests need about {need_gb:g} GB free in {folder}, which has {free:.1f} GB: "
        "free some space, set TMPDIR (or --basetemp) to a larger disk, or run the fast "
        "tests only (-m 'not slow')."
    )


def disk_problem(config) -> str | None:
    given = config.option.basetemp
    folder = Path(given).parent if given else Path(tempfile.gettempdir())
    while not folder.exists():
        folder = folder.parent
    return missing_disk(folder, SLOW_TESTS_NEED_GB)


def distributed(config) -> bool:
    """Whether this process is pytest-xdist's controller, handing the tests to workers."""
    return bool(getattr(config.option, "numprocesses", None)) and not hasattr(config, "workerinput")


def may_select_slow(config) -> bool:
    """Whether the ``-m`` expression lets slow tests through (no ``-m``: it does)."""
    expression = config.option.markexpr
    if not expression:
        return True
    try:  # pytest's own evaluator of -m (internal: pytest has no public one)
        from _pytest.mark.expression import Expression
    except ImportError:  # another pytest: check the disk, as if slow tests may run
        return True
    return Expression.compile(expression).evaluate(lambda name, **_: name == "slow")
