"""Generate the fictitious example assessment for "Northwind Retail Group".

Writes ``responses.csv`` next to this script in the wide layout xmkit reads
(``respondent_id, unit, role, <question ids in framework order>, comment``). The data are made
up: no real organization or person is described. They exist so that the demo, the docs and the
tests have a realistic questionnaire to score, one that shows every feature of the kit:

* seven units with their own maturity profile per category (the Contact Centre strong in
  Analyze and Involve, Head Office strong in Visualize but weak in Involve, E-commerce fairly
  mature overall), with Converge the weakest category almost everywhere, so the Converge gating
  caps the stage of a unit that would otherwise reach stage 4;
* a small unit ("Pop-up Stores", 4 respondents) and several unit x role groups below the minimum
  group size of 5, so suppression is visible;
* role perception offsets: Executives rate Visualize and Converge about 0.6 higher than
  Frontline staff (Managers in between), so perception gaps are flagged;
* per-respondent and per-answer noise, with one unit (Logistics) much noisier than the others,
  so low within-group agreement (r_wg) shows up;
* about 2% blank answers, a handful of "Don't know" answers (missing, not zero) and two
  respondents who stopped before the Converge section;
* a free-text comment from about 15% of respondents, some with commas and quotes.

The answers come from a latent model: for each respondent and question,
``unit mean (category) + role offset (category) + respondent effect (general and per category)
+ practice and question effects + noise``, rounded and clipped to the 1-5 scale. Everything is
drawn from one seeded generator, so running the script twice gives byte-identical output::

    .venv/bin/python assessments/example/generate.py

The script also writes, each from its own seeded generator (so ``responses.csv`` stays the same
byte for byte):

* ``previous/responses.csv`` — the wave one year earlier (2025 Q4): the same latent model with
  every unit somewhat less mature (0.1-0.4 lower per category; Stores South and Logistics
  improved least), the same practice and question offsets, slightly different respondent
  counts, new respondent ids (``NW25-0001``...), and no Pop-up Stores (opened in 2026);
* ``metrics.csv`` — the client's own metrics, tidy (``unit, period, metric, value``) for eight
  quarters 2025-Q1 .. 2026-Q4 (Pop-up Stores from 2026-Q1 only): ``engagement`` (% favourable),
  ``eNPS`` and ``NPS`` (-100..100), ``CSAT`` (% satisfied) and ``churn`` (% of customers lost in
  the quarter). Each unit has its own level of every metric. Over time, a latent employee
  factor follows an AR(1) process (persistence 0.6); engagement and eNPS move with it in the
  same quarter, while a customer factor follows the employee factor of **two quarters
  earlier** (weight 0.7) plus its own noise, and NPS and CSAT rise and churn falls with it.
  So EX leads CX by two quarters by construction; each metric adds measurement noise.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from xmkit import load_framework

SEED = 20261123
SEED_PREVIOUS = 20251124
SEED_METRICS = 20261201
HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "responses.csv"
PREVIOUS_OUTPUT = HERE / "previous" / "responses.csv"
METRICS_OUTPUT = HERE / "metrics.csv"
ROLES = ("Executive", "Manager", "Frontline", "XM team", "HR")
CATEGORIES = ("visualize", "analyze", "involve", "converge")

# Unit -> respondents per role (in ROLES order), mean maturity of a Frontline respondent per
# category (in CATEGORIES order) and a noise multiplier (larger = less agreement).
UNITS: dict[str, tuple[tuple[int, ...], tuple[float, ...], float]] = {
    "Stores North": ((3, 10, 52, 3, 2), (3.0, 2.7, 3.1, 2.3), 1.0),
    "Stores South": ((2, 9, 46, 2, 2), (2.6, 2.4, 2.8, 2.0), 1.0),
    "Contact Centre": ((2, 8, 38, 5, 2), (2.9, 3.8, 3.7, 2.5), 0.9),
    "E-commerce": ((3, 7, 20, 6, 2), (3.8, 3.9, 3.5, 2.5), 0.9),
    "Logistics": ((2, 7, 29, 0, 2), (2.4, 2.6, 2.5, 1.9), 1.9),
    "Head Office": ((8, 10, 6, 7, 5), (3.6, 3.0, 2.1, 2.4), 1.0),
    "Pop-up Stores": ((0, 1, 3, 0, 0), (2.5, 2.2, 2.9, 1.8), 1.0),
}

# The wave a year earlier (2025 Q4): each unit somewhat less mature, slightly different
# headcounts; Pop-up Stores did not exist yet.
UNITS_PREVIOUS: dict[str, tuple[tuple[int, ...], tuple[float, ...], float]] = {
    "Stores North": ((3, 9, 48, 2, 2), (2.7, 2.4, 2.9, 2.0), 1.0),
    "Stores South": ((2, 9, 50, 2, 2), (2.5, 2.3, 2.7, 1.9), 1.0),
    "Contact Centre": ((2, 8, 41, 4, 2), (2.6, 3.4, 3.3, 2.2), 0.9),
    "E-commerce": ((3, 6, 18, 5, 2), (3.5, 3.6, 3.2, 2.2), 0.9),
    "Logistics": ((2, 6, 31, 0, 2), (2.3, 2.5, 2.3, 1.8), 1.9),
    "Head Office": ((7, 10, 6, 6, 5), (3.3, 2.7, 1.8, 2.1), 1.0),
}

# Metrics: eight quarters ending with the assessment's; unit -> level of each metric (in
# METRICS order) and the first quarter the unit reports (Pop-up Stores opened in 2026).
QUARTERS = ("2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4", "2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4")
METRICS = ("engagement", "eNPS", "NPS", "CSAT", "churn")
METRIC_LEVELS: dict[str, tuple[tuple[float, ...], int]] = {
    "Stores North": ((68.0, 8.0, 32.0, 81.0, 4.2), 0),
    "Stores South": ((62.0, -2.0, 27.0, 78.0, 4.8), 0),
    "Contact Centre": ((71.0, 14.0, 30.0, 84.0, 3.9), 0),
    "E-commerce": ((74.0, 20.0, 41.0, 86.0, 5.5), 0),
    "Logistics": ((58.0, -8.0, 24.0, 76.0, 5.1), 0),
    "Head Office": ((66.0, 5.0, 35.0, 82.0, 3.5), 0),
    "Pop-up Stores": ((64.0, 2.0, 38.0, 83.0, 6.0), 4),
}
EX_PERSISTENCE = 0.6  # AR(1) coefficient of the latent employee factor, per quarter
LEAD = 2  # quarters by which the employee factor leads the customer factor
CX_WEIGHT = 0.7  # weight of the lagged employee factor in the customer factor
CX_OWN_SD = 0.7  # the customer factor's own variation
# metric -> (change per unit of its factor, measurement noise sd, decimals); engagement and
# eNPS follow the employee factor, the others the customer factor (churn falls as it rises).
METRIC_MODEL: dict[str, tuple[float, float, int]] = {
    "engagement": (4.0, 1.0, 1),
    "eNPS": (9.0, 3.0, 0),
    "NPS": (7.0, 3.0, 0),
    "CSAT": (2.2, 0.8, 1),
    "churn": (-0.35, 0.15, 2),
}

# Role -> how much higher than Frontline staff this role rates each category.
ROLE_OFFSETS: dict[str, tuple[float, ...]] = {
    "Executive": (0.65, 0.25, 0.2, 0.65),
    "Manager": (0.3, 0.15, 0.1, 0.3),
    "Frontline": (0.0, 0.0, 0.0, 0.0),
    "XM team": (-0.1, 0.3, 0.0, 0.1),
    "HR": (0.0, 0.0, 0.3, 0.1),
}

SD_GENERAL = 0.35  # respondent's general leniency, shared by all answers
SD_CATEGORY = 0.3  # respondent's view of one category
SD_PRACTICE = 0.15  # fixed offset of a practice (some practices are harder than others)
SD_QUESTION = 0.12  # fixed offset of a question
SD_NOISE = 0.55  # everything else, per answer
P_BLANK = 0.012  # chance an answer is left blank
P_BLANK_CONVERGE = 0.03  # Converge questions are harder to answer from the shop floor
N_DONT_KNOW = 10
N_STOPPED = 2  # respondents who stopped before the Converge section
SHARE_COMMENTING = 0.15

GENERAL_COMMENTS = (
    "The NPS dashboard and the engagement survey live in different tools, so nobody looks at both.",
    "We see customer scores every week, but employee results only once a year.",
    'Managers talk about "the customer" a lot, but rarely about what gets in our way.',
    "Not sure what the centre of excellence is, or whether we have one.",
    "Good progress on acting on feedback after the stock-room changes.",
    "Targets, targets, targets. Nobody asks how the shift actually went.",
    'Leadership says EX and CX are "one agenda"; on the shop floor it doesn\'t feel like that.',
    "The new rota tool helps, but it doesn't talk to the till system.",
    'I answered "don\'t know" where I honestly had no idea.',
    "Please share the results with us this time.",
    "Recognition happens, but it's random, it depends on the manager.",
    "Customer complaints reach us weeks later, if at all.",
    "We fixed the returns process after staff raised it – a good example of what works.",
    "Two survey teams, two vendors, two sets of slides.",
    "Hard to answer some questions about strategy from where I sit.",
    "Our managers go through customer comments with us in the morning huddle.",
    "The CX team and HR rarely work together, as far as I can tell.",
    'Loved the "walk in their shoes" day, more of that please.',
    "Too many surveys. This one at least is short.",
    "We measure lots of things, but it's unclear which ones matter.",
    "Staffing levels drive customer experience more than anything else, in my view.",
    "Insights arrive as PDFs that nobody opens.",
    'Some questions were hard to understand, e.g. "unit of analysis".',
    "Feedback goes in, nothing comes out.",
    "Good intentions at the top; the systems underneath haven't caught up.",
    "Would be great to see customer scores per store next to team engagement.",
    "Our team lead acts on what we say, which makes a difference.",
    "Honestly, I think we're better at this than the questions suggest.",
    "The vision exists on a slide; budgets still sit in separate silos.",
    "Our KPIs reward speed, not helping customers.",
    "It's good that someone finally asks these questions.",
    "Managers are measured on sales; engagement is a 'nice to have'.",
    "I'd like to know what happened with last year's survey.",
    "Customer app reviews are shared in the weekly update, which is useful.",
    "Not enough time on shift to do anything with the feedback.",
    "We celebrate great customer stories at team meetings, that helps.",
    "Different regions, different rules, different reports.",
    "HR and the customer teams should sit together, literally.",
    "Frankly, the survey platform is the least of our problems; staffing is.",
    "More training on the new systems would help us serve customers better.",
)
UNIT_COMMENTS: dict[str, tuple[str, ...]] = {
    "Stores North": (
        "The regional meeting now covers both the staff survey and mystery-shopper results.",
        "Self-checkouts changed the job, nobody asked us first.",
        "Our in-store café team never sees any customer feedback.",
    ),
    "Stores South": (
        "Since the restructure, we don't know who owns customer feedback.",
        "Turnover is high; new starters never hear about survey results.",
        "Tills, stock, rota: three systems, three logins.",
    ),
    "Contact Centre": (
        "We link call quality, agent wellbeing and CSAT per team – it works.",
        "Agents suggested the new callback script, and complaints dropped.",
        'Speech analytics is great, but the floor only ever sees the "bad call" clips.',
    ),
    "E-commerce": (
        "We A/B test everything for customers, nothing for our own tools.",
        "Our product squads look at NPS and eNPS in the same sprint review.",
        "The data is there; the org chart is the problem.",
    ),
    "Logistics": (
        "Depends entirely on which depot and which shift you ask.",
        "Drivers hear from customers first, but there's no way to pass it on.",
        "Some managers get it, some don't, it's night and day.",
    ),
    "Head Office": (
        "We have excellent dashboards, but they are built for us, not for the stores.",
        "The EX/CX steering group met twice, then stopped.",
        "Marketing owns CX, HR owns EX; they report to different board members.",
    ),
    "Pop-up Stores": (
        "We're a small team, so we just talk to each other.",
        "Temporary contracts mean we're rarely included in anything.",
    ),
}


def respondents(rng: np.random.Generator, units: dict = UNITS, prefix: str = "NW") -> pd.DataFrame:
    """One row per respondent (unit, role), in a shuffled 'submission' order, with ids."""
    rows = [
        (unit, role)
        for unit, (counts, _, _) in units.items()
        for role, count in zip(ROLES, counts, strict=True)
        for _ in range(count)
    ]
    order = rng.permutation(len(rows))
    people = pd.DataFrame([rows[i] for i in order], columns=["unit", "role"])
    people.insert(0, "respondent_id", [f"{prefix}-{i:04d}" for i in range(1, len(people) + 1)])
    return people


def answers(
    rng: np.random.Generator,
    people: pd.DataFrame,
    questions: pd.DataFrame,
    units: dict = UNITS,
    effects: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Answers 1-5 (float, NaN = blank) from the latent model, one row per respondent.

    ``effects`` (practice effects, question effects) reuses another wave's fixed offsets, so
    a practice that is hard in one wave is hard in the next; by default they are drawn.
    """
    n, q = len(people), len(questions)
    cat = questions["category_id"].map({c: i for i, c in enumerate(CATEGORIES)}).to_numpy()
    practices = list(dict.fromkeys(questions["practice_id"]))
    practice = questions["practice_id"].map({p: i for i, p in enumerate(practices)}).to_numpy()

    unit_means = np.array([units[u][1] for u in people["unit"]])  # n x categories
    role_offsets = np.array([ROLE_OFFSETS[r] for r in people["role"]])
    spread = np.array([units[u][2] for u in people["unit"]])[:, None]

    if effects is None:
        effects = rng.normal(0.0, SD_PRACTICE, len(practices)), rng.normal(0.0, SD_QUESTION, q)
    practice_effect, question_effect = effects[0][practice], effects[1]
    general = rng.normal(0.0, SD_GENERAL, (n, 1))
    per_category = rng.normal(0.0, SD_CATEGORY, (n, len(CATEGORIES)))
    noise = rng.normal(0.0, SD_NOISE, (n, q))

    latent = (
        (unit_means + role_offsets)[:, cat]
        + spread * (general + per_category[:, cat] + noise)
        + practice_effect
        + question_effect
    )
    values = np.clip(np.rint(latent), 1, 5)

    p_blank = np.where(cat == CATEGORIES.index("converge"), P_BLANK_CONVERGE, P_BLANK)
    values[rng.random((n, q)) < p_blank] = np.nan
    stopped = rng.choice(n, N_STOPPED, replace=False)
    values[np.ix_(stopped, np.flatnonzero(cat == CATEGORIES.index("converge")))] = np.nan
    return values


