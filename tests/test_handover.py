"""What a consultant hands over (issue 18, point 2): roadmap details, who answered, EX and CX
metrics per unit, the table of contents, the firm's logo and download names.

One whole-organization report (HTML and PDF) is rendered once by the CLI from a copy of the
example assessment, changed where the tests need it: a client name with "/" and "..", a role
of three respondents (below the minimum), headcounts, fieldwork dates, a firm and an SVG logo
that tries to run a script.
"""

from __future__ import annotations

import base64
import csv
import html
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml

from xmkit.errors import XmkitError
from xmkit.framework import load_framework, parse_framework
from xmkit.io.paths import download_name, report_title, slugify

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "assessments" / "example"
XMKIT = Path(__import__("sys").executable).with_name("xmkit")
CLIENT = "Northwind/../Retail .. Group"
PERIOD = "2026 Q4"
SMALL_ROLE = "Board"
HEADCOUNTS = {
    "Stores North": 100,
    "Stores South": 80,
    "Contact Centre": 60,
    "Logistics": 50,
    "E-commerce": 40,
    "Head Office": 45,
    "Pop-up Stores": 10,
}
EVIL_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20" '
    "onload=\"document.title='pwned'\"><script>window.pwned = 1;</script>"
    '<rect width="40" height="20" fill="#4C72B0"/></svg>'
)


