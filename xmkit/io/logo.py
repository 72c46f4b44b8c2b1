"""A firm's logo for the report cover, checked and embedded as a data URI.

Only PNG, JPEG and SVG files are accepted, told apart by their first bytes (not their name),
and at most :data:`MAX_LOGO_BYTES`. The report shows the logo as an image element whose source
is the data URI: a browser never runs scripts or loads resources from an SVG shown that way, so
an SVG's markup never becomes part of the page.
"""

from __future__ import annotations

import base64
from pathlib import Path

from xmkit.errors import InputError, Problem

__all__ = ["LOGO_TYPES", "MAX_LOGO_BYTES", "logo_data_uri", "logo_type"]

MAX_LOGO_BYTES = 512 * 1024
LOGO_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "svg": "image/svg+xml"}
EXPECTED = f"a PNG, JPEG or SVG file of at most {MAX_LOGO_BYTES // 1024} KB"


def logo_type(data: bytes) -> str | None:
    """``png``, ``jpeg`` or ``svg`` from the file's first bytes; None for anything else."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<svg", b"<?xml")) and b"<svg" in data.lower():
        return "svg"
    return None


def logo_data_uri(path: str | Path) -> str:
    """The logo as ``data:<type>;base64,...``; a missing, large or other file is an input error."""
    path = Path(path)
    if not path.is_file():
        raise InputError(Problem(str(path), "logo file not found", expected=EXPECTED))
    if path.stat().st_size > MAX_LOGO_BYTES:
        raise InputError(
            Problem(
                str(path),
                f"logo is {path.stat().st_size // 1024} KB, larger than allowed",
                expected=EXPECTED,
            )
        )
    data = path.read_bytes()
    kind = logo_type(data)
    if kind is None:
        raise InputError(
            Problem(str(path), "logo is not a PNG, JPEG or SVG image", expected=EXPECTED)
        )
    return f"data:{LOGO_TYPES[kind]};base64,{base64.b64encode(data).decode('ascii')}"