def as_text(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Answer cells as text: integers, blanks and a few "Don't know" (the loader's missing)."""
    text = np.where(np.isnan(values), "", np.nan_to_num(values).astype(int).astype(str))
    text = text.astype(object)
    candidates = np.argwhere(~np.isnan(values))
    for row, col in candidates[rng.choice(len(candidates), N_DONT_KNOW, replace=False)]:
        text[row, col] = "Don't know"
    return text


def comments(rng: np.random.Generator, people: pd.DataFrame) -> list[str]:
    """A free-text comment for about 15% of respondents, each comment used once."""
    n = len(people)
    writers = np.sort(rng.choice(n, round(SHARE_COMMENTING * n), replace=False))
    unused_general = list(GENERAL_COMMENTS)
    unused_unit = {unit: list(texts) for unit, texts in UNIT_COMMENTS.items()}
    out = [""] * n
    for i in writers:
        pool = unused_unit[people["unit"].iloc[i]] + unused_general
        if not pool:  # more writers than comments: reuse the general ones
            pool = list(GENERAL_COMMENTS)
        choice = pool[rng.integers(len(pool))]
        out[i] = choice
        for texts in (unused_unit[people["unit"].iloc[i]], unused_general):
            if choice in texts:
                texts.remove(choice)
    return out


def fixed_effects(seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """The practice and question offsets that :func:`generate` draws with this seed."""
    questions = load_framework().questions
    rng = np.random.default_rng(seed)
    respondents(rng)  # the draws before them, replayed
    n_practices = questions["practice_id"].nunique()
    return rng.normal(0.0, SD_PRACTICE, n_practices), rng.normal(0.0, SD_QUESTION, len(questions))


def generate(
    seed: int = SEED,
    units: dict = UNITS,
    prefix: str = "NW",
    effects: tuple[np.ndarray, np.ndarray] | None = None,
) -> pd.DataFrame:
    """The whole example table in the wide layout, as text cells."""
    framework = load_framework()
    questions = framework.questions
    rng = np.random.default_rng(seed)
    people = respondents(rng, units, prefix)
    values = answers(rng, people, questions, units, effects)
    text = as_text(values, rng)
    table = pd.concat(
        [people, pd.DataFrame(text, columns=framework.question_ids)],
        axis=1,
    )
    table["comment"] = comments(rng, people)
    return table


def generate_previous(seed: int = SEED_PREVIOUS) -> pd.DataFrame:
    """The wave a year earlier: same layout, lower maturity, new respondent ids, and the same
    practice and question offsets as the current wave (hard practices stay hard)."""
    return generate(seed, UNITS_PREVIOUS, "NW25", fixed_effects())


def generate_metrics(seed: int = SEED_METRICS) -> pd.DataFrame:
    """The client's metrics, tidy: one row per unit, quarter and metric (see the docstring)."""
    rng = np.random.default_rng(seed)
    n_units, n_periods = len(METRIC_LEVELS), len(QUARTERS)
    steps = n_periods + LEAD  # the employee factor starts LEAD quarters early
    employee = np.empty((n_units, steps))
    employee[:, 0] = rng.normal(0.0, 1.0, n_units)
    for t in range(1, steps):
        shock = rng.normal(0.0, np.sqrt(1 - EX_PERSISTENCE**2), n_units)
        employee[:, t] = EX_PERSISTENCE * employee[:, t - 1] + shock
    customer = CX_WEIGHT * employee[:, :n_periods] + rng.normal(
        0.0, CX_OWN_SD, (n_units, n_periods)
    )
    employee = employee[:, LEAD:]
    rows = []
    for i, (unit, (levels, first)) in enumerate(METRIC_LEVELS.items()):
        values = {}
        for m, metric in enumerate(METRICS):
            slope, noise_sd, _ = METRIC_MODEL[metric]
            factor = employee[i] if metric in ("engagement", "eNPS") else customer[i]
            values[metric] = levels[m] + slope * factor + rng.normal(0.0, noise_sd, n_periods)
        for t in range(first, n_periods):
            for metric in METRICS:
                decimals = METRIC_MODEL[metric][2]
                value = f"{values[metric][t] + 0.0:.{decimals}f}"
                value = f"{0:.{decimals}f}" if float(value) == 0 else value  # no "-0"
                rows.append((unit, QUARTERS[t], metric, value))
    return pd.DataFrame(rows, columns=["unit", "period", "metric", "value"])


def main() -> None:
    table = generate()
    table.to_csv(OUTPUT, index=False, encoding="utf-8", lineterminator="\n")
    counts = table["unit"].value_counts().reindex(list(UNITS))
    print(f"wrote {OUTPUT} ({len(table)} respondents)")
    print(counts.to_string())
    previous = generate_previous()
    PREVIOUS_OUTPUT.parent.mkdir(exist_ok=True)
    previous.to_csv(PREVIOUS_OUTPUT, index=False, encoding="utf-8", lineterminator="\n")
    print(f"wrote {PREVIOUS_OUTPUT} ({len(previous)} respondents, one year earlier)")
    metrics = generate_metrics()
    metrics.to_csv(METRICS_OUTPUT, index=False, encoding="utf-8", lineterminator="\n")
    print(f"wrote {METRICS_OUTPUT} ({len(metrics)} rows: units x quarters x metrics)")


if __name__ == "__main__":
    main()
