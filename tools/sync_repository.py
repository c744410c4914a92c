"""Write the repository URL of ``_config.yml`` wherever a user copies it from.

``_config.yml`` (``repository.url``) is the one place the book's repository is named;
the package version comes from ``pyproject.toml``. From them this script writes:

- the install line of every notebook's set-up cell (``.py`` and ``.ipynb``): the
  runtime package only, at the release tag ``v<version>``, never a moving branch;
- the ``git clone`` lines of the README and ``book/running.md``.

Run ``python tools/sync_repository.py`` after changing either; ``--check`` only reports
(``tests/test_packaging.py`` checks the same agreement).
"""

from __future__ import annotations

import json
import re
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
INSTALL_RE = re.compile(r'"cvsp(\[[a-z,]+\])? @ git\+[^"@]+(@[^"]+)?"')
CLONE_RE = re.compile(r"git clone \S+")


def repository_url(root: Path = ROOT) -> str:
    return yaml.safe_load((root / "_config.yml").read_text())["repository"]["url"].rstrip("/")


def release_tag(root: Path = ROOT) -> str:
    return "v" + tomllib.loads((root / "pyproject.toml").read_text())["project"]["version"]


def install_requirement(root: Path = ROOT) -> str:
    """What a notebook's set-up cell installs: the runtime package at the release tag."""
    return f"cvsp @ git+{repository_url(root)}@{release_tag(root)}"


def targets(root: Path = ROOT) -> dict[Path, list[tuple[re.Pattern, str]]]:
    install = [(INSTALL_RE, f'"{install_requirement(root)}"')]
    clone = [(CLONE_RE, f"git clone {repository_url(root)}")]
    notebooks = sorted((root / "notebooks").glob("*.py")) + sorted((root / "notebooks").glob("*.ipynb"))
    return {**{path: install for path in notebooks}, root / "README.md": clone, root / "book" / "running.md": clone}


def _rewrite(text: str, rules: list[tuple[re.Pattern, str]]) -> str:
    for pattern, replacement in rules:
        text = pattern.sub(replacement, text)
    return text


def _rewrite_notebook(text: str, rules: list[tuple[re.Pattern, str]]) -> str:
    """The same rewrite inside each cell of an ``.ipynb`` (JSON escapes its quotes)."""
    notebook = json.loads(text)
    for cell in notebook["cells"]:
        source = "".join(cell["source"])
        cell["source"] = _rewrite(source, rules).splitlines(keepends=True)
    return json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    stale = []
    for path, rules in targets().items():
        text = path.read_text()
        rewrite = _rewrite_notebook if path.suffix == ".ipynb" else _rewrite
        new = rewrite(text, rules)
        if new != text:
            stale.append(path.relative_to(ROOT))
            if "--check" not in argv:
                path.write_text(new)
    verb = "out of date" if "--check" in argv else "rewritten"
    print("\n".join(f"{verb}: {p}" for p in stale) or "all in agreement with _config.yml")
    return 1 if stale and "--check" in argv else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
