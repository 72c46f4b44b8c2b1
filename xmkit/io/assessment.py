"""An assessment: one client's responses plus what the report needs to know about them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from xmkit.errors import Problem, XmkitError
from xmkit.io.columns import ColumnRoles
from xmkit.io.limits import check_known_keys, parse_yaml, read_yaml_text, unknown_keys_problem
from xmkit.options import Lag, PeriodName

__all__ = [
    "Assessment",
    "Fieldwork",
    "MetricsInput",
    "PreviousInput",
    "load_assessment",
]


class MetricsInput(BaseModel):
    """``metrics:`` of an assessment: the client's metrics file and which metrics to link.

    A setting left out takes the default of :class:`xmkit.options.Options`.
    """

    model_config = ConfigDict(extra="forbid")

    file: Path
    ex: list[str] | None = Field(default=None, min_length=1)
    cx: list[str] | None = Field(default=None, min_length=1)
    max_lag: Lag | None = None
    period_name: PeriodName | None = None


class PreviousInput(BaseModel):
    """``previous:`` of an assessment: the responses of an earlier wave and its period."""

    model_config = ConfigDict(extra="forbid")

    responses: Path
    period: str = Field(default="", max_length=100)


class Fieldwork(BaseModel):
    """``fieldwork:`` of an assessment: the first and last day responses were collected."""

    model_config = ConfigDict(extra="forbid")

    start: dt.date
    end: dt.date

    @model_validator(mode="after")
    def _in_order(self) -> Fieldwork:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self


Headcount = Annotated[int, Field(ge=1, le=10_000_000)]


class Assessment(BaseModel):
    """The contents of an ``assessment.yaml``; paths are relative to that file."""

    model_config = ConfigDict(extra="forbid")

    client: str = Field(min_length=1, max_length=200)
    period: str = Field(default="", max_length=100)
    description: str = Field(default="", max_length=2000)
    industry: str = Field(default="", max_length=100)
    responses: Path = Path("responses.csv")
    framework: Path | None = None
    min_group_size: int | None = Field(default=None, ge=1)  # None: the framework's
    metrics: MetricsInput | None = None
    previous: PreviousInput | None = None
    targets: dict | None = None
    columns: ColumnRoles | None = None
    """Which columns of the responses file are the id, unit, role, comment (and questions)."""
    firm: str = Field(default="", max_length=200)
    """The consulting firm's name, shown on the cover."""
    logo: Path | None = None
    """The firm's logo (PNG, JPEG or SVG), relative to the assessment folder."""
    headcounts: dict[str, Headcount] | None = Field(default=None, min_length=1)
    """People invited per business unit: gives the response rate in the Sample section."""
    fieldwork: Fieldwork | None = None
    folder: Path = Path(".")

    @field_validator("metrics", mode="before")
    @classmethod
    def _metrics_path(cls, value: object) -> object:
        return {"file": value} if isinstance(value, str | Path) else value

    @field_validator("previous", mode="before")
    @classmethod
    def _previous_path(cls, value: object) -> object:
        return {"responses": value} if isinstance(value, str | Path) else value

    @property
    def metrics_path(self) -> Path | None:
        return self.folder / self.metrics.file if self.metrics else None

    @property
    def previous_path(self) -> Path | None:
        return self.folder / self.previous.responses if self.previous else None

    @property
    def logo_path(self) -> Path | None:
        return self.folder / self.logo if self.logo else None

    @property
    def responses_path(self) -> Path:
        return self.folder / self.responses

    @property
    def framework_path(self) -> Path | None:
        return self.folder / self.framework if self.framework else None


def load_assessment(path: str | Path) -> Assessment:
    """Read and validate an ``assessment.yaml`` (or the folder holding one)."""
    path = Path(path)
    if path.is_dir():
        path = path / "assessment.yaml"
    text = read_yaml_text(path, "assessment file")
    data = parse_yaml(text, str(path))  # safe tags only, and no alias bombs
    if not isinstance(data, dict):
        raise XmkitError(
            Problem(
                str(path),
                "an assessment must be a YAML mapping",
                expected="keys client, period, responses, min_group_size",
            )
        )
    expected = "keys client, period, responses, min_group_size"
    check_known_keys(data, set(Assessment.model_fields), str(path), "an assessment", expected)
    try:
        assessment = Assessment.model_validate({**data, "folder": path.parent})
    except ValidationError as exc:
        errors = exc.errors()
        unknown = [".".join(map(str, e["loc"])) for e in errors if e["type"] == "extra_forbidden"]
        problems = [
            Problem(str(path), f"{'.'.join(map(str, e['loc']))}: {e['msg']}")
            for e in errors
            if e["type"] != "extra_forbidden"
        ]
        if unknown:
            problems.append(unknown_keys_problem(str(path), unknown))
        raise XmkitError(problems) from None
    _check_inputs(assessment, path)
    return assessment


def _check_inputs(assessment: Assessment, path: Path) -> None:
    """Every referenced file exists and the targets name known practices (all problems)."""
    problems = [
        Problem(str(path), f"{key}: file not found", value=str(file))
        for key, file in (
            ("metrics.file", assessment.metrics_path),
            ("previous.responses", assessment.previous_path),
        )
        if file is not None and not file.is_file()
    ]
    if assessment.logo_path is not None:
        from xmkit.io.logo import logo_data_uri

        try:
            logo_data_uri(assessment.logo_path)
        except XmkitError as exc:
            problems.extend(
                Problem(str(path), f"logo {p.file}: {p.message}", expected=p.expected)
                for p in exc.problems
            )
    if assessment.targets:
        from xmkit.analysis.targets import parse_targets
        from xmkit.framework import load_framework

        try:
            parse_targets(assessment.targets, load_framework(assessment.framework_path), str(path))
        except XmkitError as exc:
            problems.extend(exc.problems)
    if problems:
        raise XmkitError(problems)
