"""Report markup lives in templates: sections hand over plain data, Jinja2 escapes it."""

from __future__ import annotations

import re
from pathlib import Path

import jinja2
import pytest

from xmkit.report import markup, portfolio
from xmkit.report import sections as xr

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "assessments" / "example"
TAG = re.compile(
    r"<(div|p|span|table|tr|td|th|h[1-6]|section|ul|ol|li|a|svg|img|figure|style|html|body)[ >]"
)
REPORT_SECTIONS = [
    "cover",
    "summary",
    "stage",
    "categories",
    "practices",
    "units",
    "roles",
    "agreement",
    "evidence",
    "progress",
    "targets",
    "next_steps",
    "comments",
    "questions",
    "method",
]


@pytest.fixture(scope="module")
def context() -> xr.ReportContext:
    """The example organization with every optional section switched on."""
    return xr.prepare(
        EXAMPLE / "responses.csv",
        "Northwind",
        n_boot=20,
        include_comments=True,
        metrics=EXAMPLE / "metrics.csv",
        previous=EXAMPLE / "previous" / "responses.csv",
        targets='{"all": {"level": 3}}',
    )


def strings(value) -> list[str]:
    """Every string inside a view (dicts, lists, tuples), keys included."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in strings(k) + strings(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in strings(v)]
    return []


@pytest.mark.parametrize("name", REPORT_SECTIONS)
def test_report_section_views_are_plain_data_without_markup(context, name):
    view = getattr(xr, name).view(context)
    assert isinstance(view, dict), name
    found = [s for s in strings(view) if "<" in s or "&" in s]
    assert found == [], found
    html = getattr(xr, name)(context)
    assert html.startswith(("<section", "<header")), html[:80]


def test_a_section_without_data_renders_as_nothing(context):
    bare = xr.prepare(EXAMPLE / "responses.csv", "Northwind", n_boot=0)
    for name in ("evidence", "progress", "targets", "comments"):
        assert getattr(xr, name).view(bare) is None
        assert getattr(xr, name)(bare) == ""


def test_templates_escape_every_value_and_refuse_unknown_names():
    hostile = "<img src=x onerror=alert(1)> & \"quotes\" 'too'"
    shown = markup.render("sections/method.html.j2", key="method", title=hostile, items=[hostile])
    assert "<img" not in shown and '"quotes"' not in shown
    assert (
        shown.count("&lt;img src=x onerror=alert(1)&gt; &amp; &#34;quotes&#34; &#39;too&#39;") == 2
    )
    with pytest.raises(jinja2.UndefinedError):
        markup.render("sections/method.html.j2", key="method", title="Method")


def test_page_skeleton_escapes_title_and_footer_but_not_the_sections():
    page = markup.page("<b>T</b>", "<section>ok</section>", footer="<i>f</i>")
    assert page.startswith('<!DOCTYPE html>\n<html lang="en">') and page.endswith("</html>\n")
    assert "<title>&lt;b&gt;T&lt;/b&gt;</title>" in page
    assert "<main><section>ok</section><footer>&lt;i&gt;f&lt;/i&gt;</footer></main>" in page
    assert markup.stylesheet("report.css") in page


def test_portfolio_sections_use_the_shared_helpers_not_private_names():
    source = (ROOT / "xmkit" / "report" / "portfolio.py").read_text(encoding="utf-8")
    assert not re.search(r"import .*\b_[a-z]", source)
    assert portfolio.cover.view is not xr.cover.view


def test_python_sources_hold_almost_no_html_tags():
    """Markup is in templates; what is left is Chromium's page-number footer (render/pdf.py)."""
    lines = [
        f"{path.relative_to(ROOT)}: {line.strip()}"
        for path in sorted((ROOT / "xmkit").rglob("*.py"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if TAG.search(line)
    ]
    assert len(lines) <= 5, "\n".join(lines)
    assert all(line.startswith("xmkit/render/pdf.py") for line in lines), "\n".join(lines)


@pytest.mark.parametrize("answer", [2, 5], ids=["one-respondent", "all-at-top-level"])
def test_every_section_renders_for_a_single_self_assessment(make_wide, framework, answer):
    """A self-assessment: one respondent, minimum group size 1, no role gaps; at the top
    level there are no next steps at all."""
    data = make_wide(n=1).astype({q: float for q in framework.question_ids})
    data[framework.question_ids] = float(answer)
    ctx = xr.prepare(data, "Solo", min_group_size=1, n_boot=0, include_comments=True)
    page = "".join(getattr(xr, name)(ctx) for name in REPORT_SECTIONS)
    assert "No perception gap can be shown: no two roles each have enough responses" in page
    if answer == 5:
        assert "Every practice is at the top level" in page


def test_every_template_compiles_for_the_warm_kernel():
    """Warm kernels compile every template before their first report (render/engine.py)."""
    on_disk = list((ROOT / "xmkit" / "report" / "templates").rglob("*.j2"))
    assert markup.compile_templates() == len(on_disk) >= 20
