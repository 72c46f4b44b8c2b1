"""Debian's Chromium for the browser tests: on CI a missing browser fails, elsewhere it skips."""

import os
from pathlib import Path

import pytest

from xmkit.render.pdf import CHROMIUM_ARGS

CHROMIUM = "/usr/bin/chromium"
__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "require_chromium"]


def require_chromium() -> str:
    """The Chromium binary, or fail (CI=true) / skip (elsewhere) naming the Debian package."""
    if not Path(CHROMIUM).exists():
        message = (
            f"Chromium not found at {CHROMIUM}: install Debian's 'chromium' package "
            "(apt-get install chromium)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM
