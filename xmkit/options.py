"""Every report and batch setting, declared once: its type, default, limits and help text.

The CLI (``xmkit report``, ``xmkit batch``, ``xmkit score``) builds its flags from
:class:`Options`, :func:`xmkit.render_report` and :func:`xmkit.run_batch` take its fields as
keywords, batch unit jobs carry one, and the report notebook's parameters cell lists its
``notebook`` fields with the same names, types and defaults (a test holds them equal).

One precedence rule: a value given (flag or keyword) beats the ``assessment.yaml``, which
beats the default here; ``min_group_size`` left as None means the framework's threshold.
None always means "not given" (no metrics file, no previous wave, no targets ...).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from pathlib import Path
from types import NoneType
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from xmkit.errors import Problem, UsageError

__all__ = [
    "FORMATS",
    "Lag",
    "Options",
    "PeriodName",
    "add_flags",
    "given_flags",
    "is_assessment",
    "notebook_signature",
    "notebook_values",
    "resolve",
]

Format = Literal["html", "pdf", "ipynb"]
FORMATS: tuple[str, ...] = get_args(Format)
Lag = Annotated[int, Field(ge=0, le=12)]
"""Longest lag tested between EX and CX metrics, in periods of the metrics file."""
PeriodName = Annotated[str, Field(min_length=1, max_length=40)]


def _split(value: object) -> object:
    """``"html, pdf"`` -> ``("html", "pdf")``: a comma-separated list as the CLI gives it."""
    if isinstance(value, str):
        value = [v.strip().lower() for v in value.split(",") if v.strip()]
    return tuple(dict.fromkeys(value)) if isinstance(value, list | tuple) else value


def _join(value: object) -> object:
    """``["engagement", "eNPS"]`` (an assessment's list) -> ``"engagement,eNPS"``."""
    return ",".join(map(str, value)) if isinstance(value, list | tuple) else value


Names = Annotated[str, BeforeValidator(_join), Field(min_length=1)]
"""Metric names, comma-separated."""


def _json(value: object) -> object:
    """Targets arrive as JSON text from a notebook parameter; "" means none."""
    if isinstance(value, str):
        return json.loads(value) if value.strip() else None
    return value


def _opt(default: Any, help: str, where: str, metavar: str | None = None, **limits: Any) -> Any:
    """A field with its help text, the commands/notebook that show it, and its flag's metavar."""
    extra = {"where": where.split(), "metavar": metavar}
    return Field(default, description=help, json_schema_extra=extra, **limits)


BENCHMARK_FIELDS = ("industry", "benchmark", "benchmark_min")
"""Options of the Benchmark sections (report and portfolio), passed to them, not to prepare."""


class Options(BaseModel):
    """The settings of a report or a batch; see the module docstring for precedence."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    client: str | None = _opt(
        None,
        "client name (default: the assessment's; required for a responses file)",
        "report batch notebook",
        "NAME",
        min_length=1,
        max_length=200,
    )
    unit: str | None = _opt(
        None,
        "business unit to report on (default: the whole organization)",
        "report notebook",
        "NAME",
        min_length=1,
        max_length=200,
    )
    period: str = _opt(
        "",
        "assessment period shown on the cover (default: the assessment's)",
        "report batch notebook",
        "TEXT",
        max_length=100,
    )
    framework: Path | None = _opt(
        None,
        "framework YAML (default: the assessment's, else the bundled EX/CX alignment framework)",
        "validate inspect score questionnaire report batch notebook",
        "FILE",
    )
    min_group_size: int | None = _opt(
        None,
        "smallest group whose results are shown (default: the assessment's, else the "
        "framework's, 5)",
        "validate score report batch notebook",
        "N",
        ge=1,
    )
    bootstrap: int = _opt(
        1000,
        "0: no confidence intervals; otherwise 95% Student-t intervals (replicates of the "
        "bootstrap where one is used)",
        "score report batch notebook",
        "N",
        ge=0,
        le=100_000,
    )
    seed: int = _opt(0, "random seed of the bootstrap", "score report batch notebook", "N", ge=0)
    include_comments: bool = _opt(
        False,
        "show free-text comments, only of groups that meet the minimum group size",
        "report batch notebook",
    )
    metrics: Path | None = _opt(
        None,
        "client metrics file (unit, period, metric, value): adds the Evidence section "
        "(default: the assessment's metrics:)",
        "report batch notebook",
        "FILE",
    )
    ex: Names = _opt(
        "engagement",
        "EX metric(s) to link, comma-separated; the first is charted (default: the "
        "assessment's, else {default})",
        "report batch notebook",
        "NAMES",
    )
    cx: Names = _opt(
        "NPS",
        "CX metric(s) to link, comma-separated; the first is charted (default: the "
        "assessment's, else {default})",
        "report batch notebook",
        "NAMES",
    )
    max_lag: Lag = _opt(3, "longest lag tested, in periods of the metrics file", "notebook")
    period_name: PeriodName = _opt(
        "period", "what one period of the metrics file is called (quarter, month)", "notebook"
    )
    previous: Path | None = _opt(
        None,
        "responses of the previous assessment: adds the Progress section "
        "(default: the assessment's previous:)",
        "report batch notebook",
        "FILE",
    )
    previous_period: str = _opt(
        "",
        "period of the previous assessment (default: the assessment's previous: period)",
        "report batch notebook",
        "TEXT",
        max_length=100,
    )
    targets: Annotated[dict | None, BeforeValidator(_json)] = _opt(
        None, "targets per practice (docs/evidence.md); the assessment's targets:", "notebook"
    )
    reading: Annotated[dict | None, BeforeValidator(_json)] = _opt(
        None,
        "column roles and row options of the responses file (docs/input-formats.md); the "
        "assessment's columns: and the column flags",
        "notebook",
    )
    withhold: Annotated[dict | None, BeforeValidator(_json)] = _opt(
        None,
        "what the disclosure rule hides in a unit report that sees only its unit's rows (set "
        "by a batch; xmkit.analysis.withholding.unit_withholding)",
        "notebook",
    )
    firm: str | None = _opt(
        None,
        "consulting firm's name shown on the cover (default: the assessment's firm:)",
        "report batch notebook",
        "NAME",
        min_length=1,
        max_length=200,
    )
    logo: Path | None = _opt(
        None,
        "firm's logo on the cover: PNG, JPEG or SVG, at most 512 KB (default: the "
        "assessment's logo:)",
        "report batch notebook",
        "FILE",
    )
    headcounts: Annotated[dict | None, BeforeValidator(_json)] = _opt(
        None,
        "people invited per business unit, for the response rate (the assessment's headcounts:)",
        "notebook",
    )
    fieldwork: Annotated[dict | None, BeforeValidator(_json)] = _opt(
        None,
        "first and last day of fieldwork, {start, end} (the assessment's fieldwork:)",
        "notebook",
    )
    industry: str | None = _opt(
        None,
        "industry to benchmark against: adds percentile ranks from the firm's benchmark store "
        "(docs/benchmarks.md; default: the assessment's industry:)",
        "report batch notebook portfolio",
        "NAME",
        min_length=1,
        max_length=100,
    )
    benchmark: str | None = _opt(
        None,
        "benchmark store: a DuckDB file or a postgresql:// URL (default: XMKIT_BENCHMARK, else "
        "the user data folder)",
        "report batch notebook portfolio",
        "STORE",
    )
    benchmark_min: int = _opt(
        5,
        "organizations needed for a percentile rank (never below 5)",
        "report batch notebook portfolio",
        "N",
        ge=5,
    )
    formats: Annotated[tuple[Format, ...], BeforeValidator(_split)] = _opt(
        ("html", "pdf"),
        "comma-separated formats among html, pdf, ipynb",
        "report batch",
        "LIST",
        min_length=1,
    )
    timeout: int = _opt(600, "seconds a report's notebook may run", "report batch", "S", ge=1)
    jobs: int = _opt(1, "parallel renders", "batch", "N", ge=1, le=512)
    resume: bool = _opt(
        False,
        "skip units whose input, template and outputs are unchanged since the last run",
        "batch",
    )
    wait: bool = _opt(
        False,
        "if another batch is writing to the output folder, wait for it to finish (default: "
        "stop at once, naming it)",
        "batch",
    )
    executor: Literal["local", "dask"] = _opt(
        "local", "local processes, or a Dask distributed cluster", "batch"
    )
    scheduler: str | None = _opt(
        None,
        "Dask scheduler address, e.g. tcp://10.0.0.5:8786 (default with --executor dask: a "
        "local cluster of --jobs workers)",
        "batch",
        "ADDRESS",
    )
    recycle_after: int = _opt(
        50, "replace each warm kernel after N reports, bounding memory", "batch", "N", ge=1
    )

    @classmethod
    def fields_for(cls, where: str) -> list[str]:
        """The fields a command (or ``notebook``) shows, in declaration order."""
        return [
            name
            for name, info in cls.model_fields.items()
            if where in (info.json_schema_extra or {}).get("where", [])
        ]

    @classmethod
    def checked(cls, values: Mapping[str, object], flags: bool = False) -> Options:
        """Validate ``values``; a bad one is a :class:`UsageError` naming the option."""
        try:
            return cls.model_validate(dict(values))
        except ValidationError as exc:
            raise UsageError(
                [
                    Problem(
                        _label(str(e["loc"][0]) if e["loc"] else "options", flags),
                        "unknown option" if e["type"] == "extra_forbidden" else e["msg"],
                        value=None if e["type"] == "extra_forbidden" else str(e.get("input")),
                        expected=f"one of {', '.join(cls.model_fields)}"
                        if e["type"] == "extra_forbidden"
                        else None,
                    )
                    for e in exc.errors()
                ]
            ) from None

    def min_size(self, default: int) -> int:
        """The minimum group size: as given, else ``default`` (the framework's)."""
        return self.min_group_size or default

    def prepare_arguments(self) -> dict[str, object]:
        """Keywords of :func:`xmkit.report.sections.prepare` (the report notebook calls it)."""
        if not self.client:
            raise UsageError(
                Problem("client", "a client name is needed", expected="client, or an assessment")
            )
        names = set(self.fields_for("notebook")) - {"bootstrap", *BENCHMARK_FIELDS}
        return {**self.model_dump(include=names), "n_boot": self.bootstrap}

    def notebook_parameters(self) -> dict[str, object]:
        """The report notebook's parameters: paths made absolute, targets as JSON text."""
        values = self.model_dump(include=set(self.fields_for("notebook")))
        for name, value in values.items():
            if isinstance(value, Path):
                values[name] = str(value.resolve())
        for name in ("targets", "withhold", "reading", "headcounts", "fieldwork"):
            values[name] = json.dumps(getattr(self, name)) if getattr(self, name) else None
        return values


def notebook_signature() -> list[tuple[str, str, object, str]]:
    """``(name, type, default, help)`` of each report notebook parameter the model declares.

    The notebook receives text and numbers: paths as ``str``, targets as JSON ``str``; an
    optional one is ``Optional[...]`` (papermill's parameter parser does not read ``X | None``).
    """
    rows = []
    for name in Options.fields_for("notebook"):
        info = Options.model_fields[name]
        args = get_args(info.annotation) or (info.annotation,)
        kind = {int: "int", bool: "bool"}.get(next(a for a in args if a is not NoneType), "str")
        optional = NoneType in args
        rows.append(
            (name, f"Optional[{kind}]" if optional else kind, info.default, info.description)
        )
    return rows


def notebook_values(namespace: Mapping[str, object]) -> dict[str, object]:
    """The report notebook's parameters that differ from the model's defaults.

    A parameter left at its default counts as not given, so an assessment folder as
    ``responses`` supplies it (:func:`resolve`), as ``xmkit report`` does.
    """
    return {
        name: namespace[name]
        for name, _, default, _ in notebook_signature()
        if name in namespace and namespace[name] != default
    }


def _label(name: str, flags: bool) -> str:
    return "--" + ("format" if name == "formats" else name.replace("_", "-")) if flags else name


def is_assessment(path: Path) -> bool:
    """An assessment folder (or its YAML), as opposed to a responses file."""
    return (path / "assessment.yaml").exists() or path.suffix.lower() in {".yaml", ".yml"}


def assessment_values(assessment) -> dict[str, object]:
    """What an :class:`~xmkit.io.assessment.Assessment` sets, as :class:`Options` values."""
    values: dict[str, object] = {
        "client": assessment.client,
        "period": assessment.period,
        "framework": assessment.framework_path,
        "min_group_size": assessment.min_group_size,
        "targets": assessment.targets,
        "industry": assessment.industry or None,
        "firm": assessment.firm or None,
        "logo": assessment.logo_path,
        "headcounts": assessment.headcounts,
        "fieldwork": assessment.fieldwork.model_dump(mode="json") if assessment.fieldwork else None,
        "reading": {"columns": assessment.columns.model_dump(exclude_defaults=True)}
        if assessment.columns
        else None,
    }
    if assessment.metrics:
        metrics = assessment.metrics
        values.update(
            metrics=assessment.metrics_path,
            ex=metrics.ex,
            cx=metrics.cx,
            max_lag=metrics.max_lag,
            period_name=metrics.period_name,
        )
    if assessment.previous:
        values.update(previous=assessment.previous_path, previous_period=assessment.previous.period)
    return {k: v for k, v in values.items() if v is not None}


def resolve(
    source: str | Path, given: Mapping[str, object] | None = None, flags: bool = False
) -> tuple[Path, Options]:
    """The responses file and the options of a report: given > ``assessment.yaml`` > default.

    ``source`` is a responses file, or an assessment folder (or its YAML) whose values fill in
    what ``given`` leaves out (None counts as not given). ``flags`` names options as command
    line flags in errors.
    """
    source = Path(source)
    layers: dict[str, object] = {}
    if is_assessment(source):
        from xmkit.io.assessment import load_assessment

        assessment = load_assessment(source)
        source, layers = assessment.responses_path, assessment_values(assessment)
    chosen = {k: v for k, v in (given or {}).items() if v is not None}
    if layers.get("reading") and chosen.get("reading"):  # column flags over columns: one by one
        columns = {**layers["reading"].get("columns", {}), **chosen["reading"].get("columns", {})}
        chosen["reading"] = {**chosen["reading"], "columns": columns}
    return source, Options.checked({**layers, **chosen}, flags)


# ---- command-line flags ------------------------------------------------------------------


def _flag_type(name: str):
    """argparse ``type=``: the text of a flag validated as the field (bad value: exit 2)."""

    def parse(text: str) -> object:
        try:
            return getattr(Options.model_validate({name: text}), name)
        except ValidationError as exc:
            raise argparse.ArgumentTypeError(exc.errors()[0]["msg"]) from None

    parse.__name__ = name  # argparse names the type in "invalid <name> value"
    return parse


def _help(name: str) -> str:
    """The field's help text with its default, unless the text says it (or there is none)."""
    info = Options.model_fields[name]
    default, text = info.default, info.description or ""
    shown = ",".join(default) if isinstance(default, tuple) else str(default)
    if "{default}" in text:
        return text.format(default=shown)
    if default in (None, "") or isinstance(default, bool) or "(default" in text:
        return text
    return f"{text} (default: {shown})"


def add_flags(parser: argparse.ArgumentParser, command: str) -> None:
    """Add the flags of ``command`` (``report``, ``batch`` ...) as the model declares them.

    Every flag defaults to None, meaning "not given", so the assessment and the model's
    defaults apply; :func:`given_flags` collects what was given.
    """
    for name in Options.fields_for(command):
        info = Options.model_fields[name]
        flag = _label(name, flags=True)
        help_text = _help(name).replace("%", "%%")  # argparse formats help with %
        if info.annotation is bool:
            parser.add_argument(flag, action="store_true", default=None, help=help_text)
            continue
        choices = getattr(info.annotation, "__args__", None) if name == "executor" else None
        parser.add_argument(
            flag,
            dest=name,
            type=_flag_type(name),
            default=None,
            choices=choices,
            metavar=(info.json_schema_extra or {}).get("metavar") if not choices else None,
            help=help_text,
        )


def given_flags(args: argparse.Namespace, command: str) -> dict[str, object]:
    """The :class:`Options` values given on the command line (flags left out are not here)."""
    return {
        name: getattr(args, name)
        for name in Options.fields_for(command)
        if getattr(args, name, None) is not None
    }
