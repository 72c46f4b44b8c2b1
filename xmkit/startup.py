"""Start-up of the processes xmkit owns: the ``xmkit`` command and its batch workers.

nbformat (read by papermill) imports jsonschema, whose format checkers import rfc3987-syntax
when it is installed, as JupyterLab's dependencies install it. rfc3987-syntax 1.1 builds about
35 Earley parsers at import: about a second of CPU in every process that touches a notebook
(python-jsonschema/jsonschema#1428). No notebook schema uses the ``iri`` formats it checks, so
xmkit's own processes go without it; a program that imports xmkit as a library is left as is.
"""

from __future__ import annotations

import sys

SLOW_UNUSED = ("rfc3987_syntax",)


def skip_slow_imports() -> None:
    """Make the unused slow modules unimportable in this process (jsonschema then skips them).

    Only effective before jsonschema is imported; never unloads anything already imported.
    """
    if "jsonschema" in sys.modules:
        return
    for name in SLOW_UNUSED:
        sys.modules.setdefault(name, None)
