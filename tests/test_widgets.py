"""The self-assessment form: saving, reopening and rendering, in process and in JupyterLab.

The in-process tests drive the real ipywidgets objects of :class:`xmkit.widgets.SelfAssessment`.
The JupyterLab tests start a real ``jupyter lab`` server on 127.0.0.1 with a token, open
``templates/self_assessment.ipynb`` in Debian's Chromium through Playwright, run every cell,
click answers and Save, and check the file the kernel wrote.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import xmkit
from xmkit.framework import Framework
from xmkit.io.questionnaire import template_columns
from xmkit.widgets import SelfAssessment

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "templates" / "self_assessment.ipynb"
NOTEBOOK_NAME = "My organization"  # the notebook's default assessment name
NOTEBOOK_FOLDER = "my-organization"
WIDGET_ERROR = "Error displaying widget"


def pattern(framework: Framework) -> dict[str, int]:
    """A deterministic answer per question: levels 1..5 in turn, every sixth "Don't know" (0)."""
    return {qid: (i % 6 + 1) % 6 for i, qid in enumerate(framework.question_ids)}


def expected_cell(value: int) -> str:
    return "Don't know" if value == 0 else str(value)


# ---- in process ------------------------------------------------------------------------------


@pytest.fixture
def assessments(tmp_path: Path) -> Path:
    return tmp_path / "assessments"


def filled(
    root: Path, answers: dict[str, int], name: str = "Acme Retail", **fields: str
) -> SelfAssessment:
    """A form of assessment ``name`` under ``root`` with answers, unit, role and comment set."""
    form = SelfAssessment(name, root=root, reports=root.parent / "reports")
    form.unit.value = fields.get("unit", "Stores North")
    form.role.value = fields.get("role", "Manager")
    form.comment.value = fields.get("comment", "")
    for qid, value in answers.items():
        form.questions[qid].value = value
    return form


def test_save_writes_the_wide_layout_that_load_responses_reads(assessments, framework):
    answers = pattern(framework)
    form = filled(assessments, answers, comment="Good start, more to do")
    path = form.save()

    assert path == assessments / "acme-retail" / "responses.csv"
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert list(raw.columns) == template_columns(framework)
    assert raw.loc[0, ["unit", "role", "comment"]].tolist() == [
        "Stores North",
        "Manager",
        "Good start, more to do",
    ]
    assert raw.loc[0, framework.question_ids].tolist() == [
        expected_cell(answers[q]) for q in framework.question_ids
    ]
    loaded = xmkit.load_responses(path, framework)
    for qid, value in answers.items():
        got = loaded.loc[0, qid]
        assert np.isnan(got) if value == 0 else got == value, qid
    assert not list(path.parent.glob("*.tmp")), "no temporary file is left behind"


def test_reopening_preselects_the_saved_answers_of_a_half_finished_self_assessment(
    assessments, framework
):
    half = {qid: v for qid, v in list(pattern(framework).items())[:18]}
    first = filled(assessments, half, unit="E-commerce", role="XM team", comment="to finish")
    first.save()

    again = SelfAssessment("Acme Retail", root=assessments)

    assert again.respondent.value == first.respondent.value
    assert (again.unit.value, again.role.value, again.comment.value) == (
        "E-commerce",
        "XM team",
        "to finish",
    )
    assert again.answers() == {q: half.get(q) for q in framework.question_ids}
    assert again.progress.value == 18
    assert again.progress_label.value == "18 of 36 answered"
    assert "Continuing" in again.message.value


def test_saving_again_replaces_the_respondents_row_and_keeps_everyone_elses(assessments, framework):
    first = filled(assessments, {"v1_1": 2})
    first.save()
    other = SelfAssessment("Acme Retail", respondent_id="second", root=assessments)
    other.unit.value, other.role.value = "Stores South", "Executive"
    other.questions["v1_1"].value = 5
    other.save()

    reopened = SelfAssessment("Acme Retail", respondent_id=first.respondent.value, root=assessments)
    reopened.questions["v1_1"].value = 4
    reopened.questions["c3_3"].value = 1
    reopened.save()

    data = xmkit.load_responses(first.path, framework).set_index("respondent_id")
    assert sorted(data.index) == sorted([first.respondent.value, "second"])
    assert data.loc[first.respondent.value, ["v1_1", "c3_3"]].tolist() == [4.0, 1.0]
    assert data.loc["second", "v1_1"] == 5.0
    # the most recently saved respondent is the one the form reopens on
    assert SelfAssessment("Acme Retail", root=assessments).respondent.value == (
        first.respondent.value
    )


def test_save_refuses_a_blank_unit_or_role_and_writes_nothing(assessments):
    form = filled(assessments, {"v1_1": 3}, unit="  ")
    with pytest.raises(ValueError, match="unit"):
        form.save()
    form.save_button.click()
    assert "Not saved" in form.message.value and "unit" in form.message.value
    assert not form.path.exists()


def test_a_save_that_fails_midway_leaves_the_earlier_file_whole(assessments):
    form = filled(assessments, {"v1_1": 3})
    path = form.save()
    before = path.read_bytes()

    form.questions["v1_2"].value = 4
    form.comment.value = "unencodable \ud800 text"  # fails while the CSV is being written
    form.save_button.click()

    assert "Not saved" in form.message.value
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["responses.csv"]


def test_a_responses_file_with_other_columns_is_never_overwritten(assessments):
    path = assessments / "acme-retail" / "responses.csv"
    path.parent.mkdir(parents=True)
    path.write_text("respondent_id,unit,role,q1\n1,A,B,3\n", encoding="utf-8")

    form = filled(assessments, {"v1_1": 3})

    assert "not overwritten" in form.message.value
    with pytest.raises(ValueError, match="other columns"):
        form.save()
    assert path.read_text(encoding="utf-8") == "respondent_id,unit,role,q1\n1,A,B,3\n"


def test_progress_tab_titles_and_chart_follow_the_answers(assessments, framework):
    form = SelfAssessment("Acme Retail", root=assessments)
    blank_chart = form.chart.value
    assert form.tabs.titles == ("Visualize 0/9", "Analyze 0/9", "Involve 0/9", "Converge 0/9")
    assert form.category_scores().isna().all()

    form.questions["v1_1"].value = 2
    form.questions["v2_1"].value = 4
    form.questions["a1_1"].value = 0  # "Don't know" counts as answered, but is not scored

    assert form.progress.value == 3
    assert form.progress_label.value == "3 of 36 answered"
    assert form.tabs.titles[:2] == ("Visualize 2/9", "Analyze 1/9")
    assert bytes(form.chart.value) != bytes(blank_chart)
    assert bytes(form.chart.value).startswith(b"\x89PNG")
    scores = form.category_scores()
    assert scores["Visualize"] == pytest.approx(3.0)  # practices 2 and 4, averaged
    assert scores[["Analyze", "Involve", "Converge"]].isna().all()
    assert form.message.value.endswith("Unsaved changes.</span>")


def test_save_from_python_says_saved_with_the_path_people_know(assessments, framework):
    form = SelfAssessment("Acme Retail", root=assessments)
    form.unit.value, form.role.value = "Stores", "Manager"
    form.questions["v1_1"].value = 3
    assert form.message.value.endswith("Unsaved changes.</span>")
    form.save()
    assert "Unsaved" not in form.message.value
    assert "Saved 1 of 36 answers" in form.message.value
    assert f"{assessments.name}/acme-retail/responses.csv" in form.message.value
    assert "../" not in form.message.value


@pytest.mark.slow
def test_render_writes_an_internal_self_assessment_report_and_links_it(
    assessments, framework, tmp_path, monkeypatch
):
    notebook_dir = tmp_path / "templates"
    notebook_dir.mkdir()
    monkeypatch.chdir(notebook_dir)  # the kernel's working folder is the notebook's
    form = filled(assessments, pattern(framework))

    form.render_button.click()

    assert "Report rendered" in form.message.value, form.message.value
    report = tmp_path / "reports" / "acme-retail" / "all-units" / "report.html"
    assert form.report_path == report and report.exists()
    page = report.read_text(encoding="utf-8")
    assert "Acme Retail" in page and "Self-assessment (internal use)" in page
    data = xmkit.load_responses(form.path, framework)
    scores = xmkit.score(data, framework, min_group_size=1, n_boot=0)
    overall = scores.loc[scores["level"] == "overall", "score"].item()
    assert f"{overall:.2f}" in page  # a single self-assessor is scored, not suppressed
    (output,) = form.link.outputs
    href = re.search(r'href="([^"]+)"', output["data"]["text/html"]).group(1)
    assert href == "../reports/acme-retail/all-units/report.html"
    assert "internal use" in output["data"]["text/html"]


# ---- in JupyterLab, in Chromium ------------------------------------------------------------


@dataclass
class Lab:
    url: str
    token: str
    root: Path
    log: Path

    @property
    def responses(self) -> Path:
        return self.root / "assessments" / NOTEBOOK_FOLDER / "responses.csv"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop(proc: subprocess.Popen) -> None:
    """Stop the server: SIGTERM (it shuts its kernels down), then SIGKILL its process group."""
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # not reaped yet, so the group is still its own
        proc.wait(timeout=15)


@pytest.fixture
def lab(tmp_path: Path, browser) -> Iterator[Lab]:
    """``jupyter lab`` on 127.0.0.1, a free port and a token, in a copy of the repository layout.

    The notebook sits in ``templates/`` beside an empty ``assessments/``, as in the repository;
    Jupyter's config, data, runtime, settings and workspaces live in the test's own folder, so
    nothing of the user's setup (or the news prompt) gets in. The server is stopped when the
    test ends, whether it passed or not.
    """
    root, home = tmp_path / "root", tmp_path / "home"
    (root / "templates").mkdir(parents=True)
    (root / "assessments").mkdir()
    shutil.copy(NOTEBOOK, root / "templates" / NOTEBOOK.name)
    settings = home / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}), encoding="utf-8"
    )
    env = dict(
        os.environ,
        JUPYTER_CONFIG_DIR=str(home / "config"),
        JUPYTER_DATA_DIR=str(home / "data"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(home / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
        IPYTHONDIR=str(home / "ipython"),
    )
    port, token = free_port(), secrets.token_hex(16)
    command = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.open_browser=False",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    if os.geteuid() == 0:
        command.append("--allow-root")  # containers and CI often run as root
    log = tmp_path / "lab.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, f"jupyter lab exited:\n{log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"no server:\n{log.read_text()[-3000:]}"
            try:
                status = f"http://127.0.0.1:{port}/api/status?token={token}"
                with urllib.request.urlopen(status, timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.2)
        yield Lab(f"http://127.0.0.1:{port}", token, root, log)
    finally:
        stop(proc)


@pytest.fixture
def page(browser, lab: Lab):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    new = context.new_page()
    new.set_default_timeout(30_000)
    yield new
    context.close()


def open_form(page, lab: Lab) -> None:
    """Open the notebook, run every cell from the Run menu and wait for the form."""
    page.goto(f"{lab.url}/lab/tree/templates/{NOTEBOOK.name}?token={lab.token}")
    page.locator(".jp-Notebook .jp-Cell").nth(2).wait_for()
    page.locator(".jp-StatusBar-Widget", has_text="Idle").first.wait_for(timeout=60_000)
    page.locator("li.lm-MenuBar-item", has_text="Run").click()
    page.locator("li.lm-Menu-item[data-command='runmenu:run-all']").click()
    page.locator(".xmkit-save").wait_for(timeout=60_000)


def show_category(page, index: int) -> None:
    page.locator(".xmkit-tabs .lm-TabBar-tab").nth(index).click()


def choose(page, qid: str, value: int, levels: int = 5) -> None:
    """Click the choice of a question: levels 1..5 are its first five options, 0 "Don't know"."""
    index = levels if value == 0 else value - 1
    page.locator(f".xmkit-q-{qid} input[type=radio]").nth(index).check()


def checked(page, qid: str) -> int | None:
    """The selected choice of a question in the page, as a form value (None if none)."""
    radios = page.locator(f".xmkit-q-{qid} input[type=radio]")
    states = [radios.nth(i).is_checked() for i in range(radios.count())]
    if not any(states):
        return None
    index = states.index(True)
    return 0 if index == len(states) - 1 else index + 1


def wait_saved(page) -> None:
    """Wait for the form's "Saved N of 36 answers ..." message (not "Unsaved changes.")."""
    page.locator(".xmkit-message", has_text=re.compile(r"^Saved \d+ of")).wait_for()


