"""Nothing unpickles, runs remote code, or reaches a shell; data is verified before use."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from cvsp.cache import DiskStore

ROOT = Path(__file__).resolve().parents[1]
CODE = sorted(
    [
        *(ROOT / "src").rglob("*.py"),
        *(ROOT / "benchmarks").rglob("*.py"),
        *(ROOT / "book").rglob("*.py"),
        *(ROOT / "notebooks").glob("*.py"),
    ]
)
FORBIDDEN = {
    r"\bimport pickle\b|\bpickle\.load": "unpickling",
    r"\btorch\.load\(": "torch.load (pickle underneath)",
    r"allow_pickle\s*=\s*True": "numpy pickle loading",
    r"trust_remote_code\s*=\s*True": "remote code",
    r"shell\s*=\s*True": "a shell subprocess",
    r"\bos\.system\(": "a shell command",
    r"(?<![\w.])eval\(|(?<![\w.])exec\(": "eval/exec",
}


def test_there_is_code_to_check():
    assert len(CODE) > 10


@pytest.mark.parametrize("pattern", FORBIDDEN, ids=list(FORBIDDEN.values()))
def test_forbidden_pattern_absent(pattern):
    hits = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in CODE
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if re.search(pattern, line)
    ]
    assert not hits, "\n".join(hits)


def test_every_model_load_is_safetensors_without_remote_code():
    source = (ROOT / "src" / "cvsp" / "models.py").read_text()
    model_loads = re.findall(
        r"_model_class\(spec\)\.from_pretrained\((.*?)\)\s*(?:#|\n)", source, re.DOTALL
    )
    assert len(model_loads) == 2  # hub and local checkpoints
    for arguments in model_loads:
        assert "use_safetensors=True" in arguments and "trust_remote_code=False" in arguments


_SPRUNG: list[bool] = []


def _spring() -> None:
    _SPRUNG.append(True)


class _Trap:
    """Unpickled, it calls :func:`_spring`."""

    def __reduce__(self):
        return (_spring, ())


def test_cache_reads_refuse_pickles(tmp_path):
    """A cache entry holding a pickle is never unpickled: it is dropped, to be computed again."""
    cache = DiskStore(tmp_path)
    trap = cache.path("embeddings", "trap.npy")
    trap.parent.mkdir()
    np.save(trap, np.array([_Trap()], dtype=object), allow_pickle=True)
    with pytest.warns(UserWarning, match="unreadable"):
        assert cache.get_array("embeddings", "trap") is None
    assert not _SPRUNG and not trap.exists()
