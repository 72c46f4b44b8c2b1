"""The alignment framework as data: categories, practices, questions, levels, stages and next steps.

The framework lives in YAML so a consultant can adapt wording, weights, thresholds or stages
without touching code. It is validated on load: a malformed file fails with the key path of
every problem and what was expected there.
"""

from __future__ import annotations

from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path
from typing import Annotated

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from xmkit.errors import Problem, XmkitError
from xmkit.io.limits import (
    check_input_file,
    check_known_keys,
    load_yaml,
    unknown_keys_problem,
    yaml_reason,
)

DEFAULT_FRAMEWORK = "ex_cx_alignment.yaml"

Id = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)]
Text = Annotated[str, Field(min_length=1, max_length=2000)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _levels_1_to(top: int, name: str):
    """A validator that a {level: text} mapping has exactly the keys 1..top."""

    def check(value: dict[int, str]) -> dict[int, str]:
        expected = set(range(1, top + 1))
        if set(value) != expected:
            raise ValueError(f"{name} must have exactly the levels {sorted(expected)}")
        return dict(sorted(value.items()))

    return check


class Question(_Strict):
    id: Id
    text: Text
    levels: dict[int, Text]

    _check_levels = field_validator("levels")(_levels_1_to(5, "levels"))


class Practice(_Strict):
    id: Id
    name: Text
    description: Text
    questions: list[Question] = Field(min_length=1)
    next_steps: dict[int, Text]

    _check_steps = field_validator("next_steps")(_levels_1_to(4, "next_steps"))


class Category(_Strict):
    id: Id
    name: Text
    description: Text
    color: str = Field(pattern=r"^#[0-9a-fA-F]{6}$")
    weight: float = Field(default=1.0, gt=0)
    practices: list[Practice] = Field(min_length=1)


class Stage(_Strict):
    stage: int = Field(ge=1)
    name: Text
    min_score: float = Field(ge=1, le=5)
    description: Text


class Gating(_Strict):
    """Stage cap while a gating category (Converge by default) is still weak."""

    category: Id
    below: float = Field(ge=1, le=5)
    max_stage: int = Field(ge=1)


class Horizon(_Strict):
    name: Text
    size: int | None = Field(default=None, ge=1)


class Roadmap(_Strict):
    """How next steps are ordered and spread over time.

    Steps of `later_category` wait until every other practice reaches `later_until_level`.
    """

    later_category: Id
    later_until_level: int = Field(ge=2, le=5)
    horizons: list[Horizon] = Field(min_length=1)


class Thresholds(_Strict):
    min_group_size: int = Field(default=5, ge=1)
    perception_gap: float = Field(default=0.5, gt=0)
    rwg_low: float = Field(default=0.7, ge=0, le=1)


class Scale(_Strict):
    min: int = 1
    max: int = 5
    labels: dict[int, Text]
    missing: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _labels_cover_scale(self) -> Scale:
        if self.min >= self.max:
            raise ValueError("min must be below max")
        if set(self.labels) != set(range(self.min, self.max + 1)):
            raise ValueError(f"labels must cover every level {self.min}..{self.max}")
        return self


class Framework(_Strict):
    """A validated framework. Use :func:`load_framework` to build one from YAML."""

    id: Id
    name: Text
    version: str = Field(min_length=1, max_length=40)
    description: Text
    scale: Scale
    thresholds: Thresholds = Thresholds()
    gating: Gating
    stages: list[Stage] = Field(min_length=2)
    roadmap: Roadmap
    categories: list[Category] = Field(min_length=1)

    model_config = ConfigDict(extra="forbid", frozen=True, ignored_types=(cached_property,))

    @model_validator(mode="after")
    def _consistent(self) -> Framework:
        ids: dict[str, str] = {}
        for cat in self.categories:
            for kind, item in [("category", cat)] + [("practice", p) for p in cat.practices]:
                if item.id in ids:
                    raise ValueError(f"{kind} id {item.id!r} is used twice")
                ids[item.id] = kind
            for practice in cat.practices:
                for q in practice.questions:
                    if q.id in ids:
                        raise ValueError(f"question id {q.id!r} is used twice")
                    ids[q.id] = "question"
        numbers = [s.stage for s in self.stages]
        if numbers != list(range(1, len(numbers) + 1)):
            raise ValueError("stages must be numbered 1, 2, 3, ... in order")
        mins = [s.min_score for s in self.stages]
        if mins[0] != self.scale.min or mins != sorted(mins) or len(set(mins)) != len(mins):
            raise ValueError(
                f"stage min_score values must rise strictly and start at {self.scale.min}"
            )
        cat_ids = {c.id for c in self.categories}
        for where, cid in [
            ("gating.category", self.gating.category),
            ("roadmap.later_category", self.roadmap.later_category),
        ]:
            if cid not in cat_ids:
                raise ValueError(f"{where} {cid!r} is not a category id ({sorted(cat_ids)})")
        if self.gating.max_stage > len(self.stages):
            raise ValueError("gating.max_stage is above the highest stage")
        return self

    # ---- derived views -------------------------------------------------------------------

    @cached_property
    def questions(self) -> pd.DataFrame:
        """One row per question: question, practice and category ids and names, in order."""
        rows = [
            {
                "question_id": q.id,
                "question": q.text,
                "practice_id": p.id,
                "practice": p.name,
                "category_id": c.id,
                "category": c.name,
                "category_weight": c.weight,
            }
            for c in self.categories
            for p in c.practices
            for q in p.questions
        ]
        return pd.DataFrame(rows)

    @property
    def question_ids(self) -> list[str]:
        return self.questions["question_id"].tolist()

    @property
    def practices(self) -> list[tuple[Category, Practice]]:
        return [(c, p) for c in self.categories for p in c.practices]

    def category(self, category_id: str) -> Category:
        return next(c for c in self.categories if c.id == category_id)

    def practice(self, practice_id: str) -> Practice:
        return next(p for _, p in self.practices if p.id == practice_id)

    def stage_for(self, score: float) -> Stage:
        """The highest stage whose `min_score` the score reaches."""
        return [s for s in self.stages if score >= s.min_score][-1]

    @property
    def palette(self) -> dict[str, str]:
        """One fixed colour per category name, used by every chart."""
        return {c.name: c.color for c in self.categories}


def _nice_path(data: object, loc: tuple) -> str:
    """Key path with list indices replaced by the item's id where it has one."""
    parts, node = [], data
    for part in loc:
        if isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
            ident = node.get("id") if isinstance(node, dict) else None
            parts.append(f"[{ident}]" if ident else f"[{part}]")
            continue
        if isinstance(node, dict):
            node = node.get(part)
        parts.append(str(part))
    return ".".join(parts).replace(".[", "[") or "(top level)"


def load_framework(path: str | Path | None = None) -> Framework:
    """Load and validate a framework YAML; the bundled EX/CX alignment framework by default."""
    if path is None:
        source = resources.files("xmkit") / "frameworks" / DEFAULT_FRAMEWORK
        name, text = DEFAULT_FRAMEWORK, source.read_text(encoding="utf-8")
    else:
        path = Path(path)
        name = str(path)
        if not path.exists():
            raise XmkitError(f"framework file not found: {path}", file=name)
        check_input_file(path, "framework file")
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:  # names the byte, quotes nothing of the file
            raise XmkitError(f"cannot read the framework file ({exc})", file=name) from None
        except (IsADirectoryError, PermissionError) as exc:
            raise XmkitError(
                f"cannot read the framework file ({exc.strerror})", file=name
            ) from None
    return parse_framework(text, name)


@lru_cache(maxsize=16)
def parse_framework(text: str, name: str = "framework") -> Framework:
    """Parse and validate framework YAML text; cached, since a Framework is immutable."""
    try:
        data = load_yaml(text)  # safe tags only, and no alias bombs
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        row = mark.line + 1 if mark else None
        raise XmkitError(Problem(name, f"not valid YAML: {yaml_reason(exc)}", row=row)) from None
    expected = "keys id, name, version, scale, stages, categories, ..."
    if not isinstance(data, dict):
        raise XmkitError(Problem(name, "a framework must be a YAML mapping", expected=expected))
    check_known_keys(data, set(Framework.model_fields), name, "a framework", expected)
    try:
        return Framework.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        unknown = [_nice_path(data, e["loc"]) for e in errors if e["type"] == "extra_forbidden"]
        problems = [
            Problem(
                name,
                f"{_nice_path(data, err['loc'])}: {err['msg']}",
                value=None if err["type"] == "missing" else repr(err.get("input"))[:80],
            )
            for err in errors
            if err["type"] != "extra_forbidden"
        ]
        if unknown:
            problems.append(unknown_keys_problem(name, unknown))
        raise XmkitError(problems) from None
