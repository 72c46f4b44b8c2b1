"""A self-assessment form for JupyterLab, built with ipywidgets.

One tab per category, each question with its five level descriptions and "Don't know"; the
respondent's unit and role; an answered/total progress bar; a category chart redrawn as answers
change. **Save** writes the answers into ``<root>/<name>/responses.csv`` in the wide layout
:func:`xmkit.load_responses` reads, replacing this respondent's row or appending it, atomically
and under a lock, so a crash or a second notebook never leaves a half-written or clobbered
file. Opening the form again pre-selects what was saved, so a self-assessment can be finished
later. **Render report** saves, then renders the HTML report of the assessment and links to it.

Every widget has a stable CSS class (``xmkit-q-<question id>``, ``xmkit-save``, ...) so the form
can be driven from a browser in tests.
"""

from __future__ import annotations

import contextlib
import io
import os
import secrets
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import ipywidgets as widgets
import numpy as np
import pandas as pd
from markupsafe import Markup

from xmkit.errors import XmkitError
from xmkit.framework import Framework, load_framework
from xmkit.io.answers import AnswerParser
from xmkit.io.iorw import atomic_path, neutralize
from xmkit.io.paths import slugify
from xmkit.io.questionnaire import DONT_KNOW, template_columns
from xmkit.report.markup import snippet, stylesheet

__all__ = [
    "DONT_KNOW_VALUE",
    "REPORT_PERIOD",
    "RESPONSES_FILE",
    "ROLE_SUGGESTIONS",
    "SelfAssessment",
    "new_respondent_id",
]

DONT_KNOW_VALUE = 0
"""The value of the "Don't know" choice; saved as the text "Don't know", which loads as missing.
On a scale starting at 0 it is -1 instead (:attr:`SelfAssessment.dont_know`)."""
ROLE_SUGGESTIONS = ("Executive", "Manager", "Frontline", "XM team", "HR team")
REPORT_PERIOD = "Self-assessment (internal use)"
RESPONSES_FILE = "responses.csv"


def _piece(macro: str, **view) -> str:
    """A piece of the form's HTML from ``templates/self_assessment.html.j2`` (autoescaped)."""
    return snippet("self_assessment.html.j2", macro, **view)


def new_respondent_id() -> str:
    """A fresh id that sorts by time and does not collide with another self-assessor's."""
    return f"self-{datetime.now():%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on the assessment folder, so two saves never interleave.

    A save reads, changes and rewrites the file; without the lock a second notebook saving at
    the same moment could drop the first one's row. Where ``fcntl`` is missing (Windows) the
    atomic rename still guarantees a whole file.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on Linux or macOS
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


