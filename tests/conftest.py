"""Shared fixtures: settings from the CVSP_* environment, with stand-in models.

Data and tokenizers come from CVSP_DATA_DIR / CVSP_TOKENIZERS_DIR when set (CI points
them at ../shared), otherwise from their canonical sources.
"""

from __future__ import annotations

import pytest

from cvsp.models import load_models
from cvsp.settings import Settings


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings.from_env().with_(models="stand-in", device="cpu")


@pytest.fixture(scope="session")
def models(settings):
    return load_models(settings)
