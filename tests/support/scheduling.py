"""Which tests share a worker under pytest-xdist (``make test``): those of one shared run."""

from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]

# Fixtures that hold one shared run (minutes of work). Under pytest-xdist (make test)
# every test file that uses one runs on the same worker as the run, so that it is made
# once; every other test is placed on its own. (xdist's own `--dist loadgroup` cannot
# be used: with pytest 9 it no longer keeps a group on one worker.)
SHARED_RUNS = {
    "reference_run": "reference",
    "small_reference_run": "reference",
    "built_book": "reference",
    "online_run": "replica",
    "contrast_run": "replica",
    "beyond_run": "replica",
}


def shared_run_groups(tests: Path = TESTS) -> dict[str, str]:
    """``tests/<file> -> group`` for every test file that names a shared run's fixture."""
    groups = {}
    for path in sorted(tests.glob("test_*.py")):
        text = path.read_text()
        named = sorted(
            {group for name, group in SHARED_RUNS.items() if re.search(rf"\b{name}\b", text)}
        )
        if named:
            groups[f"{tests.name}/{path.name}"] = "+".join(named)
    return groups


def make_scheduler(config, log):
    """xdist's scheduling by scope, the scope being a shared run's group or the test itself
    (the hook ``pytest_xdist_make_scheduler`` is xdist's documented way to schedule)."""
    from xdist.scheduler import LoadScopeScheduling  # only under xdist, which calls this

    groups = shared_run_groups()

    class SharedRunScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return groups.get(nodeid.split("::", 1)[0], nodeid)

    return SharedRunScheduling(config, log)
