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
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from xmkit import load_framework

SEED = 20261123
OUTPUT = Path(__file__).resolve().parent / "responses.csv"
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


def respondents(rng: np.random.Generator) -> pd.DataFrame:
    """One row per respondent (unit, role), in a shuffled 'submission' order, with ids."""
    rows = [
        (unit, role)
        for unit, (counts, _, _) in UNITS.items()
        for role, count in zip(ROLES, counts, strict=True)
        for _ in range(count)
    ]
    order = rng.permutation(len(rows))
    people = pd.DataFrame([rows[i] for i in order], columns=["unit", "role"])
    people.insert(0, "respondent_id", [f"NW-{i:04d}" for i in range(1, len(people) + 1)])
    return people


def answers(rng: np.random.Generator, people: pd.DataFrame, questions: pd.DataFrame) -> np.ndarray:
    """Answers 1-5 (float, NaN = blank) from the latent model, one row per respondent."""
    n, q = len(people), len(questions)
    cat = questions["category_id"].map({c: i for i, c in enumerate(CATEGORIES)}).to_numpy()
    practices = list(dict.fromkeys(questions["practice_id"]))
    practice = questions["practice_id"].map({p: i for i, p in enumerate(practices)}).to_numpy()

    unit_means = np.array([UNITS[u][1] for u in people["unit"]])  # n x categories
    role_offsets = np.array([ROLE_OFFSETS[r] for r in people["role"]])
    spread = np.array([UNITS[u][2] for u in people["unit"]])[:, None]

    practice_effect = rng.normal(0.0, SD_PRACTICE, len(practices))[practice]
    question_effect = rng.normal(0.0, SD_QUESTION, q)
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


def generate(seed: int = SEED) -> pd.DataFrame:
    """The whole example table in the wide layout, as text cells."""
    framework = load_framework()
    questions = framework.questions
    rng = np.random.default_rng(seed)
    people = respondents(rng)
    values = answers(rng, people, questions)
    text = as_text(values, rng)
    table = pd.concat(
        [people, pd.DataFrame(text, columns=framework.question_ids)],
        axis=1,
    )
    table["comment"] = comments(rng, people)
    return table


def main() -> None:
    table = generate()
    table.to_csv(OUTPUT, index=False, encoding="utf-8", lineterminator="\n")
    counts = table["unit"].value_counts().reindex(list(UNITS))
    print(f"wrote {OUTPUT} ({len(table)} respondents)")
    print(counts.to_string())


if __name__ == "__main__":
    main()
