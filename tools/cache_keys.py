"""The Pages workflow's cache keys, each a digest of what its cache depends on.

    python tools/cache_keys.py >> "$GITHUB_OUTPUT"

Prints two lines, ``weights=<digest>`` and ``executed=<digest>``:

- ``weights``: the hub ids and pinned revisions of every model the book loads. The
  weights are pinned, so the key changes only with a pin; a run that finds it restores
  the Hugging Face cache and saves nothing.
- ``executed``: what the executed notebooks depend on: the code cells of every page
  (not their prose), the package's source (:func:`cvsp.storage.package_digest`, which
  covers the pins and the data hashes too), ``pyproject.toml`` and ``_config.yml``. A
  push that changes only prose finds it, so no notebook runs and no forward pass is made.

The same code a run would execute, the same outputs: a key never carries a per-run value
(``tests/test_workflows.py`` checks the workflows for that).
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import jupytext
import yaml

from cvsp import cache
from cvsp.registry import BOOK_MODELS, MODELS
from cvsp.storage import package_digest

ROOT = Path(__file__).resolve().parents[1]


def weights_key() -> str:
    """The digest of the pins of the book's models (hub id, revision, commit prefix)."""
    return cache.key(
        **{
            key: [MODELS[key].hub_id, MODELS[key].revision, MODELS[key].commit_prefix]
            for key in BOOK_MODELS
        }
    )


def pages(root: Path = ROOT) -> list[Path]:
    """Every page of the table of contents, as a file (``.ipynb`` or ``.md``)."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    names = [toc["root"]] + [
        chapter["file"] for part in toc.get("parts", []) for chapter in part["chapters"]
    ]
    found = []
    for name in names:
        for suffix in (".ipynb", ".md"):
            if (root / f"{name}{suffix}").is_file():
                found.append(root / f"{name}{suffix}")
                break
    return found


def code_cells(path: Path) -> list[str]:
    """The sources of a page's code cells, in order (a Markdown page without any: none)."""
    notebook = jupytext.read(path)
    return [cell.source for cell in notebook.cells if cell.cell_type == "code"]


def executed_key(root: Path = ROOT) -> str:
    """The digest of every page's code, the package, its dependencies and the book's config."""
    return cache.key(
        code={path.relative_to(root).as_posix(): code_cells(path) for path in pages(root)},
        package=package_digest(),
        pyproject=hashlib.sha256((root / "pyproject.toml").read_bytes()).hexdigest(),
        config=hashlib.sha256((root / "_config.yml").read_bytes()).hexdigest(),
    )


def main() -> int:
    print(f"weights={weights_key()}")
    print(f"executed={executed_key()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
