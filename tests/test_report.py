"""The report feature end to end: papermill on a real kernel, real Chromium, real PDF.

Rendering costs several seconds per report, so each report is rendered once by a
module-scoped fixture and shared by every test that inspects it.
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from batch_helpers import pdf_text, squash

import xmkit
from xmkit.analysis.recommend import recommend
from xmkit.render.execute import render_report, report_folder

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "assessments" / "example"
RESPONSES = EXAMPLE / "responses.csv"
TEMPLATE = ROOT / "templates" / "report.ipynb"
CLIENT = "Northwind Retail Group"
CLIENT_SLUG = "northwind-retail-group"
BIN = Path(sys.executable).parent
XMKIT = BIN / "xmkit"
PAPERMILL = BIN / "papermill"
SECTIONS = [
    "Contents",
    "Executive summary",
    "Maturity stage",
    "Category scores",
    "Practices",
    "Business units",
    "Perception gaps between roles",
    "Agreement",
    "Who answered",
    "Evidence: does EX lead CX here?",
    "EX and CX metrics by business unit",
    "Progress since 2025 Q4",
    "Targets",
    "Recommended next steps and roadmap",
    "Appendix: the questions behind the scores",
    "Method",
]
HOSTILE_CLIENT = "<script>alert(1)</script>"
HOSTILE_UNIT = "../../etc"
SUBPROCESS_TIMEOUT = 240


# ---- helpers -------------------------------------------------------------------------------


class _TextExtractor(HTMLParser):
    """Visible text of an HTML page: every text node; style, script and title left out."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in {"style", "script", "title"}:
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in {"style", "script", "title"} and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_text(source: str) -> str:
    """The page's text, unescaped, text nodes separated by one space."""
    parser = _TextExtractor()
    parser.feed(source)
    parser.close()
    return squash(" ".join(parser.parts))


def h2_titles(source: str) -> list[str]:
    return [html.unescape(t) for t in re.findall(r"<h2[^>]*>(.*?)</h2>", source, flags=re.S)]


def table_rows(source: str) -> list[list[str]]:
    """Every table row of the page as its cells' text."""
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", source, flags=re.S):
        cells = re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, flags=re.S)
        rows.append([squash(html.unescape(re.sub(r"<[^>]+>", " ", c))) for c in cells])
    return rows


def tree(folder: Path) -> set[Path]:
    """Every file and folder below ``folder``, relative to it."""
    return {p.relative_to(folder) for p in folder.rglob("*")}


def dot_entries(folder: Path) -> list[Path]:
    """Entries below ``folder`` whose name starts with a dot (temporary files and folders)."""
    return sorted(p for p in folder.rglob("*") if p.name.startswith("."))


