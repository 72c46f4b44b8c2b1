"""An assessment: one client's responses plus what the report needs to know about them."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from xmkit.errors import Problem, XmkitError


class Assessment(BaseModel):
    """The contents of an ``assessment.yaml``; paths are relative to that file."""

    model_config = ConfigDict(extra="forbid")

    client: str = Field(min_length=1, max_length=200)
    period: str = Field(default="", max_length=100)
    description: str = Field(default="", max_length=2000)
    responses: Path = Path("responses.csv")
    framework: Path | None = None
    min_group_size: int | None = Field(default=None, ge=1)
    folder: Path = Path(".")

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
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise XmkitError(Problem(str(path), "assessment file not found")) from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise XmkitError(Problem(str(path), f"not valid YAML: {exc}")) from None
    if not isinstance(data, dict):
        raise XmkitError(
            Problem(
                str(path),
                "an assessment must be a YAML mapping",
                expected="keys client, period, responses, min_group_size",
            )
        )
    try:
        return Assessment.model_validate({**data, "folder": path.parent})
    except ValidationError as exc:
        raise XmkitError(
            [
                Problem(str(path), f"{'.'.join(map(str, e['loc']))}: {e['msg']}")
                for e in exc.errors()
            ]
        ) from None
