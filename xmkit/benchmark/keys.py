"""The firm key and the keyed hash that stands for a client in the benchmark store.

A store never holds a client's name: it holds ``HMAC-SHA256(firm key, normalized name)``
(RFC 2104), which lets xmkit refuse the same organization and period twice and leave a
client's own entries out of its report, while someone who has the store file but not the key
cannot test guessed names against it. The key comes from ``XMKIT_BENCHMARK_KEY`` if set, else
from ``benchmark.key`` in the user's configuration folder (made, readable by the owner only,
on first use). Consultants who share a store or exchange exports must use the same key; the
store keeps a fingerprint of the key (an HMAC of a fixed text, not the key) to detect a
mismatch.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from xmkit.errors import Problem, XmkitError

__all__ = ["KEY_ENV", "client_key", "firm_key", "key_fingerprint", "key_path"]

KEY_ENV = "XMKIT_BENCHMARK_KEY"
MIN_KEY_LENGTH = 16


def key_path() -> Path:
    """Where the firm key is kept when ``XMKIT_BENCHMARK_KEY`` is not set."""
    import platformdirs

    return platformdirs.user_config_path("xmkit") / "benchmark.key"


def firm_key() -> bytes:
    """The firm's secret key: the environment's, else the key file's (created if missing)."""
    text = os.environ.get(KEY_ENV, "").strip()
    where = KEY_ENV
    if not text:
        path = key_path()
        where = str(path)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(secrets.token_hex(32) + "\n")
        text = path.read_text(encoding="utf-8").strip()
    if len(text) < MIN_KEY_LENGTH:
        raise XmkitError(
            Problem(where, "the firm key is too short", expected=f"{MIN_KEY_LENGTH}+ characters")
        )
    return text.encode("utf-8")


def _normalized(client: str) -> bytes:
    return " ".join(client.casefold().split()).encode("utf-8")


def client_key(client: str, key: bytes) -> str:
    """The keyed hash of a client name (case and spacing ignored), as hex."""
    return hmac.new(key, _normalized(client), hashlib.sha256).hexdigest()


def key_fingerprint(key: bytes) -> str:
    """A short value that tells whether two parties use the same key, without revealing it."""
    return hmac.new(key, b"xmkit benchmark key fingerprint", hashlib.sha256).hexdigest()[:16]
