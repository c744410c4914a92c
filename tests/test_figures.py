"""Every measured figure users read comes from one source (tools/figures.py)."""

import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import figures  # noqa: E402
import sync_docs  # noqa: E402


@pytest.fixture
def copy(tmp_path):
    """The documents users read and the results files, copied: a repository to edit."""
    for path in [*figures.documents(ROOT), *(ROOT / name for name in figures.SOURCE_FILES)]:
        target = tmp_path / path.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target)
    return tmp_path


def _first_ledgered(root: Path) -> tuple[Path, str]:
    found = next(f for f in figures.survey(root) if f.way == "ledgered")
    return root / found.path, found.text


def test_every_figure_users_read_is_traced_to_its_source():
    assert not figures.problems(ROOT), "\n" + "\n".join(figures.problems(ROOT))


def test_every_ledger_and_stated_entry_is_used():
    found = list(figures.survey(ROOT))
    assert {f.way for f in found} >= {"ledgered", "stated"}
    assert not [f for f in found if "not in the file" in f.problem]


def test_a_figure_edited_by_hand_disagrees_with_its_source(copy):
    path, text = _first_ledgered(copy)
    number = next(m for m in figures.re.finditer(figures.NUMBER, text))
    edited = text[: number.start()] + "9" + number.group(0) + text[number.end() :]
    path.write_text(path.read_text().replace(text, edited, 1))
    found = figures.problems(copy)
    assert len(found) == 1 and "its source says" in found[0] and edited in found[0], found


def test_sync_docs_writes_the_figure_back_from_its_source(copy):
    path, text = _first_ledgered(copy)
    original = path.read_text()
    number = next(m for m in figures.re.finditer(figures.NUMBER, text))
    edited = text[: number.start()] + "9" + number.group(0) + text[number.end() :]
    path.write_text(original.replace(text, edited, 1))
    rules = figures.rules(copy)[path]
    assert sync_docs.rewrite_for(path)(path.read_text(), rules) == original


def test_a_figure_without_a_source_is_reported(copy):
    readme = copy / "README.md"
    readme.write_text(readme.read_text() + "\nA cold build takes about 9 minutes.\n")
    found = figures.problems(copy)
    assert found == [
        f"README.md:{len(readme.read_text().splitlines())}: '9 minutes': not traceable to a source"
    ]


@pytest.mark.parametrize(
    ("text", "figure"),
    [
        ("weights of about 0.5 GB, once", "0.5 GB"),
        ("has 1,379 pairs rated", "1,379 pairs"),
        ("about 13 minutes on two workers", "13 minutes"),
        ("runs at 828 tok/s here", "828 tok/s"),
        ("3.5x faster", "3.5x"),
        ("of 1,379, so that", "1,379"),
    ],
)
def test_what_reads_like_a_figure(text, figure):
    assert [m.group(0) for m in figures.FIGURE.finditer(text)] == [figure]


@pytest.mark.parametrize(
    "text", ["rho = .73 at layer 12", "CVSP_BOOTSTRAP=200", "v0.1.0", "`6 GB`"]
)
def test_what_does_not(text):
    assert not figures.FIGURE.search(text)
