"""Safe file and folder names from untrusted text (client and unit names)."""

from __future__ import annotations

import hashlib
import re
import unicodedata

__all__ = [
    "MAX_DOWNLOAD_NAME",
    "MAX_SLUG",
    "WINDOWS_RESERVED",
    "download_name",
    "portfolio_title",
    "report_title",
    "slugify",
]

MAX_SLUG = 60
WINDOWS_RESERVED = {
    "con",
    "prn",
    "aux",
    "nul",
    *(f"com{i}" for i in range(10)),
    *(f"lpt{i}" for i in range(10)),
}


def slugify(text: str, fallback: str = "unnamed") -> str:
    """A lower-case ASCII name of letters, digits and single hyphens, at most 60 characters.

    Path separators, dots, control characters and look-alike Unicode letters cannot survive
    (NFKD folding, then anything outside ``[a-z0-9]`` becomes ``-``), so the result never
    leaves its folder. When the text had to be shortened or had no usable characters, a short
    hash of the original keeps distinct names distinct. Reserved Windows device names get a
    suffix.
    """
    text = str(text)
    decomposed = unicodedata.normalize("NFKD", text)
    folded = decomposed.encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    if not slug:
        return f"{fallback}-{digest}" if text else fallback
    # Folding that did more than drop accents (full-width or Cyrillic look-alikes, ligatures)
    # keeps a hash, so "Ｓｔｏｒｅｓ" or "Stоres" never shares the folder of "Stores".
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    lossy = not bare.isascii() or unicodedata.normalize("NFKC", text) != text
    if len(slug) > MAX_SLUG or lossy:
        slug = f"{slug[: MAX_SLUG - 9].rstrip('-')}-{digest}"
    if slug in WINDOWS_RESERVED:
        slug = f"{slug}-{digest}"
    return slug


MAX_DOWNLOAD_NAME = 150
_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')


def report_title(client: str, unit: str | None = None, period: str = "") -> str:
    """What a person calls the report: ``Northwind Retail Group - Stores North - EX-CX
    alignment 2026 Q4``; the page title, the PDF's title and the base of its download name."""
    parts = [client, unit or "", f"EX-CX alignment {period}".strip()]
    return " - ".join(p.strip() for p in parts if p and p.strip())


def portfolio_title(client: str, period: str = "") -> str:
    """The portfolio's :func:`report_title`: "Portfolio" where a report names its unit."""
    return report_title(client, "Portfolio", period)


def download_name(title: str, extension: str) -> str:
    """``title`` as a file name offered for download (the ``download`` attribute of a link).

    The files on disk keep their stable slug layout; this is only the name a browser
    suggests. Path separators, control characters and characters Windows refuses become a
    space, leading dots and spaces go (no hidden file, no ``..``), and the name is shortened
    to :data:`MAX_DOWNLOAD_NAME` characters before the extension.
    """
    name = unicodedata.normalize("NFKC", str(title))
    name = " ".join(_UNSAFE.sub(" ", name).split()).lstrip(". -").rstrip(". ")
    name = name[:MAX_DOWNLOAD_NAME].rstrip(". ") or "report"
    if name.split(".")[0].lower() in WINDOWS_RESERVED:
        name = f"report {name}"
    return f"{name}.{extension}"
