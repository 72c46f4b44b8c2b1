"""The firm key: from the environment, else a private key file made on first use."""

from __future__ import annotations

import stat

import pytest

from xmkit.benchmark.keys import client_key, firm_key, key_fingerprint, key_path
from xmkit.errors import XmkitError


def test_without_the_variable_a_private_key_file_is_made_once(monkeypatch, tmp_path):
    monkeypatch.delenv("XMKIT_BENCHMARK_KEY", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    key = firm_key()
    path = key_path()
    assert path.is_relative_to(tmp_path) and path.is_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert firm_key() == key and len(key) >= 32


def test_a_short_key_is_refused_and_names_are_matched_loosely(monkeypatch):
    monkeypatch.setenv("XMKIT_BENCHMARK_KEY", "short")
    with pytest.raises(XmkitError, match="too short"):
        firm_key()
    key = b"a-long-enough-firm-key"
    assert client_key("Acme  Fictitious", key) == client_key(" acme fictitious ", key)
    assert client_key("Acme Fictitious", key) != client_key("Acme Fictitious", b"x" * 20)
    assert key_fingerprint(key) != key_fingerprint(b"another-long-firm-key")
    assert key.decode() not in key_fingerprint(key)
