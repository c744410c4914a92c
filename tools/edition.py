"""Write the Jupyter Book configuration of an edition of the book.

    python tools/edition.py student --cache _build/.jupyter_cache > _build/_config.student.yml

The student edition is the book without the solutions of the exercises
(sphinx-exercise's ``hide_solutions``) and says so in its title. It reads the executed
notebooks from ``--cache`` (the Jupyter cache of a full build), so it re-executes
nothing that the full build already ran. Everything else is ``_config.yml`` unchanged:
one source for the book's configuration.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
EDITIONS = ("student",)


def edition_config(name: str, cache: Path | None = None) -> dict:
    """``_config.yml`` adapted for edition ``name``."""
    if name not in EDITIONS:
        raise SystemExit(f"Unknown edition {name!r}; choose from {', '.join(EDITIONS)}.")
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    config["title"] = f"{config['title']} (student edition: no solutions)"
    config.setdefault("sphinx", {}).setdefault("config", {})["hide_solutions"] = True
    if cache is not None:
        config.setdefault("execute", {})["cache"] = str(cache.resolve())
    # paths in the configuration are relative to the book's root, wherever this file goes
    config["bibtex_bibfiles"] = [str(ROOT / p) for p in config.get("bibtex_bibfiles", [])]
    extensions = config["sphinx"].get("local_extensions") or {}
    config["sphinx"]["local_extensions"] = {k: str(ROOT / v) for k, v in extensions.items()}
    return config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("edition", choices=EDITIONS)
    parser.add_argument("--cache", type=Path, help="Jupyter cache of a full build, to reuse its executed notebooks")
    args = parser.parse_args(argv)
    yaml.safe_dump(edition_config(args.edition, args.cache), sys.stdout, sort_keys=False, allow_unicode=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
