"""The alignment framework as data: categories, practices, questions, levels, stages and next steps.

The framework lives in YAML so a consultant can adapt wording, weights, thresholds or stages
without touching code. It is validated on load: a malformed file fails with the key path of
every problem and what was expected there.
"""

from __future__ import annotations

from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from xmkit.errors import Problem, XmkitError
from xmkit.io.limits import check_known_keys, parse_yaml, read_yaml_text, unknown_keys_problem

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DEFAULT_FRAMEWORK",
    "DEFAULT_GAP_SHARE",
    "INDEX_KEYS",
    "PARTIAL_FROM",
    "Category",
    "Framework",
    "Gating",
    "Horizon",
    "NextStep",
    "Practice",
    "Question",
    "Roadmap",
    "Scale",
    "Stage",
    "Thresholds",
    "load_framework",
    "parse_framework",
]

DEFAULT_FRAMEWORK = "ex_cx_alignment.yaml"

Id = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)]
Text = Annotated[str, Field(min_length=1, max_length=2000)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _context_scale(info: ValidationInfo) -> tuple[int, int] | None:
    """The (min, max) of the scale being validated, when :func:`parse_framework` passed it.

    Checking levels where they are written gives errors with their key path; the framework's
    own validator checks again for frameworks built without that context.
    """
    return (info.context or {}).get("scale")


def _check_steps(steps: dict[int, object], low: int, high: int, name: str) -> None:
    """That next steps are keyed by levels low..high-1 and start at the lowest."""
    if low not in steps or any(not low <= k < high for k in steps):
        raise ValueError(
            f"{name} must be levels {low}..{high - 1} (the step from each level to the next), "
            f"at least level {low}"
        )


class Question(_Strict):
    id: Id
    text: Text
    levels: dict[int, Text]
    reverse: bool = False
    """Reverse-coded: an answer ``a`` is scored ``scale.min + scale.max - a``."""

    @field_validator("levels")
    @classmethod
    def _on_scale(cls, value: dict[int, str], info: ValidationInfo) -> dict[int, str]:
        scale = _context_scale(info)
        if scale:
            _check_points(value, *scale, "levels")
        return dict(sorted(value.items()))


Effort = Literal["S", "M", "L"]
"""A step's effort: small (weeks), medium (a quarter), large (several quarters)."""


class NextStep(_Strict):
    """One roadmap step with what a consultant hands over: who, how big, how to tell it worked.

    Written in the YAML either as the step's text alone or as a mapping with ``step`` and the
    optional ``owner``, ``effort`` (S, M or L), ``success`` and ``depends_on`` (practice ids
    whose work this step builds on).
    """

    step: Text
    owner: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    effort: Effort | None = None
    success: Text | None = None
    depends_on: list[Id] = Field(default_factory=list, max_length=12)

    @model_validator(mode="before")
    @classmethod
    def _text_alone(cls, data: object) -> object:
        return {"step": data} if isinstance(data, str) else data


class Practice(_Strict):
    id: Id
    name: Text
    description: Text
    questions: list[Question] = Field(min_length=1)
    next_steps: dict[int, NextStep]

    @field_validator("next_steps")
    @classmethod
    def _on_scale(cls, value: dict[int, NextStep], info: ValidationInfo) -> dict[int, NextStep]:
        scale = _context_scale(info)
        if scale:
            _check_steps(value, *scale, "next_steps")
        return dict(sorted(value.items()))

    def step_at(self, level: int) -> NextStep:
        """The step from ``level`` to the next: the one written for the highest level <= it.

        On a scale with more points than steps written (0-10 with steps at 0, 3, 5 and 8), a
        step applies from its level until the next one written.
        """
        return self.next_steps[max(k for k in self.next_steps if k <= level)]

    def next_step(self, level: int) -> str:
        """The text of :meth:`step_at`."""
        return self.step_at(level).step


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
    min_score: float
    description: Text


class Gating(_Strict):
    """Stage cap while a gating category (Converge by default) is still weak."""

    category: Id
    below: float
    max_stage: int = Field(ge=1)


class Horizon(_Strict):
    name: Text
    size: int | None = Field(default=None, ge=1)


class Roadmap(_Strict):
    """How next steps are ordered and spread over time.

    Steps of `later_category` wait until every other practice reaches `later_until_level`.
    """

    later_category: Id
    later_until_level: int
    horizons: list[Horizon] = Field(min_length=1)


class Thresholds(_Strict):
    min_group_size: int = Field(default=5, ge=1)
    perception_gap: float = Field(default=0.5, gt=0)
    rwg_low: float = Field(default=0.7, ge=0, le=1)


class Scale(_Strict):
    """The answer scale: 1-4, 1-5, 1-7, 1-9, 1-10, 0-10 or any ``min``-``max`` in between.

    ``labels`` name every point; a scale of 6 points or more may name only some, both ends
    among them (a 0-10 scale is often labelled only at 0 and 10): the others show as numbers.
    """

    min: int = Field(default=1, ge=0, le=1)
    max: int = Field(default=5, ge=3, le=10)
    labels: dict[int, Text]
    missing: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _labels_on_scale(self) -> Scale:
        _check_points(self.labels, self.min, self.max, "labels")
        return self

    @property
    def points(self) -> range:
        """Every point of the scale, lowest first."""
        return range(self.min, self.max + 1)

    @property
    def range_text(self) -> str:
        """The scale as people write it: ``"1-5"``, ``"0-10"``."""
        return f"{self.min}-{self.max}"

    def label(self, point: int) -> str:
        """The point's label, or its number when the scale names only some points."""
        return self.labels.get(point, str(point))


PARTIAL_FROM = 6
"""Scales with at least this many points may describe only some of them (both ends at least)."""


def _check_points(points: dict[int, object], low: int, high: int, name: str) -> None:
    """That ``points`` describe the low..high scale: every point, or on a long scale some.

    Up to 5 points every one needs its text; a longer scale (1-7, 0-10) may describe only
    some points as long as both ends are among them: respondents see the others as numbers.
    """
    every = list(range(low, high + 1))
    if high - low + 1 < PARTIAL_FROM:
        if sorted(points) != every:
            raise ValueError(f"{name} must have exactly the levels {every}")
        return
    outside = sorted(k for k in points if not low <= k <= high)
    if outside:
        raise ValueError(f"{name} has points {outside} outside the scale {low}-{high}")
    if low not in points or high not in points:
        raise ValueError(
            f"{name} must describe the points {low}..{high}, or some of them including both "
            f"ends {low} and {high}"
        )


# Thresholds that may be written on the 0-100 index instead of on the scale: the key written
# -> the key it becomes, and whether it is a difference (a gap) rather than a position.
INDEX_KEYS = {
    "min_index": ("min_score", False),
    "below_index": ("below", False),
    "perception_gap_index": ("perception_gap", True),
}
DEFAULT_GAP_SHARE = 0.125
"""The default perception gap, as a share of the scale's range: 0.5 points on 1-5."""


def _from_index(item: object, low: int, high: int, where: str) -> object:
    """A mapping with its ``*_index`` keys turned into the scale's keys and units."""
    if not isinstance(item, dict):
        return item
    item = dict(item)
    for key, (target, difference) in INDEX_KEYS.items():
        if key not in item:
            continue
        value = item.pop(key)
        if target in item:
            raise ValueError(f"{where}: write {target} or {key}, not both")
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
            raise ValueError(f"{where}.{key} must be a number from 0 to 100 (the 0-100 index)")
        item[target] = value / 100 * (high - low) + (0 if difference else low)
    return item


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

    @model_validator(mode="before")
    @classmethod
    def _thresholds_on_scale(cls, data: object) -> object:
        """Thresholds written on the 0-100 index (``min_index``, ...) put on the scale.

        Also sets the default perception gap to an eighth of the scale's range (0.5 on 1-5,
        0.75 on 1-7, 1.25 on 0-10), so a gap means as much on every scale.
        """
        if not isinstance(data, dict) or not isinstance(data.get("scale", {}), dict):
            return data
        scale = data.get("scale", {})
        low, high = scale.get("min", 1), scale.get("max", 5)
        if not (isinstance(low, int) and isinstance(high, int) and low < high):
            return data  # the scale's own validation reports it
        data = dict(data)
        if isinstance(data.get("stages"), list):
            data["stages"] = [
                _from_index(stage, low, high, f"stages[{i}]")
                for i, stage in enumerate(data["stages"])
            ]
        data["gating"] = _from_index(data.get("gating"), low, high, "gating")
        thresholds = _from_index(data.get("thresholds", {}), low, high, "thresholds")
        if isinstance(thresholds, dict) and "perception_gap" not in thresholds:
            thresholds["perception_gap"] = DEFAULT_GAP_SHARE * (high - low)
        data["thresholds"] = thresholds
        if data["gating"] is None:
            del data["gating"]
        return data

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
        low, high = self.scale.min, self.scale.max
        mins = [s.min_score for s in self.stages]
        if mins[0] != low or mins != sorted(mins) or len(set(mins)) != len(mins):
            raise ValueError(f"stage min_score values must rise strictly and start at {low}")
        if mins[-1] > high:
            raise ValueError(f"stage min_score values must lie on the scale {low}-{high}")
        if mins[-1] <= (low + high) / 2:
            raise ValueError(
                f"the highest stage starts at {mins[-1]:g}, not above the middle of the "
                f"{low}-{high} scale: thresholds written for another scale? Write them on "
                f"{low}-{high}, or as min_index on the 0-100 index"
            )
        if not low < self.gating.below <= high:
            raise ValueError(f"gating.below must lie on the scale {low}-{high}")
        if not low < self.roadmap.later_until_level <= high:
            raise ValueError(f"roadmap.later_until_level must be a level from {low + 1} to {high}")
        for _, practice in self.practices:
            for q in practice.questions:
                _check_points(q.levels, low, high, f"question {q.id}: levels")
            _check_steps(practice.next_steps, low, high, f"practice {practice.id}: next_steps")
        practice_ids = {p.id for _, p in self.practices}
        for _, practice in self.practices:
            for level, step in practice.next_steps.items():
                for needed in step.depends_on:
                    if needed not in practice_ids or needed == practice.id:
                        raise ValueError(
                            f"practice {practice.id}: next_steps.{level}.depends_on names "
                            f"{needed!r}, not another practice's id ({sorted(practice_ids)})"
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
        import pandas as pd  # here: a batch worker loads frameworks but never needs pandas

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

    @property
    def reverse_ids(self) -> list[str]:
        """The ids of the reverse-coded questions."""
        return [q.id for _, p in self.practices for q in p.questions if q.reverse]

    def scored(self, answers: pd.DataFrame) -> pd.DataFrame:
        """Answers as scored: reverse-coded questions turned to ``min + max - answer``.

        Answers are stored as given (what the respondent ticked); every score is computed from
        this view of them.
        """
        reverse = [q for q in self.reverse_ids if q in answers.columns]
        if not reverse:
            return answers
        turned = answers.copy()
        turned[reverse] = self.scale.min + self.scale.max - turned[reverse]
        return turned

    def choice(self, question: Question, point: int) -> str:
        """A point as offered to respondents: ``"3 - Defined: <the question's level text>"``.

        On a scale whose points are not all labelled or described (a 0-10 scale labelled at
        its ends), the missing parts are left out: ``"6"``, ``"6 - Good"`` or ``"6: <text>"``.
        """
        label, text = self.scale.labels.get(point), question.levels.get(point)
        head = f"{point} - {label}" if label else str(point)
        return f"{head}: {text}" if text else head

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
        name, text = str(path), read_yaml_text(path, "framework file")
    return parse_framework(text, name)


@lru_cache(maxsize=16)
def parse_framework(text: str, name: str = "framework") -> Framework:
    """Parse and validate framework YAML text; cached, since a Framework is immutable."""
    data = parse_yaml(text, name)  # safe tags only, and no alias bombs
    expected = "keys id, name, version, scale, stages, categories, ..."
    if not isinstance(data, dict):
        raise XmkitError(Problem(name, "a framework must be a YAML mapping", expected=expected))
    check_known_keys(data, set(Framework.model_fields), name, "a framework", expected)
    scale = data.get("scale")
    low, high = (scale.get("min", 1), scale.get("max", 5)) if isinstance(scale, dict) else (1, 5)
    valid = isinstance(low, int) and isinstance(high, int) and low in (0, 1) and 3 <= high <= 10
    context = {"scale": (low, high)} if valid else {}
    try:
        return Framework.model_validate(data, context=context)
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
