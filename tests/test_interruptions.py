"""SIGKILL in the middle of `cvsp reproduce`, then a rerun: the same scores.csv as an
uninterrupted run, and no cache entry or output folder trusted wrongly.

The runs read the first rows of the data (``support.runs.SMALL_DATA``): what is tested is
where the kill lands among the atomic writes (a stand-in checkpoint, an embedding entry,
the output folder), not how many texts were embedded. The stand-ins are the small ones
(``support.runs.SMALL_STAND_INS``): writing either checkpoint takes 0.1-0.2 s here, against
the 20 ms between two looks at the staging folder."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest
from support.runs import reproduce_command, reproduce_env, run_reproduce

pytestmark = pytest.mark.slow


def _stand_in_staging(cache: Path, out: Path) -> bool:
    folder = cache / "stand-ins"
    return folder.is_dir() and any(p.name.startswith(".") for p in folder.iterdir())


def _cache_entries(count: int):
    def reached(cache: Path, out: Path) -> bool:
        folder = cache / "embeddings"
        return folder.is_dir() and len(list(folder.glob("*.npy"))) >= count

    return reached


def _writing_outputs(cache: Path, out: Path) -> bool:
    return any(p.name.startswith(f".{out.name}-staging-") for p in out.parent.iterdir())


KILL_POINTS = {
    "while writing a stand-in checkpoint": _stand_in_staging,
    "after the first embedding pass": _cache_entries(1),
    "while writing the output folder": _writing_outputs,
}


@pytest.mark.parametrize("when", KILL_POINTS)
def test_sigkill_then_rerun_gives_the_uninterrupted_result(small_reference_run, tmp_path, when):
    cache, out = tmp_path / "cache", tmp_path / "out"
    env = reproduce_env(cache)
    command = reproduce_command(out, small=True)
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    reached = KILL_POINTS[when]
    try:
        while process.poll() is None and not reached(cache, out):
            time.sleep(0.02)
        assert process.poll() is None, f"the run ended before it was {when}"
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait()
    assert not out.exists(), "a killed run must not leave an output folder"
    run_reproduce(out, cache, small=True)
    reference = (small_reference_run[0] / "out" / "scores.csv").read_bytes()
    assert (out / "scores.csv").read_bytes() == reference
