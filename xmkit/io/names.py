"""Names from untrusted data (units, roles, clients) made safe to show, file and tabulate.

A name can hold characters nobody typed on purpose, and each does harm somewhere:

* control characters (C0, DEL, C1: ``\\x1b`` starts terminal escape sequences, a newline forges
  a progress line, and openpyxl refuses them, so a workbook cannot be written) are removed;
  line breaks and tabs become a space so words stay apart;
* bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069) reorder the
  text around them ("Stores" + U+202E + "fdp.exe" shows as "Storesexe.pdf"), and zero-width
  characters (U+200B-U+200D, U+2060, U+FEFF) make two names that look alike different: both
  are shown escaped, as ``<U+202E>``, so a reader sees that they are there.

The cleaned name is the unit's name everywhere (reports, portfolio, manifest, progress lines),
so the same text is shown on screen, in files and in spreadsheets.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import pandas as pd

__all__ = ["clean_name", "clean_names"]

_INVISIBLE = re.compile("[\u200b-\u200d\u2060\ufeff\u202a-\u202e\u2066-\u2069]")
_LINE_BREAKS = re.compile(r"[\t\n\v\f\r\x1c-\x1e\x85]+")


def _escape(match: re.Match) -> str:
    return f"<U+{ord(match.group()):04X}>"


def clean_name(text: str) -> str:
    """``text`` without control characters, with bidi controls and zero-width ones escaped."""
    text = _LINE_BREAKS.sub(" ", text)
    if not text.isprintable():  # fast path: most names are printable already
        text = "".join(c for c in text if unicodedata.category(c) != "Cc")
    return _INVISIBLE.sub(_escape, text).strip()


def clean_names(names: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Cleaned names (see :func:`clean_name`) and a mask of the rows whose name changed."""
    # a column holds few distinct names (units, roles): clean each once, not once per row
    codes, unique = pd.factorize(names, use_na_sentinel=False)
    fixed = [clean_name(u) for u in unique]
    changed = np.array([f != u for f, u in zip(fixed, unique, strict=True)], dtype=bool)
    if not changed.any():  # the usual case: nothing to replace
        return names, pd.Series(False, index=names.index)
    cleaned = pd.Series(np.asarray(fixed, dtype=object)[codes], index=names.index)
    return cleaned, pd.Series(changed[codes], index=names.index)
