"""A firm's logo for the report cover, checked and embedded as a data URI.

Only PNG, JPEG and SVG files are accepted, told apart by their first bytes (not their name),
and at most :data:`MAX_LOGO_BYTES`. The report shows the logo as an image element whose source
is the data URI: a browser never runs scripts or loads resources from an SVG shown that way, so
an SVG's markup never becomes part of the page. An SVG is also cleaned before it is embedded
(:func:`clean_svg`), so the image stays inert when someone opens it on its own.
"""

from __future__ import annotations

import base64
from pathlib import Path
from xml.etree import ElementTree

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from xmkit.errors import InputError, Problem

__all__ = ["LOGO_TYPES", "MAX_LOGO_BYTES", "clean_svg", "logo_data_uri", "logo_type"]

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


ACTIVE_ELEMENTS = {"script", "foreignobject", "iframe", "object", "embed", "handler", "listener"}
"""SVG elements that can run code or pull in other documents: removed."""


def _local(name: str) -> str:
    return name.rpartition("}")[2].lower()


def clean_svg(data: bytes) -> bytes:
    """The SVG without scripts, event handlers, embedded documents or links outside itself.

    Parsed with ``defusedxml`` (no DTDs, no entity expansion); removes the elements of
    :data:`ACTIVE_ELEMENTS`, every ``on*`` attribute, and any ``href`` that is not a
    reference inside the file (``#id``) or an embedded PNG or JPEG. Raises ``ValueError``
    for text that is not well-formed SVG.
    """
    try:
        root = fromstring(data)
    except (ElementTree.ParseError, DefusedXmlException) as exc:
        raise ValueError(f"not well-formed SVG: {exc}") from None
    if _local(root.tag) != "svg":
        raise ValueError("not SVG: its root element is not svg")
    for parent in list(root.iter()):
        for child in list(parent):
            if _local(child.tag) in ACTIVE_ELEMENTS:
                parent.remove(child)
    for element in root.iter():
        for name, value in list(element.attrib.items()):
            local = _local(name)
            internal = value.strip().startswith(("#", "data:image/png", "data:image/jpeg"))
            if local.startswith("on") or (local == "href" and not internal):
                del element.attrib[name]
    ElementTree.register_namespace("", "http://www.w3.org/2000/svg")
    ElementTree.register_namespace("xlink", "http://www.w3.org/1999/xlink")
    return ElementTree.tostring(root, encoding="utf-8", xml_declaration=False)


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
    if kind == "svg":
        try:
            data = clean_svg(data)
        except ValueError as exc:
            raise InputError(Problem(str(path), f"logo is {exc}", expected=EXPECTED)) from None
    return f"data:{LOGO_TYPES[kind]};base64,{base64.b64encode(data).decode('ascii')}"
