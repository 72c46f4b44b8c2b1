"""Answer cells as people and survey tools write them, turned into points of a scale.

One parser serves every place that reads answers (responses files, the eNPS answers of a
metrics file, the data-entry widget), so "3 - Defined", "Agree", "A4" or "Don't know / not
sure" mean the same everywhere. What an answer may look like, in the order it is tried:

1. a missing answer: the framework's ``scale.missing`` words and the built-in ones ("I don't
   know", "Not applicable to my role", "Prefer not to say", "Unfamiliar (N/A)", ...) are NaN,
   never zero;
2. a number, alone or with its label in any common form: ``3``, ``3 - Defined``,
   ``4 = Very good: ...``, ``4. Slightly disagree``, ``(4) Often``, ``Agree (4)``;
3. a LimeSurvey answer code (``A1``, ``AO01``: the first, second, ... answer option);
4. the framework's scale labels ("Defined") or a question's level text;
5. a wording of a built-in label set (:file:`answer_labels.yaml`: agreement, frequency, extent,
   quality, satisfaction, likelihood, ease) whose number of points equals the scale's. A
   column's wordings must all fit one set; a wording two sets read differently ("Fair") is
   reported rather than guessed.

Anything else is reported with what was expected.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from xmkit.errors import Problem, XmkitError
from xmkit.io.limits import load_yaml

if TYPE_CHECKING:
    from xmkit.framework import Framework

__all__ = [
    "AnswerLabels",
    "AnswerParser",
    "LabelSet",
    "answer_labels",
    "is_missing",
    "narrower_scale",
    "norm",
    "parse_answer_labels",
]

LABELS_FILE = "answer_labels.yaml"
CURLY_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})
SPREADSHEET_ERROR = re.compile(
    r"^#(div/0!?|n/a|value!?|ref!?|name|num!?|null!?|spill!?|calc!?|getting_data|field!?)$"
)
_MONTH = (
    r"(jan|january|feb|february|mar|march|apr|april|may|jun|june|jul|july|aug|august|sep|sept"
    r"|september|oct|october|nov|november|dec|december)"
)
DATE_PATTERNS = [
    re.compile(r"^\d{4}-\d{1,2}-\d{1,2}([ t]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?$"),  # ISO, Excel cells
    re.compile(r"^\d{1,2}[/.]\d{1,2}[/.]\d{2,4}( \d{1,2}:\d{2}(:\d{2})?)?$"),  # 05/03/2026
    re.compile(rf"^\d{{1,2}}[- /]{_MONTH}([- /]\d{{2,4}})?$"),  # 5-Jan, 05 Mar 2026
    re.compile(rf"^{_MONTH}[- /]\d{{1,4}}$"),  # Jan-05, Mar 2026
]
# "3", "3 - Defined", "4 = Very good: ...", "4. Slightly disagree", "(4) Often", "[4] Often"
NUMBER_FIRST = re.compile(
    r"^(?:[(\[]\s*([+-]?\d+)\s*[)\]]\s*(?:[-–—:.=]\s*)?(?:[^\W\d_].*)?"
    r"|([+-]?\d+(?:[.,]\d+)?)(?:\s*[-–—:.=)]\s*[^\W\d_].*)?)$"
)
# "Agree (4)", "Often [4]"
NUMBER_LAST = re.compile(r"^[^\W\d_][^()\[\]]*[(\[]\s*([+-]?\d+)\s*[)\]]$")
# LimeSurvey's answer codes: A1, A2, ... (older versions) or AO01, AO02, ... (newer ones)
LIMESURVEY_CODE = re.compile(r"^ao?0*(\d{1,3})$")
NOT_APPLICABLE = re.compile(r"(^|[^a-z])n(/|\.\s?)a($|[^a-z])")


def norm(text: object) -> str:
    """Lower-case, single-spaced, straight quotes, no surrounding punctuation: for matching."""
    text = str(text).translate(CURLY_QUOTES)
    return re.sub(r"\s+", " ", text).strip().strip(" .:?*").lower()


# ---- the label file -----------------------------------------------------------------------


class _LabelSetModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1)
    points: list[list[str]] = Field(min_length=2)

    @model_validator(mode="after")
    def _each_wording_once(self) -> _LabelSetModel:
        seen: dict[str, int] = {}
        for point, wordings in enumerate(self.points, start=1):
            if not wordings:
                raise ValueError(f"point {point} has no wording")
            for wording in wordings:
                key = norm(wording)
                if key in seen:
                    raise ValueError(f"{wording!r} is on points {seen[key]} and {point}")
                seen[key] = point
        return self


class _LabelFileModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    missing: list[str]
    missing_prefixes: list[str]
    missing_na_length: int = Field(ge=0)
    label_sets: list[_LabelSetModel] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> _LabelFileModel:
        ids = [s.id for s in self.label_sets]
        if len(ids) != len(set(ids)):
            raise ValueError("label set ids must be unique")
        return self


@dataclass(frozen=True)
class LabelSet:
    """One common response scale: each wording's position (0 = lowest point)."""

    id: str
    name: str
    size: int
    positions: Mapping[str, int]

    def point(self, key: str, low: int) -> float | None:
        """The scale point of a normalized wording on a scale starting at ``low``."""
        position = self.positions.get(key)
        return None if position is None else float(low + position)