@pytest.mark.slow
def test_jupyterlab_form_saves_an_answer_clicked_for_every_question_and_links_its_report(
    page, lab, framework
):
    started = time.monotonic()
    open_form(page, lab)
    page.locator(".xmkit-unit input").fill("Stores North")
    page.locator(".xmkit-role input").fill("Frontline")
    chart = page.locator(".xmkit-chart").get_attribute("src")

    answers = pattern(framework)
    for index, category in enumerate(framework.categories):
        show_category(page, index)
        for practice in category.practices:
            for q in practice.questions:
                choose(page, q.id, answers[q.id])
    page.locator(".xmkit-progress-label", has_text="36 of 36 answered").wait_for()
    assert page.locator(".xmkit-chart").get_attribute("src") != chart, "the chart is redrawn"
    page.locator(".xmkit-save").click()
    wait_saved(page)

    saved = pd.read_csv(lab.responses, dtype=str, keep_default_na=False)
    assert list(saved.columns) == template_columns(framework)
    assert len(saved) == 1
    assert saved.loc[0, ["unit", "role"]].tolist() == ["Stores North", "Frontline"]
    assert saved.loc[0, framework.question_ids].tolist() == [
        expected_cell(answers[q]) for q in framework.question_ids
    ]
    data = xmkit.load_responses(lab.responses, framework)
    assert data.loc[0, "v1_1"] == 1.0 and np.isnan(data.loc[0, "v2_3"])  # "Don't know"
    saved_at = time.monotonic()

    page.locator(".xmkit-render").click()
    link = page.locator(".xmkit-report-link a")
    link.wait_for(timeout=90_000)
    report = lab.root / "reports" / NOTEBOOK_FOLDER / "all-units" / "report.html"
    assert report.exists()
    assert link.inner_text() == f"../reports/{NOTEBOOK_FOLDER}/all-units/report.html"
    href = link.get_attribute("href")  # JupyterLab resolves it against the notebook's folder
    assert href.split("?")[0] == f"{lab.url}/files/reports/{NOTEBOOK_FOLDER}/all-units/report.html"
    served = page.request.get(href)
    assert served.ok and NOTEBOOK_NAME in served.text()
    body = page.locator("body").inner_text()
    assert WIDGET_ERROR not in body and WIDGET_ERROR not in page.content()
    print(
        f"\n[test_widgets] JupyterLab form filled and saved in {saved_at - started:.1f} s, "
        f"report rendered in {time.monotonic() - saved_at:.1f} s"
    )


