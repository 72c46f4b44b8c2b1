"""HTML from Jinja2 templates: the one place where view data becomes markup.

Templates live in ``xmkit/report/templates/`` and stylesheets in ``xmkit/report/static/``,
both package data. Autoescaping is on, so any text from an input (client, unit, framework
wording, comments) is shown as text wherever a template puts it; nothing is marked safe
except HTML that our own templates made. ``StrictUndefined`` turns a misspelt view field into
an error instead of a silently empty cell.

The environment is built once per process and keeps its compiled templates: a batch worker
(or warm kernel) compiles each template once, however many reports it renders.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from importlib import resources
from typing import Any

import jinja2
from markupsafe import Markup

from xmkit.report import palette

__all__ = ["compile_templates", "page", "render", "section", "snippet", "stylesheet"]

_LINE_BREAK = re.compile(r"\n[ \t]*")


class _CompactLoader(jinja2.BaseLoader):
    """Templates from the package, with line breaks and the indentation after them removed.

    Templates are written indented for reading; the HTML they give is as compact as the
    strings it replaces, so pages keep their size and tests can match tags side by side.
    Text that continues on a new line therefore needs its space before the line break.
    """

    def get_source(self, environment, template):
        try:
            text = (resources.files("xmkit.report") / "templates" / template).read_text("utf-8")
        except (FileNotFoundError, IsADirectoryError):
            raise jinja2.TemplateNotFound(template) from None
        return _LINE_BREAK.sub("", text).strip() if template.endswith(".j2") else text, None, None


@functools.cache
def _environment() -> jinja2.Environment:
    # auto_reload off: templates are package data, never edited while a batch runs, and a
    # reload check would be a file stat per section.
    return jinja2.Environment(
        loader=_CompactLoader(),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        auto_reload=False,
        keep_trailing_newline=False,
    )


def compile_templates() -> int:
    """Compile every template now (a warm kernel does it once, before its first report)."""
    folder = resources.files("xmkit.report") / "templates"
    names = [
        f"{sub}{entry.name}"
        for sub in ("", "sections/")
        for entry in (folder / sub).iterdir()
        if entry.name.endswith(".j2")
    ]
    for name in names:
        _environment().get_template(name)
    return len(names)


def render(template: str, /, **view: Any) -> Markup:
    """``templates/<template>`` filled in with ``view`` (plain values, escaped as they go in).

    The result is :class:`~markupsafe.Markup` (a ``str``), so another template inserts it as
    HTML rather than escaping it again.
    """
    return Markup(_environment().get_template(template).render(**view))


def snippet(template: str, macro: str, /, **view: Any) -> str:
    """One macro of ``templates/<template>``: a small piece of HTML, e.g. an ipywidgets value."""
    return str(getattr(_environment().get_template(template).module, macro)(**view))


@functools.cache
def stylesheet(name: str) -> str:
    """The text of ``static/<name>``, read once per process."""
    return (resources.files("xmkit.report") / "static" / name).read_text(encoding="utf-8")


def page(
    title: str,
    body: str,
    css: str = "report.css",
    footer: str = "Made with xmkit.",
    downloads: Sequence[tuple[str, str, str]] = (),
) -> str:
    """A standalone HTML page: the one skeleton of the report, portfolio and questionnaire.

    ``body`` is HTML made by our templates (sections or the questionnaire); ``title`` and
    ``footer`` are text and get escaped. ``downloads`` are ``(href, file name, label)`` links
    whose ``download`` attribute offers a file under a name people read (the files on disk
    keep their stable names).
    """
    # The stylesheet is our own package file and ``body`` our templates' output: both are
    # inserted as they are; only ``title`` and ``footer`` are escaped.
    view = {
        "title": title,
        "css": Markup(palette.css_variables() + stylesheet(css)),
        "body": Markup(body),
        "footer": footer,
        "downloads": list(downloads),
    }
    return _environment().get_template("page.html.j2").render(**view) + "\n"


def section(key: str) -> Callable[[Callable[..., dict | None]], Callable[..., str]]:
    """Make a view function (context -> view data, or None for "no section") a section.

    The decorated function returns the section's HTML, ``templates/sections/<key>.html.j2``
    filled with the view data, or "" when the view is None; the view function itself stays
    reachable as ``.view`` for tests and other renderings.
    """

    def decorate(view_function: Callable[..., dict | None]) -> Callable[..., str]:
        @functools.wraps(view_function)
        def rendered(*args, **kwargs) -> str:
            view = view_function(*args, **kwargs)
            return "" if view is None else render(f"sections/{key}.html.j2", key=key, **view)

        rendered.view = view_function  # type: ignore[attr-defined]
        return rendered

    return decorate