@dataclass(frozen=True)
class AnswerLabels:
    """The built-in missing-answer wordings and label sets, validated."""

    missing: frozenset[str]
    missing_prefixes: tuple[str, ...]
    missing_na_length: int
    sets: tuple[LabelSet, ...]

    def sets_of_size(self, size: int) -> tuple[LabelSet, ...]:
        """The label sets a scale of ``size`` points uses."""
        return tuple(s for s in self.sets if s.size == size)


def parse_answer_labels(text: str, name: str = LABELS_FILE) -> AnswerLabels:
    """Validate label-file YAML text; raise :class:`XmkitError` naming every problem."""
    try:
        model = _LabelFileModel.model_validate(load_yaml(text))
    except ValidationError as exc:
        raise XmkitError(
            [
                Problem(name, f"{'.'.join(map(str, e['loc'])) or '(top level)'}: {e['msg']}")
                for e in exc.errors()
            ]
        ) from None
    sets = tuple(
        LabelSet(
            s.id,
            s.name,
            len(s.points),
            {norm(w): position for position, words in enumerate(s.points) for w in words},
        )
        for s in model.label_sets
    )
    return AnswerLabels(
        frozenset(norm(m) for m in model.missing),
        tuple(norm(p) for p in model.missing_prefixes),
        model.missing_na_length,
        sets,
    )


@lru_cache(maxsize=1)
def answer_labels() -> AnswerLabels:
    """The label sets shipped with xmkit (:file:`xmkit/io/answer_labels.yaml`), read once."""
    text = (resources.files("xmkit") / "io" / LABELS_FILE).read_text(encoding="utf-8")
    return parse_answer_labels(text)


def is_missing(key: str) -> bool:
    """Whether a normalized answer (:func:`norm`) is one of the built-in "no answer" wordings."""
    labels = answer_labels()
    if key in labels.missing:
        return True
    if key.startswith(labels.missing_prefixes):
        return True
    return len(key) <= labels.missing_na_length and NOT_APPLICABLE.search(key) is not None


# ---- the parser ---------------------------------------------------------------------------


NOT_A_NUMBER = "not a number"