@pytest.mark.slow
def test_jupyterlab_reopens_a_half_finished_self_assessment_with_answers_selected(
    page, lab, framework
):
    answers = pattern(framework)
    first_half = framework.question_ids[:18]  # Visualize and Analyze
    half = {q: answers[q] for q in first_half}
    earlier = filled(lab.root / "assessments", half, name=NOTEBOOK_NAME)
    assert earlier.save() == lab.responses

    open_form(page, lab)

    assert page.locator(".xmkit-respondent input").input_value() == earlier.respondent.value
    assert page.locator(".xmkit-unit input").input_value() == "Stores North"
    page.locator(".xmkit-progress-label", has_text="18 of 36 answered").wait_for()
    for index, category in enumerate(framework.categories):
        show_category(page, index)
        for practice in category.practices:
            for q in practice.questions:
                assert checked(page, q.id) == (answers[q.id] if q.id in first_half else None)

    show_category(page, 3)
    choose(page, "c3_3", 5)
    page.locator(".xmkit-save").click()
    wait_saved(page)

    data = xmkit.load_responses(lab.responses, framework)
    assert len(data) == 1 and data.loc[0, "respondent_id"] == earlier.respondent.value
    assert data.loc[0, "c3_3"] == 5.0 and data.loc[0, "v1_1"] == 1.0
    assert data[framework.question_ids].notna().sum(axis=1).iloc[0] == 15 + 1  # 3 "Don't know"
    assert WIDGET_ERROR not in page.content()