class SelfAssessment:
    """The self-assessment form of one assessment and respondent.

    ``name`` names the assessment (its folder is the name made safe, under ``root``) and is the
    client name on the report. ``respondent_id`` picks whose answers to edit; without it the
    form continues the most recently saved respondent, or starts a new one. ``framework`` is a
    framework YAML path (the bundled framework by default); ``reports`` the report folder.
    """

    def __init__(
        self,
        name: str,
        respondent_id: str | None = None,
        framework: str | Path | None = None,
        root: str | Path = "assessments",
        reports: str | Path = "reports",
    ) -> None:
        if not str(name).strip():
            raise ValueError("the assessment needs a name")
        self.name = str(name).strip()
        self.framework_path = Path(framework) if framework else None
        self.framework: Framework = load_framework(self.framework_path)
        self.folder = Path(root) / slugify(self.name)
        self.path = self.folder / RESPONSES_FILE
        self.shown_path = (
            Path(root).name or "assessments"
        ) + f"/{self.folder.name}/{RESPONSES_FILE}"
        """The file as people know it (``assessments/<name>/responses.csv``), for messages."""
        self.reports = Path(reports)
        self.report_path: Path | None = None
        self._parser = AnswerParser.for_framework(self.framework)
        self.dont_know = DONT_KNOW_VALUE if self.framework.scale.min > 0 else -1
        saved, self._file_problem = self._read_saved()
        if not respondent_id and len(saved):
            respondent_id = str(saved["respondent_id"].iloc[-1])
        self._build(respondent_id or new_respondent_id(), saved)

    # ---- the saved file -------------------------------------------------------------------

    @property
    def columns(self) -> list[str]:
        """The saved file's header: ``respondent_id, unit, role, <question ids>, comment``."""
        return template_columns(self.framework)

    def _read_saved(self) -> tuple[pd.DataFrame, str | None]:
        """Rows saved so far, as text (empty if none) and why the file can't be used, if so."""
        empty = pd.DataFrame(columns=self.columns, dtype=object)
        if not self.path.exists():
            return empty, None
        try:
            table = pd.read_csv(self.path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            return (
                empty,
                f"{self.shown_path} cannot be read ({type(exc).__name__}); not overwritten",
            )
        if "comment" not in table.columns:
            table["comment"] = ""
        unknown = [c for c in table.columns if c not in self.columns]
        missing = [c for c in self.columns if c not in table.columns]
        if unknown or missing:
            return empty, (
                f"{self.shown_path} has other columns than this framework's "
                f"(unknown: {', '.join(unknown) or '-'}; missing: {', '.join(missing) or '-'}); "
                "it is not overwritten"
            )
        return table[self.columns], None

    def _choice(self, cell: str, question_id: str) -> int | None:
        """A saved cell as a form value: a level, "Don't know", or None (unanswered)."""
        if not str(cell).strip():
            return None
        value = self._parser.parse(str(cell), question_id)
        if isinstance(value, str):
            return None
        return self.dont_know if np.isnan(value) else int(value)

    # ---- building the form ----------------------------------------------------------------

    def _build(self, respondent_id: str, saved: pd.DataFrame) -> None:
        fw = self.framework
        row = saved[saved["respondent_id"] == respondent_id]
        values = row.iloc[-1].to_dict() if len(row) else {}

        self.respondent = widgets.Text(value=respondent_id, description="Respondent")
        units = sorted({u for u in saved["unit"] if u})
        roles = list(dict.fromkeys([*ROLE_SUGGESTIONS, *sorted(r for r in saved["role"] if r)]))
        self.unit = widgets.Combobox(
            value=values.get("unit", ""),
            options=units,
            placeholder="your business unit",
            description="Unit",
        )
        self.role = widgets.Combobox(
            value=values.get("role", ""),
            options=roles,
            placeholder="your role",
            description="Role",
        )
        self.comment = widgets.Textarea(
            value=values.get("comment", ""),
            placeholder="anything you would like to add (optional)",
            description="Comment",
            layout=widgets.Layout(width="100%", height="70px"),
        )
        self.progress = widgets.IntProgress(
            value=0, min=0, max=len(fw.question_ids), description="Answered"
        )
        self.progress_label = widgets.Label()
        self.chart = widgets.Image(format="png", layout=widgets.Layout(width="440px"))
        self.save_button = widgets.Button(
            description="Save", button_style="primary", icon="save", tooltip="save your answers"
        )
        self.render_button = widgets.Button(
            description="Render report", icon="file", tooltip="save, then render the report"
        )
        self.message = widgets.HTML()
        self.link = widgets.Output()

        self.questions: dict[str, widgets.RadioButtons] = {}
        pages = []
        for category in fw.categories:
            items = [widgets.HTML(_piece("note", text=category.description))]
            for practice in category.practices:
                items.append(widgets.HTML(_piece("practice", name=practice.name)))
                for q in practice.questions:
                    options = [(fw.choice(q, lvl), lvl) for lvl in fw.scale.points]
                    radio = widgets.RadioButtons(
                        options=[*options, (DONT_KNOW, self.dont_know)],
                        value=self._choice(values.get(q.id, ""), q.id),
                        layout=widgets.Layout(width="auto"),
                    )
                    radio.add_class(f"xmkit-q-{q.id}")
                    radio.observe(self._changed, names="value")
                    self.questions[q.id] = radio
                    text = widgets.HTML(_piece("question", id=q.id, text=q.text))
                    box = widgets.VBox([text, radio])
                    box.add_class("xmkit-question")
                    items.append(box)
            page = widgets.VBox(items)
            page.add_class(f"xmkit-category-{category.id}")
            pages.append(page)
        self.tabs = widgets.Tab(children=pages)

        for widget, css in [
            (self.respondent, "xmkit-respondent"),
            (self.unit, "xmkit-unit"),
            (self.role, "xmkit-role"),
            (self.comment, "xmkit-comment"),
            (self.progress, "xmkit-progress"),
            (self.progress_label, "xmkit-progress-label"),
            (self.chart, "xmkit-chart"),
            (self.save_button, "xmkit-save"),
            (self.render_button, "xmkit-render"),
            (self.message, "xmkit-message"),
            (self.link, "xmkit-report-link"),
            (self.tabs, "xmkit-tabs"),
        ]:
            widget.add_class(css)
        self.save_button.on_click(lambda _: self._on_save())
        self.render_button.on_click(lambda _: self._on_render())
        for field in (self.respondent, self.unit, self.role, self.comment):
            field.observe(self._edited, names="value")

        header = widgets.HTML(
            _piece("header", name=self.name, css=Markup(stylesheet("self_assessment.css")))
        )
        left = widgets.VBox(
            [
                self.respondent,
                self.unit,
                self.role,
                widgets.HBox([self.progress, self.progress_label]),
                widgets.HBox([self.save_button, self.render_button]),
                self.message,
                self.link,
            ]
        )
        self.ui = widgets.VBox([header, widgets.HBox([left, self.chart]), self.tabs, self.comment])
        self.ui.add_class("xmkit-sa")
        self._refresh()
        if self._file_problem:
            self._say(self._file_problem, error=True)
        elif values:
            self._say(f"Continuing the answers saved for {respondent_id!r} in {self.shown_path}.")

    # ---- live updates ---------------------------------------------------------------------

    def answers(self) -> dict[str, int | None]:
        """Every question's choice: a level, :attr:`dont_know` (0 on 1-5), None if open."""
        return {qid: radio.value for qid, radio in self.questions.items()}

    def category_scores(self) -> pd.Series:
        """Category scores of the current answers (NaN where nothing is answered yet).

        Scored by :func:`xmkit.score` with the group minimum 1, so the chart follows the same
        definitions as the report (practice = mean of its questions, category = mean of its
        practices).
        """
        from xmkit.analysis.score import score

        row = {"respondent_id": self.respondent.value, "unit": "-", "role": "-"}
        for qid, value in self.answers().items():
            row[qid] = np.nan if value in (None, self.dont_know) else float(value)
        scores = score(pd.DataFrame([row]), self.framework, min_group_size=1, n_boot=0)
        cats = scores[scores["level"] == "category"].set_index("name")["score"]
        return cats.reindex([c.name for c in self.framework.categories]).astype(float)

    def _chart_png(self) -> bytes:
        from xmkit.report.charts import figure_axes

        fw = self.framework
        scores = self.category_scores()
        fig, ax = figure_axes(5.2, 0.5 + 0.45 * len(scores))
        names = list(scores.index)[::-1]
        values = [scores[n] for n in names]
        ax.barh(
            names,
            [0 if np.isnan(v) else v - fw.scale.min for v in values],
            left=fw.scale.min,
            color=[fw.palette[n] for n in names],
            height=0.6,
        )
        for i, v in enumerate(values):
            text, at = ("not answered yet", fw.scale.min) if np.isnan(v) else (f"{v:.2f}", v)
            ax.text(at + 0.05, i, text, va="center", fontsize=9, color="#111111")
        ax.set_xlim(fw.scale.min, fw.scale.max)
        ax.set_xticks(range(fw.scale.min, fw.scale.max + 1))
        ax.set_xlabel("category score of your answers so far")
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=90)
        return buffer.getvalue()

    def _refresh(self) -> None:
        answers = self.answers()
        done = sum(v is not None for v in answers.values())
        self.progress.value = done
        self.progress_label.value = f"{done} of {len(answers)} answered"
        self.tabs.titles = tuple(
            f"{c.name} {sum(answers[q.id] is not None for p in c.practices for q in p.questions)}"
            f"/{sum(len(p.questions) for p in c.practices)}"
            for c in self.framework.categories
        )
        self.chart.value = self._chart_png()

    def _changed(self, _change: dict) -> None:
        self._refresh()
        self._edited(_change)

    def _edited(self, _change: dict) -> None:
        if not self._file_problem:
            self._say("Unsaved changes.")

    def _say(self, text: str, error: bool = False) -> None:
        color = "#b00020" if error else "#1d2733"
        self.message.value = _piece("message", text=text, color=color)

    # ---- saving and rendering -------------------------------------------------------------

    def row(self) -> dict[str, str]:
        """This respondent's row as saved: levels as numbers, "Don't know" as text, else blank."""
        cells = {
            "respondent_id": self.respondent.value.strip(),
            "unit": self.unit.value.strip(),
            "role": self.role.value.strip(),
        }
        for qid, value in self.answers().items():
            cells[qid] = (
                "" if value is None else DONT_KNOW if value == self.dont_know else str(value)
            )
        cells["comment"] = self.comment.value.strip()
        return {k: str(neutralize(v)) for k, v in cells.items()}

    def save(self) -> Path:
        """Write this respondent's answers into the assessment's responses file.

        The respondent's earlier row is replaced (and moved last, so the form reopens on the
        most recent respondent); other rows are kept as they are. Raises :class:`ValueError`
        when the respondent id, unit or role is blank or the existing file is not this form's.
        """
        row = self.row()
        blank = [k for k in ("respondent_id", "unit", "role") if not row[k]]
        if blank:
            raise ValueError(f"fill in {' and '.join(blank).replace('_', ' ')} before saving")
        self.folder.mkdir(parents=True, exist_ok=True)
        with _locked(self.folder):
            saved, problem = self._read_saved()
            if problem:
                raise ValueError(problem)
            others = saved[saved["respondent_id"] != row["respondent_id"]]
            table = pd.concat([others, pd.DataFrame([row], columns=self.columns)])
            with atomic_path(self.path) as tmp:
                table.to_csv(tmp, index=False, encoding="utf-8")
        self._file_problem = None
        self._say(
            f"Saved {self.progress.value} of {len(self.questions)} answers for "
            f"{row['respondent_id']!r} to {self.shown_path} at {datetime.now():%H:%M:%S}."
        )
        return self.path

    def render(self) -> Path:
        """Save, then render the HTML report of this assessment; return its path.

        A self-assessment has fewer respondents than the minimum group size that protects
        survey respondents (5 by default), so the report is rendered with a minimum of 1 and is
        for internal use only.
        """
        from xmkit.render.execute import render_report

        self.save()
        paths = render_report(
            self.path,
            client=self.name,
            output_dir=self.reports,
            formats=("html",),
            period=REPORT_PERIOD,
            framework=self.framework_path,
            min_group_size=1,
        )
        self.report_path = Path(paths["html"])
        return self.report_path

    def _on_save(self) -> None:
        try:
            self.save()
        except (ValueError, OSError) as exc:
            self._say(f"Not saved: {exc}", error=True)

    def _on_render(self) -> None:
        self._say("Saving and rendering the report (this takes a few seconds)...")
        self.render_button.disabled = True
        try:
            report = self.render()
        except (ValueError, OSError, XmkitError) as exc:
            self._say(f"No report: {exc}", error=True)
            return
        finally:
            self.render_button.disabled = False
        self._say(f"Report rendered at {datetime.now():%H:%M:%S}.")
        self.show_link(report)

    def show_link(self, report: Path) -> None:
        """Show a link to ``report``, relative to the notebook (the kernel's working folder)."""
        href = Path(os.path.relpath(report.resolve(), Path.cwd())).as_posix()
        page = _piece("link", href=href)
        self.link.outputs = (
            {
                "output_type": "display_data",
                "data": {"text/html": page, "text/plain": str(report)},
                "metadata": {},
            },
        )

    # ---- display --------------------------------------------------------------------------

    def show(self) -> None:
        """Display the form in the notebook."""
        from IPython.display import display

        display(self.ui)

    def _repr_mimebundle_(self, **kwargs: object) -> dict | None:
        return self.ui._repr_mimebundle_(**kwargs)