def run_xmkit(*args: object, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    assert XMKIT.exists(), f"console script not installed at {XMKIT}"
    return subprocess.run(
        [str(XMKIT), *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=SUBPROCESS_TIMEOUT,
    )


def file_uri(path: Path) -> str:
    return path.resolve().as_uri()


@dataclass
class Rendered:
    """One rendered report and what the tests read from it."""

    out: Path
    folder: Path
    result: subprocess.CompletedProcess | None
    source: str
    text: str


def _rendered(out: Path, folder: Path, result: subprocess.CompletedProcess | None) -> Rendered:
    page = folder / "report.html"
    assert page.is_file(), (
        f"no report at {page}; exit {result and result.returncode}\n"
        f"stdout: {result and result.stdout}\nstderr: {result and result.stderr}"
    )
    source = page.read_text(encoding="utf-8")
    return Rendered(out=out, folder=folder, result=result, source=source, text=html_text(source))


# ---- fixtures ------------------------------------------------------------------------------


@pytest.fixture
def page(browser):
    """A fresh desktop-sized page; closed after the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield context.new_page()
    context.close()


@pytest.fixture(scope="module")
def org_report(browser, tmp_path_factory) -> Rendered:
    """The example organization's whole-organization report, rendered once by the CLI.

    Depends on ``browser`` so that a machine without Chromium skips (or, on CI, fails) here
    with a clear message instead of failing inside the PDF step.
    """
    out = tmp_path_factory.mktemp("org") / "out"
    result = run_xmkit("report", "assessments/example", "-o", out)
    return _rendered(out, out / CLIENT_SLUG / "all-units", result)


@pytest.fixture(scope="module")
def org_pdf_text(org_report: Rendered) -> str:
    return pdf_text(org_report.folder / "report.pdf")


@pytest.fixture(scope="module")
def unit_report(tmp_path_factory) -> Rendered:
    """The Head Office report (one business unit), HTML only."""
    out = tmp_path_factory.mktemp("unit") / "out"
    result = run_xmkit(
        "report", "assessments/example", "--unit", "Head Office", "--format", "html", "-o", out
    )
    return _rendered(out, out / CLIENT_SLUG / "head-office", result)


@dataclass
class Hostile:
    base: Path
    out: Path
    before: set[Path]
    parent_before: set[str]
    written: dict[str, Path]
    source: str


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory) -> Hostile:
    """A report whose client is a script tag and whose unit is a path traversal."""
    base = tmp_path_factory.mktemp("hostile")
    data = pd.read_csv(RESPONSES, dtype=str, keep_default_na=False)
    assert "Head Office" in set(data["unit"])
    data.loc[data["unit"] == "Head Office", "unit"] = HOSTILE_UNIT
    responses = base / "input" / "responses.csv"
    responses.parent.mkdir()
    data.to_csv(responses, index=False)
    out = base / "reports" / "out"
    out.mkdir(parents=True)
    before = tree(base)
    parent_before = {p.name for p in out.parent.iterdir()}
    written = render_report(
        responses, client=HOSTILE_CLIENT, unit=HOSTILE_UNIT, output_dir=out, formats="html"
    )
    return Hostile(
        base=base,
        out=out,
        before=before,
        parent_before=parent_before,
        written=written,
        source=written["html"].read_text(encoding="utf-8"),
    )


@pytest.fixture(scope="module")
def example_data() -> pd.DataFrame:
    return xmkit.load_responses(RESPONSES)


@pytest.fixture(scope="module")
def example_scores(example_data: pd.DataFrame) -> pd.DataFrame:
    return xmkit.score(example_data, min_group_size=5, n_boot=0)


@pytest.fixture(scope="module")
def raw_responses() -> pd.DataFrame:
    return pd.read_csv(RESPONSES, dtype=str, keep_default_na=False)


@pytest.fixture
def failing_copy(org_report: Rendered, tmp_path_factory) -> Path:
    """A copy of the rendered organization report's output tree, to fail a render into.

    Kept as short as ``org_report``'s path, so that these tests fail only for what they are
    about (see ``test_report_renders_into_a_deeply_nested_output_folder`` for long paths).
    """
    out = tmp_path_factory.mktemp("fail") / "out"
    shutil.copytree(org_report.out, out)
    return out


# ---- 1. CLI output layout ------------------------------------------------------------------


def test_cli_report_on_assessment_folder_writes_html_and_pdf_to_client_and_unit_folder(
    org_report: Rendered,
):
    result = org_report.result
    assert result.returncode == 0, result.stderr
    folder = org_report.out / CLIENT_SLUG / "all-units"
    assert (folder / "report.html").is_file()
    assert (folder / "report.pdf").is_file()
    assert (folder / "report.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert (folder / "report.pdf").read_bytes().startswith(b"%PDF-")
    assert str(folder / "report.html") in result.stdout
    assert str(folder / "report.pdf") in result.stdout


def test_cli_report_writes_no_notebook_unless_asked(org_report: Rendered):
    assert not list(org_report.out.rglob("*.ipynb"))
    assert tree(org_report.out) == {
        Path(CLIENT_SLUG),
        Path(CLIENT_SLUG, "all-units"),
        Path(CLIENT_SLUG, "all-units", "report.html"),
        Path(CLIENT_SLUG, "all-units", "report.pdf"),
    }


def test_cli_report_leaves_no_temporary_files_behind(org_report: Rendered):
    assert dot_entries(org_report.out) == []


# ---- 2. numbers ----------------------------------------------------------------------------


def test_html_shows_overall_and_category_scores_computed_by_score(
    org_report: Rendered, example_scores: pd.DataFrame
):
    overall = example_scores[example_scores["level"] == "overall"].iloc[0]
    assert not overall["suppressed"]
    assert f"{overall['score']:.2f}" in org_report.text
    assert f"overall score of {overall['score']:.2f}" in org_report.text
    cats = example_scores[example_scores["level"] == "category"]
    assert len(cats) == 4
    section = re.search(r'<section class="section-categories">.*?</section>', org_report.source)
    rows = {r[0]: r for r in table_rows(section.group(0)) if r}
    assert rows["Overall"][1] == f"{overall['score']:.2f}"
    for cat in cats.itertuples():
        assert f"{cat.score:.2f}" in org_report.text
        # the category table pairs each name with its own score
        assert rows[cat.name][1] == f"{cat.score:.2f}", rows[cat.name]


# ---- 3. the page in a browser --------------------------------------------------------------


def test_html_report_loads_in_chromium_without_console_or_page_errors(org_report: Rendered, page):
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(file_uri(org_report.folder / "report.html"), wait_until="load")
    assert page.title() == f"{CLIENT} - EX-CX alignment 2026 Q4"
    assert errors == []


def test_html_report_charts_are_embedded_images_that_decode(org_report: Rendered, page):
    page.goto(file_uri(org_report.folder / "report.html"), wait_until="load")
    images = page.evaluate(
        "Array.from(document.images).map(i => ({alt: i.alt, src: i.src.slice(0, 26),"
        " complete: i.complete, width: i.naturalWidth}))"
    )
    alts = [image["alt"] for image in images]
    assert {"Category scores", "Business unit heatmap", "Scores by role"} <= set(alts), alts
    for image in images:
        assert image["src"] == "data:image/svg+xml;base64,", image
        assert image["complete"] and image["width"] > 0, image


def test_practice_grid_shows_every_practice_score_darker_for_a_higher_score(
    org_report: Rendered, example_scores: pd.DataFrame, page
):
    """The practices are an HTML grid (text, not an image): each tile names the practice,
    shows its score and level, and a higher score has a darker background (the palette's
    colour-blind-safe ramp)."""
    page.goto(file_uri(org_report.folder / "report.html"), wait_until="load")
    tiles = page.evaluate(
        "Array.from(document.querySelectorAll('.practice-grid td')).map(td => "
        "({text: td.innerText, rgb: getComputedStyle(td).backgroundColor}))"
    )
    framework = xmkit.load_framework()
    practices = example_scores[example_scores["level"] == "practice"].set_index("id")["score"]
    expected = [(p.name, practices[p.id]) for _, p in framework.practices]
    assert len(tiles) == len(expected) == 12
    for tile, (name, value) in zip(tiles, expected, strict=True):
        assert name in tile["text"], tile
        assert f"{value:.2f} (level {int(value)})" in tile["text"], tile
    brightness = [sum(map(int, re.findall(r"\d+", t["rgb"])[:3])) for t in tiles]
    by_score = [d for _, d in sorted(zip([v for _, v in expected], brightness, strict=True))]
    assert by_score == sorted(by_score, reverse=True), (expected, brightness)


def test_html_report_shows_no_code_prompts_tracebacks_or_scripts(org_report: Rendered, page):
    page.goto(file_uri(org_report.folder / "report.html"), wait_until="load")
    text = page.inner_text("body")
    for code in ("xr.show", "import ", "In [", "ctx =", "Traceback"):
        assert code not in text
        assert code not in org_report.source
    assert page.evaluate("document.querySelectorAll('script').length") == 0
    assert "<script" not in org_report.source.lower()


def test_html_report_fits_a_phone_screen_without_horizontal_scrolling(
    org_report: Rendered, browser
):
    context = browser.new_context(
        viewport={"width": 375, "height": 800}, is_mobile=True, has_touch=True
    )
    try:
        phone = context.new_page()
        phone.goto(file_uri(org_report.folder / "report.html"), wait_until="load")
        layout = phone.evaluate(
            """() => ({
                inner: window.innerWidth,
                scroll: document.documentElement.scrollWidth,
                body: document.body.scrollWidth,
                wide: Array.from(document.querySelectorAll('.table-wrap'))
                    .filter(w => w.scrollWidth > w.clientWidth + 1)
                    .map(w => getComputedStyle(w).overflowX),
                unwrapped: Array.from(document.querySelectorAll('table'))
                    .filter(t => !t.closest('.table-wrap'))
                    .filter(t => t.getBoundingClientRect().right > window.innerWidth + 1)
                    .length,
                images: Array.from(document.images)
                    .map(i => i.getBoundingClientRect().right)
            })"""
        )
        assert layout["inner"] == 375, layout
        assert layout["scroll"] <= 375 + 1, layout
        assert layout["body"] <= 375 + 1, layout
        # tables too wide for the phone scroll inside their own wrapper
        assert all(overflow in {"auto", "scroll"} for overflow in layout["wide"]), layout
        assert layout["unwrapped"] == 0, layout
        assert all(right <= 375 + 1 for right in layout["images"]), layout
    finally:
        context.close()


# ---- 4. PDF --------------------------------------------------------------------------------


def test_pdf_contains_categories_and_the_first_next_step(
    org_pdf_text: str, example_scores: pd.DataFrame
):
    for category in ("Visualize", "Analyze", "Involve", "Converge"):
        assert category in org_pdf_text
    first = recommend(example_scores, xmkit.load_framework()).iloc[0]
    assert squash(first["practice"]) in org_pdf_text
    assert squash(first["action"])[:40] in org_pdf_text


def test_pdf_pages_are_a4(org_report: Rendered):
    pdf = org_report.folder / "report.pdf"
    info = subprocess.run(
        ["pdfinfo", "-f", "1", "-l", "9999", str(pdf)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    pages = int(re.search(r"^Pages:\s+(\d+)", info, flags=re.M).group(1))
    assert pages >= 2
    sizes = re.findall(r"^Page\s+\d+ size:\s+([\d.]+) x ([\d.]+) pts", info, flags=re.M)
    assert len(sizes) == pages, info
    for width, height in sizes:
        assert abs(float(width) - 595) <= 1.5, info
        assert abs(float(height) - 842) <= 1.5, info


# ---- 5. sections ---------------------------------------------------------------------------


def test_org_report_sections_appear_in_order_after_the_cover(org_report: Rendered):
    assert h2_titles(org_report.source) == SECTIONS
    text = org_report.text
    assert text.startswith("Download the PDF EX/CX alignment maturity report")
    position = text.index(CLIENT)
    for title in SECTIONS:
        found = text.find(title, position + 1)
        assert found > position, f"{title!r} missing or out of order"
        position = found
    h1 = re.search(r"<h1>(.*?)</h1>", org_report.source).group(1)
    assert html.unescape(h1) == CLIENT
    assert org_report.source.index("<h1>") < org_report.source.index("<h2>")


# ---- 6. confidentiality --------------------------------------------------------------------


def test_small_unit_is_listed_without_any_score(org_report: Rendered, example_data):
    # The Who answered section lists it too, without its count (tests/test_handover.py).
    source = re.sub(r'<section class="section-sample">.*?</section>', "", org_report.source)
    rows = [r for r in table_rows(source) if r and r[0] == "Pop-up Stores"]
    assert len(rows) == 1, rows
    # one line: its name, then the reason once across the other columns; its size is not shown
    # either, as in "Who answered", so no table tells who took part in a group this small
    _name, reason = rows[0]
    assert reason == "fewer than 5 responses"
    assert not any(re.fullmatch(r"\d+[.,]\d+", cell) for cell in rows[0])
    # the score the unit would have had if it were shown is nowhere in its row
    popup = xmkit.score(example_data[example_data["unit"] == "Pop-up Stores"], min_group_size=1)
    hidden = popup[popup["level"] == "overall"].iloc[0]["score"]
    assert f"{hidden:.2f}" not in rows[0]
    assert "Pop-up Stores fewer than 5 responses" in org_report.text


def test_no_respondent_id_appears_in_html_or_pdf(
    org_report: Rendered, org_pdf_text: str, raw_responses: pd.DataFrame
):
    ids = raw_responses["respondent_id"].tolist()
    sample = ["NW-0001", *ids[:: max(1, len(ids) // 50)][:50]]
    for rid in sample:
        assert rid not in org_report.source, rid
        assert rid not in org_pdf_text, rid


def test_no_comment_text_appears_in_html_or_pdf(
    org_report: Rendered, org_pdf_text: str, raw_responses: pd.DataFrame
):
    comments = [squash(c) for c in raw_responses["comment"] if c.strip()]
    assert len(comments) > 10
    for comment in comments:
        fragment = comment[:30]
        assert fragment not in org_report.text, comment
        assert html.escape(fragment) not in org_report.source, comment
        assert fragment not in org_pdf_text, comment


# ---- 7. hostile names ----------------------------------------------------------------------


def test_hostile_client_and_unit_write_only_inside_the_output_folder(hostile_report: Hostile):
    out = hostile_report.out.resolve()
    written = hostile_report.written["html"].resolve()
    assert set(hostile_report.written) == {"html"}
    assert written.is_relative_to(out)
    assert written.is_file()
    for path in hostile_report.out.rglob("*"):
        assert path.resolve().is_relative_to(out), path
        assert not path.is_symlink(), path
    files = [p for p in hostile_report.out.rglob("*") if p.is_file()]
    assert [p.resolve() for p in files] == [written]
    assert dot_entries(hostile_report.out) == []
    # nothing new beside the output folder, nor anywhere else in the test's folder
    assert {p.name for p in hostile_report.out.parent.iterdir()} == hostile_report.parent_before
    new = {p for p in tree(hostile_report.base) - hostile_report.before}
    assert all(p.parts[:2] == ("reports", "out") for p in new), new


def test_hostile_client_name_is_escaped_in_the_html_source(hostile_report: Hostile):
    source = hostile_report.source
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in source
    assert "<script>alert(1)</script>" not in source
    assert "<script" not in source.lower()
    assert HOSTILE_UNIT in source


def test_hostile_names_show_as_text_and_run_nothing_in_chromium(hostile_report: Hostile, page):
    dialogs: list[str] = []

    def on_dialog(dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    errors: list[str] = []
    page.on("dialog", on_dialog)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(file_uri(hostile_report.written["html"]), wait_until="load")
    page.wait_for_timeout(200)
    assert dialogs == []
    assert errors == []
    assert page.evaluate("document.querySelectorAll('script').length") == 0
    text = page.inner_text("body")
    assert HOSTILE_CLIENT in text
    assert HOSTILE_UNIT in text
    assert page.inner_text("h1") == HOSTILE_CLIENT
    assert page.title() == f"{HOSTILE_CLIENT} - {HOSTILE_UNIT} - EX-CX alignment"


# ---- 8. unit report ------------------------------------------------------------------------


def test_unit_report_names_the_unit_on_the_cover_and_has_no_business_units_section(
    unit_report: Rendered,
):
    assert unit_report.result.returncode == 0, unit_report.result.stderr
    assert tree(unit_report.out) == {
        Path(CLIENT_SLUG),
        Path(CLIENT_SLUG, "head-office"),
        Path(CLIENT_SLUG, "head-office", "report.html"),
    }
    cover = re.search(r'<header class="cover">(.*?)</header>', unit_report.source, flags=re.S)
    assert cover is not None
    cover_text = html_text(cover.group(1))
    assert "Head Office" in cover_text
    assert CLIENT in cover_text
    assert "All business units" not in cover_text
    subtitle = re.search(r'<p class="subtitle">(.*?)</p>', cover.group(1)).group(1)
    assert html.unescape(subtitle) == "Head Office"
    facts = dict(r for r in table_rows(cover.group(1)) if len(r) == 2)
    assert facts["Business unit"] == "Head Office"
    assert facts["Respondents"] == "36"
    assert facts["Period"] == "2026 Q4"  # from assessment.yaml
    assert h2_titles(unit_report.source) == [s for s in SECTIONS if s != "Business units"]
    assert "section-units" not in unit_report.source


# ---- 9. the notebook template on its own ---------------------------------------------------


def _template_parameters() -> dict[str, str]:
    """Name -> description, from the template's parameters cell comments."""
    notebook = nbformat.read(TEMPLATE, as_version=4)
    cells = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1
    found = {}
    for line in cells[0].source.splitlines():
        match = re.match(r"(\w+)\s*:\s*[\w\[\]]+\s*=.*?#\s*(.+)$", line)
        if match:
            found[match.group(1)] = match.group(2).strip()
    return found


def test_papermill_help_lists_every_report_parameter_with_its_description():
    done = subprocess.run(
        [str(PAPERMILL), "--help-notebook", str(TEMPLATE)],
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    described = _template_parameters()
    output = squash(done.stdout)
    for name in ("responses", "client", "unit", "period", "framework", "min_group_size"):
        kind = r"(str|int|Optional\[(str|int)\])"
        assert re.search(rf"^\s*{name}: {kind} \(default", done.stdout, flags=re.M), name
        assert described.get(name), f"parameter {name} has no description in the template"
        assert squash(described[name]) in output, name


def test_papermill_runs_the_template_directly(tmp_path: Path):
    output = tmp_path / "out.ipynb"
    done = subprocess.run(
        [
            str(PAPERMILL),
            str(TEMPLATE),
            str(output),
            "-p",
            "client",
            "Papermill Direct Client",
            "-p",
            "responses",
            str(RESPONSES.resolve()),
        ],
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    notebook = nbformat.read(output, as_version=4)
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    shown = "".join(o.get("data", {}).get("text/html", "") for o in outputs)
    assert "<h1>Papermill Direct Client</h1>" in shown
    evidence = {
        "Evidence: does EX lead CX here?",
        "EX and CX metrics by business unit",
        "Progress since 2025 Q4",
        "Targets",
    }
    assert h2_titles(shown) == [s for s in SECTIONS if s not in evidence]  # none asked for


# ---- 10. failures --------------------------------------------------------------------------


def _snapshot(folder: Path) -> dict[Path, bytes]:
    return {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_missing_responses_file_exits_1_and_keeps_the_earlier_report(
    failing_copy: Path, tmp_path: Path
):
    before = _snapshot(failing_copy)
    assert Path(CLIENT_SLUG, "all-units", "report.html") in before
    missing = tmp_path / "no-such-responses.csv"
    result = run_xmkit("report", missing, "--client", CLIENT, "-o", failing_copy)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert str(missing) in result.stderr
    assert "not found" in result.stderr
    assert result.stdout == ""
    assert _snapshot(failing_copy) == before
    assert dot_entries(failing_copy) == []


def test_unknown_unit_is_a_usage_error_naming_the_units_and_keeps_the_earlier_report(
    failing_copy: Path,
):
    # an earlier report of the unit sits in the folder this render would write to
    unit_folder = failing_copy / CLIENT_SLUG / "no-such-unit"
    unit_folder.mkdir()
    shutil.copy2(failing_copy / CLIENT_SLUG / "all-units" / "report.html", unit_folder)
    before = _snapshot(failing_copy)
    result = run_xmkit(
        "report", "assessments/example", "--unit", "No such unit", "-o", failing_copy
    )
    assert result.returncode == 2  # a flag naming nothing in the data: a usage error
    assert "Traceback" not in result.stderr
    assert "no unit 'No such unit'" in result.stderr
    assert "Head Office" in result.stderr
    assert "internal error" not in result.stderr
    assert _snapshot(failing_copy) == before
    assert dot_entries(failing_copy) == []


# ---- output folder paths -------------------------------------------------------------------


def test_report_renders_into_a_deeply_nested_output_folder(tmp_path: Path):
    """Output folders are chosen by users (and CI temp dirs are deep): a long path must work.

    The kernel's IPC sockets live beside the output; a Unix socket path is limited to 107
    bytes, so they must not be derived from an arbitrarily long output path.
    """
    out = tmp_path / "client-deliverables" / ("engagement-2026-q4-" + "x" * 60) / "reports"
    out.mkdir(parents=True)
    result = run_xmkit("report", "assessments/example", "--format", "html", "-o", out)
    folder = out / CLIENT_SLUG / "all-units"
    assert len(str(folder)) > 110
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert (folder / "report.html").is_file()
    assert h2_titles((folder / "report.html").read_text(encoding="utf-8")) == SECTIONS
    assert dot_entries(out) == []


def test_a_unit_named_all_units_does_not_share_the_whole_organization_folder(tmp_path: Path):
    """A unit report must never overwrite the whole-organization report."""
    organization = report_folder(tmp_path, CLIENT, None)
    for unit in ("All units", "all-units", "ALL UNITS"):
        assert report_folder(tmp_path, CLIENT, unit) != organization, unit