def test_reopening_reads_worded_cells_with_the_shared_answer_parser(assessments, framework):
    """A saved file edited by hand keeps its meaning: "I don't know" is Don't know (0),
    "3 - Defined" is 3 and "Agree" 4 (the 5-point agreement scale)."""
    form = filled(assessments, {})
    form.save()
    table = pd.read_csv(form.path, dtype=str, keep_default_na=False)
    first, second, third = framework.question_ids[:3]
    table.loc[0, [first, second, third]] = ["I don't know", "3 - Defined", "Agree"]
    table.to_csv(form.path, index=False)
    answers = SelfAssessment("Acme Retail", root=assessments).answers()
    assert (answers[first], answers[second], answers[third]) == (0, 3, 4)


def test_form_of_a_seven_point_framework_offers_seven_levels(assessments, tmp_path):
    from test_answers import mini_on_scale

    form = SelfAssessment("Seven", framework=mini_on_scale(tmp_path, 1, 7), root=assessments)
    options = form.questions["a1"].options
    assert [value for _, value in options][:7] == [1, 2, 3, 4, 5, 6, 7]
    assert options[6][0] == "7 - Point 7: level 7 of a1"
    assert len(options) == 8  # and "Don't know"


def test_form_of_a_0_10_framework_keeps_point_0_apart_from_dont_know(assessments, tmp_path):
    from test_answers import mini_on_scale

    form = SelfAssessment("Ten", framework=mini_on_scale(tmp_path, 0, 10), root=assessments)
    form.unit.value, form.role.value = "North", "Manager"
    form.questions["a1"].value = 0
    form.questions["a2"].value = form.dont_know
    assert form.dont_know == -1
    assert (form.row()["a1"], form.row()["a2"]) == ("0", "Don't know")
    assert form.category_scores()["Base"] == 0