class AnswerParser:
    """Turns answer cells into points of a ``low``..``high`` scale.

    ``labels`` are the scale's own labels (point -> text, e.g. 3 -> "Defined"),
    ``question_levels`` each question's level texts, ``missing`` extra missing-answer words.
    :meth:`parse` reads one cell; :meth:`parse_column` reads the distinct values of a column
    and applies the built-in label set that fits all its wordings.
    """

    def __init__(
        self,
        low: int,
        high: int,
        missing: Iterable[str] = (),
        labels: Mapping[int, str] | None = None,
        question_levels: Mapping[str, Mapping[int, str]] | None = None,
    ) -> None:
        self.low, self.high = int(low), int(high)
        self.missing = frozenset(norm(m) for m in missing)
        self.labels = {norm(text): level for level, text in (labels or {}).items()}
        self._question_levels = question_levels or {}
        self._level_texts: dict[str, dict[str, int]] = {}
        self.label_sets = answer_labels().sets_of_size(self.high - self.low + 1)
        named = f", a level name such as {next(iter(labels.values()))!r}" if labels else ""
        worded = " or a wording of a common answer scale" if self.label_sets else ""
        self.expected = (
            f"a whole number from {self.low} to {self.high}{named}{worded}; blank when not answered"
        )

    @classmethod
    def for_framework(cls, framework: Framework) -> AnswerParser:
        """The parser of a :class:`xmkit.framework.Framework`'s scale and level texts."""
        scale = framework.scale
        levels = {q.id: q.levels for _, p in framework.practices for q in p.questions}
        return cls(scale.min, scale.max, scale.missing, scale.labels, levels)

    def level_texts(self, question_id: str) -> dict[str, int]:
        """A question's level texts (normalized) -> level; built when first needed, since
        a file of numbers never needs them."""
        if question_id not in self._level_texts:
            levels = self._question_levels.get(question_id, {})
            self._level_texts[question_id] = {norm(text): lvl for lvl, text in levels.items()}
        return self._level_texts[question_id]

    def _number(self, number: float) -> float | str:
        if number != int(number):
            return "not a whole number"
        if not self.low <= number <= self.high:
            return "out of range"
        return number

    def parse(self, value: object, question_id: str | None = None) -> float | str:
        """A point as float, NaN for missing, or an error message for a bad value.

        A wording of the built-in label sets is read only when every set of the scale's size
        that knows it gives it the same point; :meth:`parse_column` also uses the column's
        other answers to tell sets apart.
        """
        parsed = self._parse(norm(value), question_id)
        if parsed is not None:
            return parsed
        points = {s.point(norm(value), self.low) for s in self.label_sets} - {None}
        if len(points) == 1:
            return points.pop()
        return self._unknown(norm(value))

    def _parse(self, key: str, question_id: str | None) -> float | str | None:
        """Everything but the label sets; None when the value is none of these forms."""
        if SPREADSHEET_ERROR.match(key):  # before missing: "#N/A" is a failed formula
            return "is a spreadsheet error value (a formula failed?)"
        if key in self.missing or is_missing(key):
            return np.nan
        if any(p.match(key) for p in DATE_PATTERNS):
            return "is a date (Excel turns entries like 1-5 into dates)"
        match = NUMBER_FIRST.match(key) or NUMBER_LAST.match(key)
        if match:
            number = next(g for g in match.groups() if g is not None)
            return self._number(float(number.replace(",", ".")))
        code = LIMESURVEY_CODE.match(key)
        if code:
            position = int(code.group(1))
            if 1 <= position <= self.high - self.low + 1:
                return float(self.low + position - 1)
            points = self.high - self.low + 1
            return f"is a LimeSurvey answer code beyond the scale's {points} points"
        level = self.labels.get(key)
        if level is None and question_id is not None:
            level = self.level_texts(question_id).get(key)
        return None if level is None else float(level)

    def _unknown(self, key: str) -> str:
        fits = [s for s in self.label_sets if key in s.positions]
        if len(fits) > 1:
            readings = ", ".join(f"{s.name}: {s.point(key, self.low):g}" for s in fits)
            return f"fits more than one answer scale ({readings})"
        return NOT_A_NUMBER

    def label_set(self, values: Iterable[object]) -> LabelSet | None:
        """The built-in label set that knows every worded answer among ``values``, if one does.

        Values in another form (numbers, codes, missing, the framework's own labels) are not
        looked at. None when no wording is left, or no single set knows them all.
        """
        keys = {norm(v) for v in values}
        words = {k for k in keys if self._parse(k, None) is None}
        if not words:
            return None
        fits = [s for s in self.label_sets if words <= s.positions.keys()]
        agreed = {tuple(s.point(k, self.low) for k in sorted(words)) for s in fits}
        return fits[0] if len(agreed) == 1 else None

    def parse_column(
        self, values: Iterable[object], question_id: str | None = None
    ) -> dict[object, float | str]:
        """Each distinct value of one answer column -> point, NaN, or an error message.

        Worded answers are read with the one label set that knows them all (so "Fair" is 3
        with "Very poor" and 2 with "Excellent" in the same column); failing that, word by word.
        """
        distinct = list(dict.fromkeys(values))
        parsed = {v: self._parse(norm(v), question_id) for v in distinct}
        words = [v for v, p in parsed.items() if p is None]
        if words:
            chosen = self.label_set(words)
            for v in words:
                point = chosen.point(norm(v), self.low) if chosen else None
                parsed[v] = point if point is not None else self.parse(v, question_id)
        return parsed


# ---- answers that fit another scale -------------------------------------------------------

COMMON_SCALES = ((1, 4), (1, 5), (1, 7), (1, 9), (1, 10), (0, 10))
MIN_ANSWERS_FOR_HINT = 20


def narrower_scale(
    low: int, high: int, answers: Mapping[str, np.ndarray]
) -> tuple[tuple[int, int], list[str]] | None:
    """The common scale the answers seem to come from when they use only part of low..high.

    ``answers`` maps each column to its answers on the framework's scale (NaN missing). With
    at least :data:`MIN_ANSWERS_FOR_HINT` answers that run exactly from a common scale's bottom
    to its top, that scale inside low..high and clearly shorter (under 80% of its range: 1-4
    on 1-5, 1-5 or 1-7 on 0-10, but not 1-9 on 0-10), returns it and the columns holding
    answers; else None. A hint for a warning: a unit where nobody picks the top level is
    possible, a whole file ending exactly at another scale's top more likely a survey fielded
    on that scale.
    """
    # one pass per column for its count, lowest and highest answer (fmin/fmax skip NaN),
    # without copying the answers
    columns, lows, highs, total = [], [], [], 0
    for column, values in answers.items():
        values = np.asarray(values, dtype=float)
        count = values.size - int(np.count_nonzero(np.isnan(values)))
        if count:
            columns.append(column)
            lows.append(np.fmin.reduce(values))
            highs.append(np.fmax.reduce(values))
            total += count
    if total < MIN_ANSWERS_FOR_HINT:
        return None
    seen = (float(min(lows)), float(max(highs)))
    for other in COMMON_SCALES:
        shorter = other[1] - other[0] < 0.8 * (high - low)
        if shorter and low <= other[0] and other[1] < high and seen == other:
            return other, columns
    return None
