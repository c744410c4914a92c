"""Make a release: the git tag ``v<version>`` that every notebook's install cell names.

A reader who opens a chapter in Colab runs its set-up cell, which installs
``cvsp @ git+<repository>@v<version>`` (written by ``tools/sync_docs.py`` from
``pyproject.toml``). That tag must exist, and must hold the code the notebooks were
written for. This tool checks that the working tree is clean and committed, that the
install cells, ``CITATION.cff`` and the book's "How to cite" page name the version of
``pyproject.toml``, and that the tag does not exist yet; then it creates the annotated
tag on ``HEAD`` and prints the command that publishes it.

Usage (``make release``)::

    python tools/release.py            # tag HEAD as v<version>
    python tools/release.py --check    # only report what would stop a release

To release a new version: set ``version`` in ``pyproject.toml`` and ``CITATION.cff``,
run ``python tools/sync_docs.py`` and ``jupytext --sync notebooks/*.ipynb``, commit, then
run this tool and push the tag (``git push origin v<version>``).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sync_docs  # noqa: E402 (the tool beside this one, not a package)


def _git(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)


def problems(root: Path) -> list[str]:
    """What stops a release of ``root`` now, one sentence each (nothing: it can be tagged)."""
    tag = sync_docs.release_tag(root)
    version = tag.removeprefix("v")
    found = []
    if _git(root, "status", "--porcelain").stdout.strip():
        found.append("The working tree has uncommitted changes: commit them first.")
    stale = [
        path
        for path, rules in sync_docs.targets(root).items()
        if sync_docs.rewrite_for(path)(path.read_text(), rules) != path.read_text()
    ]
    if stale:
        found.append(
            f"Run tools/sync_docs.py: {', '.join(str(p.relative_to(root)) for p in stale)} disagree with their sources (install cells at {tag}, clone lines, settings tables)."
        )
    cff = yaml.safe_load((root / "CITATION.cff").read_text())
    if str(cff.get("version")) != version:
        found.append(f"CITATION.cff names version {cff.get('version')}, pyproject.toml {version}.")
    if f"version {version}" not in (root / "book" / "cite.md").read_text():
        found.append(f"book/cite.md does not name version {version}.")
    if _git(root, "rev-parse", "-q", "--verify", f"refs/tags/{tag}").returncode == 0:
        found.append(f"The tag {tag} exists already: set a new version in pyproject.toml.")
    return found


def main(argv: list[str], root: Path = sync_docs.ROOT) -> int:
    tag = sync_docs.release_tag(root)
    found = problems(root)
    if found:
        print("\n".join(found), file=sys.stderr)
        return 1
    if "--check" in argv:
        print(f"Ready to tag {tag}.")
        return 0
    done = _git(root, "tag", "-a", tag, "-m", f"cvsp {tag.removeprefix('v')}")
    if done.returncode != 0:
        print(done.stderr.strip(), file=sys.stderr)
        return 1
    print(f"Tagged {tag}; publish it with: git push origin {tag}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