def _assessment(folder: Path) -> Path:
    """A copy of the example: three respondents moved to a small role, hand-over keys added."""
    shutil.copytree(EXAMPLE, folder)
    responses = folder / "responses.csv"
    with responses.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    for row in [r for r in rows if r["role"] == "Frontline"][:3]:
        row["role"] = SMALL_ROLE
    with responses.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    (folder / "logo.svg").write_text(EVIL_SVG, encoding="utf-8")
    data = yaml.safe_load((folder / "assessment.yaml").read_text(encoding="utf-8"))
    data |= {
        "client": CLIENT,
        "firm": "Acme Advisory",
        "logo": "logo.svg",
        "headcounts": HEADCOUNTS,
        "fieldwork": {"start": "2026-10-05", "end": "2026-10-30"},
    }
    (folder / "assessment.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def report(browser, tmp_path_factory) -> Path:
    """The report folder, rendered once (HTML and PDF) by the CLI."""
    base = tmp_path_factory.mktemp("handover")
    assessment = _assessment(base / "assessment")
    out = base / "out"
    result = subprocess.run(
        [str(XMKIT), "report", str(assessment), "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    folder = out / slugify(CLIENT) / "all-units"
    assert (folder / "report.pdf").is_file(), result.stderr
    return folder


@pytest.fixture(scope="module")
def source(report: Path) -> str:
    return (report / "report.html").read_text(encoding="utf-8")


def _section(source: str, key: str) -> str:
    found = re.search(rf'<section class="section-{key}">(.*?)</section>', source, flags=re.S)
    assert found, key
    return found.group(1)


def _table(fragment: str, after: str = "") -> list[list[str]]:
    """The rows of the first table after ``after`` in an HTML fragment, as text."""
    fragment = fragment[fragment.index(after) :] if after else fragment
    body = re.search(r"<table[^>]*>(.*?)</table>", fragment, flags=re.S).group(1)
    return [
        [
            html.unescape(re.sub(r"<[^>]+>", "", c)).strip()
            for c in re.findall(r"<t[hd]>(.*?)</t[hd]>", r, re.S)
        ]
        for r in re.findall(r"<tr>(.*?)</tr>", body, flags=re.S)
    ]


# ---- roadmap ---------------------------------------------------------------------------------


def test_roadmap_table_gives_owner_effort_success_and_dependency_for_every_step(source: str):
    roadmap = _section(source, "next_steps")
    steps = re.findall(r"<li><strong>", roadmap)
    rows = _table(roadmap, "Roadmap: who")
    header, body = rows[0], rows[1:]
    assert header == ["Horizon", "Step", "Owner", "Effort", "Success measure", "Depends on"]
    assert len(body) == len(steps) > 0
    framework = load_framework()
    names = {p.name for _, p in framework.practices}
    for horizon, step, owner, effort, success, depends in body:
        assert horizon.startswith("Next ")
        assert owner and success, step
        assert effort in {"S", "M", "L"}
        if depends != "Nothing: can start now":
            rest = depends
            for name in sorted(names, key=len, reverse=True):
                rest = rest.replace(name, "")
            assert rest.replace(",", "").replace(" and ", "").strip() == "", depends
    horizons = {row[0] for row in body}
    assert horizons == {h.name for h in framework.roadmap.horizons}


def test_every_bundled_next_step_has_owner_effort_success():
    for _, practice in load_framework().practices:
        for level, step in practice.next_steps.items():
            assert step.owner and step.effort in {"S", "M", "L"} and step.success, (
                practice.id,
                level,
            )


def _bundled() -> dict:
    return yaml.safe_load((ROOT / "xmkit" / "frameworks" / "ex_cx_alignment.yaml").read_text())


def test_framework_rejects_effort_xl_with_the_key_path():
    data = _bundled()
    data["categories"][0]["practices"][0]["next_steps"][2]["effort"] = "XL"
    with pytest.raises(XmkitError) as caught:
        parse_framework(yaml.safe_dump(data), "custom.yaml")
    message = str(caught.value)
    assert (
        "custom.yaml: categories[visualize].practices[anchor_metrics].next_steps.2.effort"
        in message
    )
    assert "'S', 'M' or 'L'" in message and "XL" in message


def test_framework_rejects_a_dependency_that_is_not_a_practice():
    data = _bundled()
    data["categories"][1]["practices"][0]["next_steps"][3]["depends_on"] = ["dashboards"]
    with pytest.raises(
        XmkitError, match=r"unit_of_analysis: next_steps\.3\.depends_on names 'dashboards'"
    ):
        parse_framework(yaml.safe_dump(data), "custom.yaml")


def test_a_next_step_written_as_text_alone_still_loads():
    data = _bundled()
    data["categories"][0]["practices"][0]["next_steps"][1] = "Just do it."
    framework = parse_framework(yaml.safe_dump(data), "custom.yaml")
    step = framework.practice("anchor_metrics").step_at(1)
    assert (step.step, step.owner, step.effort, step.depends_on) == ("Just do it.", None, None, [])


# ---- sample ------------------------------------------------------------------------------------


def test_sample_section_counts_units_and_response_rates_from_headcounts(source: str):
    sample = _section(source, "sample")
    text = html.unescape(re.sub(r"<[^>]+>", " ", sample))
    assert (
        "304 people answered across the organization. Fieldwork ran from 5 October 2026 to "
        "30 October 2026." in text
    )
    rows = {r[0]: r for r in _table(sample, "By business unit")[1:]}
    assert rows["Stores North"][1:] == ["70", "100", "70%"]
    assert rows["Logistics"][1:] == ["40", "50", "80%"]
    assert rows["Pop-up Stores"][1] == "fewer than 5 responses" and rows["Pop-up Stores"][3] == ""
    assert rows["All business units"][1:] == [
        "304",
        str(sum(HEADCOUNTS.values())),
        "79%",
    ]  # 304 / 385


def test_a_hidden_roles_count_cannot_be_recovered_from_the_total(source: str):
    rows = _table(_section(source, "sample"), "By role")[1:]
    total = int(rows[-1][1])
    shown = {r[0]: int(r[1]) for r in rows[:-1] if r[1].isdigit()}
    hidden = {r[0]: "hidden" for r in rows[:-1] if not r[1].isdigit()}
    assert SMALL_ROLE in hidden and len(hidden) >= 2  # the next-smallest role is hidden too
    # What subtraction gives is the hidden roles together: never one small group on its own.
    remainder = total - sum(shown.values())
    assert remainder >= 5 and remainder != 3


# ---- metrics side by side ----------------------------------------------------------------------


def test_ex_and_cx_metrics_side_by_side_per_unit_with_change_and_link(source: str):
    part = _section(source, "metrics")
    rows = {r[0]: r for r in _table(part)}
    assert rows["Business unit"][1:] == [
        "engagement",
        "engagement change",
        "NPS",
        "NPS change",
        "Latest quarter",
    ]
    # metrics.csv: Stores North engagement 66.9 then 63.7, NPS 32 then 37 (2026-Q3, Q4)
    assert rows["Stores North"][1:] == ["63.7", "-3.2", "37.0", "+5.0", "2026-Q4"]
    assert "Pop-up Stores" not in rows  # its survey results are hidden (4 respondents)
    assert "most strongly linked" in html.unescape(part) or "Too few" in html.unescape(part)


# ---- contents, logo, download name ----------------------------------------------------------


def test_contents_links_resolve_to_anchors_in_html_and_pdf(report: Path, browser):
    page = browser.new_page()
    try:
        page.goto((report / "report.html").as_uri())
        hrefs = page.eval_on_selector_all("nav.contents a", "as => as.map(a => a.hash)")
        assert len(hrefs) >= 10 and "#sec-next_steps" in hrefs and "#sec-sample" in hrefs
        missing = page.evaluate("hs => hs.filter(h => !document.getElementById(h.slice(1)))", hrefs)
        assert missing == []
    finally:
        page.close()
    dests = subprocess.run(
        ["pdfinfo", "-dests", str(report / "report.pdf")], capture_output=True, text=True
    ).stdout
    for href in hrefs:
        assert href[1:] in dests, href


def test_logo_is_embedded_as_an_image_and_its_script_never_runs(report: Path, source: str, browser):
    found = re.search(
        r'<img class="logo" src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', source
    )
    assert found
    svg = base64.b64decode(found.group(1)).decode("utf-8")
    assert "<rect" in svg and "script" not in svg and "onload" not in svg  # cleaned as well
    assert "<script" not in source and "pwned" not in source
    page = browser.new_page()
    try:
        page.goto((report / "report.html").as_uri(), wait_until="load")
        assert page.evaluate("document.querySelector('img.logo').naturalWidth") > 0
        assert page.evaluate("window.pwned === undefined")
        assert page.title() == report_title(CLIENT, None, PERIOD)
        assert "Acme Advisory" in page.inner_text("header.cover")
    finally:
        page.close()


def test_download_name_is_human_and_safe_for_a_client_with_slash_and_dots(source: str):
    link = re.search(r'<a href="report.pdf" download="([^"]+)">', source)
    assert link
    name = html.unescape(link.group(1))
    assert name == "Northwind .. Retail .. Group - EX-CX alignment 2026 Q4.pdf"
    assert "/" not in name and "\\" not in name and not name.startswith(".")


@pytest.mark.parametrize(
    "title",
    ["../../etc/passwd", "..", "a\x00b\nc", "CON", "x" * 400, 'Q: "A" <b> | c?*'],
)
def test_download_names_never_hold_separators_control_characters_or_leading_dots(title: str):
    name = download_name(title, "pdf")
    stem = name[: -len(".pdf")]
    assert name.endswith(".pdf") and stem and len(stem) <= 150
    assert not re.search(r'[\x00-\x1f/\\:*?"<>|]', name)
    assert not stem.startswith((".", " ")) and stem.split(".")[0].lower() != "con"


def test_a_missing_logo_is_an_input_error_naming_the_path(tmp_path: Path):
    folder = _assessment(tmp_path / "a")
    (folder / "logo.svg").unlink()
    (folder / "notes.txt").write_text("not an image", encoding="utf-8")
    from xmkit.io.assessment import load_assessment

    with pytest.raises(
        XmkitError, match=r"assessment\.yaml: logo /.*/a/logo\.svg: logo file not found"
    ):
        load_assessment(folder)
    text = (folder / "assessment.yaml").read_text().replace("logo.svg", "notes.txt")
    (folder / "assessment.yaml").write_text(text)
    with pytest.raises(
        XmkitError, match=r"logo /.*/notes\.txt: logo is not a PNG, JPEG or SVG image"
    ):
        load_assessment(folder)
    (folder / "notes.txt").write_text("<svg><unclosed></svg>", encoding="utf-8")
    with pytest.raises(XmkitError, match=r"notes\.txt: logo is not well-formed SVG"):
        load_assessment(folder)


def test_a_missing_logo_flag_fails_before_any_kernel_and_writes_nothing(tmp_path: Path):
    out = tmp_path / "out"
    done = subprocess.run(
        [str(XMKIT), "report", str(EXAMPLE), "--logo", str(tmp_path / "nope.png"), "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert f"{tmp_path / 'nope.png'}: logo file not found" in done.stderr
    assert "Traceback" not in done.stderr and not out.exists()


def test_headcounts_below_the_responses_or_for_unknown_units_are_input_errors():
    from xmkit.report.handover import handover_inputs

    data = pd.DataFrame({"unit": ["North"] * 6 + ["South"] * 5})
    ok = handover_inputs(data, None, None, None, '{"North": 10, "South": 5}', None, ROOT)
    assert ok["headcounts"] == {"North": 10, "South": 5}
    with pytest.raises(XmkitError) as caught:
        handover_inputs(data, None, None, None, {"North": 4, "West": 9}, None, ROOT)
    message = str(caught.value)
    assert "North: 4 people invited but 6 responses" in message
    assert "no responses for West" in message
    with pytest.raises(XmkitError, match="headcounts: North: Input should be greater than"):
        handover_inputs(data, None, None, None, {"North": 0}, None, ROOT)
    with pytest.raises(XmkitError, match=r"fieldwork: .*end 2026-10-01 is before start"):
        handover_inputs(
            data, None, None, None, None, '{"start": "2026-10-05", "end": "2026-10-01"}', ROOT
        )


def test_a_date_column_gives_the_fieldwork_dates_over_the_assessment(tmp_path: Path):
    from xmkit.io.responses import load_responses
    from xmkit.report.handover import handover_inputs

    rows = list(csv.DictReader((EXAMPLE / "responses.csv").open(encoding="utf-8")))
    for i, row in enumerate(rows):
        row["Response date"] = f"2026-11-{3 + i % 20:02d}"
    rows[5]["Response date"] = "not a date"  # ignored, as no date
    path = tmp_path / "responses.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    data = load_responses(path, load_framework())
    given = {"start": "2026-10-05", "end": "2026-10-30"}
    dates = handover_inputs(data, None, None, None, None, given, tmp_path)["fieldwork"]
    assert (dates["start"].isoformat(), dates["end"].isoformat()) == ("2026-11-03", "2026-11-22")
