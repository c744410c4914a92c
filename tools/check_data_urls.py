"""Download each evaluation file from its pinned URL and check it against the registry.

Run by the scheduled link check (``.github/workflows/links.yml``); needs the internet.
Exit status 1 names every file that could not be fetched or did not match its sha256.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from cvsp import data
from cvsp.settings import Settings


def main() -> int:
    failures = []
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(cache_dir=Path(folder))  # a fresh cache: every file is downloaded
        for name, entry in data.FILES.items():
            try:
                data.fetch(name, settings)
                print(f"ok      {entry.url}")
            except data.DataError as error:
                failures.append(name)
                print(f"FAILED  {entry.url}: {error}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
