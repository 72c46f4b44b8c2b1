"""No hidden respondent comes back by subtraction (secondary suppression, docs/hardening.md).

The organization: Sales 12 (Frontline 6, Manager 5, one Executive), Service 8 (Frontline) and
Board Office 1 (an Executive); minimum group size 5. The two lone executives are the
respondents to protect: Board Office's answers 1 everywhere, Sales' executive 5 everywhere,
everyone else 2 to 4, so any mixture with at least 4 other people is at least 0.6 away from a
protected respondent's means, while an exact subtraction gives them back to the last decimal.

Each attack takes only published numbers (``xmkit score -o`` tables, ``portfolio.csv``, the
reports' HTML, wave changes) and tries every subtraction a curious reader can make: the total
minus the visible groups, for every breakdown, and a least-squares solve over all published
totals at once (the strongest linear attack).
"""

from __future__ import annotations

import html
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from batch_helpers import portfolio as read_portfolio
from hypothesis import given, settings
from hypothesis import strategies as st

import xmkit
from xmkit.analysis.disclosure import (
    NOTICE,
    audit,
    hidden_remainder,
    hide_cross,
    hide_groups,
)
from xmkit.analysis.score import score
from xmkit.analysis.waves import compare_waves
from xmkit.analysis.withholding import disclosure_plan
from xmkit.batch.run import run_batch
from xmkit.report import sections as xr

ROOT = Path(__file__).resolve().parents[1]
XMKIT = Path(sys.executable).parent / "xmkit"
MIN = 5
PLAN = [
    ("Sales", "Frontline", 6),
    ("Sales", "Manager", 5),
    ("Sales", "Executive", 1),
    ("Service", "Frontline", 8),
    ("Board Office", "Executive", 1),
]
PROTECTED = {("Board Office", "Executive"): 1.0, ("Sales", "Executive"): 5.0}
TOLERANCE = 0.05


def organization(framework: xmkit.Framework, seed: int, prefix: str) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for unit, role, n in PLAN:
        for _ in range(n):
            fixed = PROTECTED.get((unit, role))
            answers = (
                np.full(len(framework.question_ids), fixed)
                if fixed
                else rng.integers(2, 5, len(framework.question_ids))
            )
            rid = f"{prefix}{len(rows):03d}"
            rows.append(
                {
                    "respondent_id": rid,
                    "unit": unit,
                    "role": role,
                    **dict(zip(framework.question_ids, answers, strict=True)),
                }
            )
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def framework() -> xmkit.Framework:
    return xmkit.load_framework()


@pytest.fixture(scope="module")
def data(framework) -> pd.DataFrame:
    return organization(framework, 3, "N")


@pytest.fixture(scope="module")
def previous(framework) -> pd.DataFrame:
    return organization(framework, 4, "P")


def items(framework: xmkit.Framework) -> list[str]:
    """Every practice and category id: the means that must not come back."""
    return [c.id for c in framework.categories] + [p.id for _, p in framework.practices]


def assert_not_recovered(
    total: pd.Series, n_total: int, parts: list[tuple[pd.Series, int]], what: str
) -> None:
    """Total minus the visible parts: the remaining people's mean must not be a protected
    respondent's (within 0.05) for any practice or category."""
    n_rest = n_total - sum(n for _, n in parts)
    if n_rest <= 0:
        return
    rest = (total * n_total - sum(s * n for s, n in parts)) / n_rest
    for value in PROTECTED.values():
        close = rest[(rest - value).abs() <= TOLERANCE]
        assert close.empty, (
            f"{what}: {n_rest} hidden respondent(s) recovered for {list(close.index)}"
        )


def table_means(table: pd.DataFrame, ids: list[str]) -> pd.Series:
    return table.set_index("id")["score"].reindex(ids)


def subtraction_attacks(
    org: pd.DataFrame, units: pd.DataFrame, roles: pd.DataFrame, cells: pd.DataFrame, ids: list[str]
) -> None:
    """Every total minus its visible parts, from score tables as published."""
    shown = lambda t: t[~t["suppressed"].astype(bool)]  # noqa: E731
    n_org = int(org.loc[org["level"] == "overall", "n"].iloc[0])
    for by, table in (("unit", units), ("role", roles)):
        parts = [
            (table_means(g, ids), int(g.loc[g["level"] == "overall", "n"].iloc[0]))
            for _, g in shown(table).groupby(by)
            if not g[g["id"].isin(ids)]["score"].isna().any()
        ]
        assert_not_recovered(table_means(org, ids), n_org, parts, f"organization minus {by}s")
    for by, other in (("unit", "role"), ("role", "unit")):
        margins = units if by == "unit" else roles
        for key, margin in shown(margins).groupby(by):
            n_margin = int(margin.loc[margin["level"] == "overall", "n"].iloc[0])
            inside = shown(cells[cells[by] == key])
            parts = [
                (table_means(g, ids), int(g.loc[g["level"] == "overall", "n"].iloc[0]))
                for _, g in inside.groupby(other)
                if not g[g["id"].isin(ids)]["score"].isna().any()
            ]
            assert_not_recovered(
                table_means(margin, ids), n_margin, parts, f"{key} minus its {other}s"
            )


def least_squares_attack(org, units, roles, cells, ids) -> None:
    """All published totals at once: is a protected cell's sum a combination of them?"""
    atoms = [(u, r) for u, r, _ in PLAN]
    vectors, sums = [], []

    def publish(mask_of, table):
        overall = table[table["level"] == "overall"]
        if overall["suppressed"].astype(bool).iloc[0]:
            return
        vectors.append([float(mask_of(a)) for a in atoms])
        sums.append(table_means(table, ids).to_numpy() * int(overall["n"].iloc[0]))

    publish(lambda a: True, org)
    for key, g in units.groupby("unit"):
        publish(lambda a, k=key: a[0] == k, g)
    for key, g in roles.groupby("role"):
        publish(lambda a, k=key: a[1] == k, g)
    for (u, r), g in cells.groupby(["unit", "role"]):
        publish(lambda a, k=(u, r): a == k, g)
    m = np.array(vectors)
    s = np.nan_to_num(np.array(sums))
    for cell, value in PROTECTED.items():
        target = np.array([float(a == cell) for a in atoms])
        weights, *_ = np.linalg.lstsq(m.T, target, rcond=None)
        if np.allclose(m.T @ weights, target, atol=1e-8):  # the cell is determined
            recovered = weights @ s
            assert not np.any(np.abs(recovered - value) <= TOLERANCE), cell


def cli_table(path: Path, out: Path, *by: str) -> pd.DataFrame:
    args = [str(XMKIT), "score", str(path), "--bootstrap", "0", "-o", str(out)]
    if by:
        args[3:3] = ["--by", ",".join(by)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return pd.read_csv(out)


def test_the_attacks_do_recover_a_lone_respondent_when_only_primary_suppression_applies(
    data, framework
):
    """The attacks are real: with every group shown (minimum 1) subtraction gives the lone
    Board Office respondent back exactly."""
    ids = items(framework)
    org = score(data, framework, n_boot=0, min_group_size=1)
    units = score(data, framework, by="unit", n_boot=0, min_group_size=1)
    visible = [
        (table_means(g, ids), len(data[data["unit"] == u]))
        for u, g in units.groupby("unit")
        if u != "Board Office"
    ]
    with pytest.raises(AssertionError, match="recovered"):
        assert_not_recovered(table_means(org, ids), len(data), visible, "organization minus units")


def test_score_output_tables_give_back_no_hidden_respondent(tmp_path, data, framework):
    path = tmp_path / "responses.csv"
    data.to_csv(path, index=False)
    org = cli_table(path, tmp_path / "org.csv")
    units = cli_table(path, tmp_path / "units.csv", "unit")
    roles = cli_table(path, tmp_path / "roles.csv", "role")
    cells = cli_table(path, tmp_path / "cells.csv", "unit", "role")
    ids = items(framework)
    hidden = units[(units["level"] == "overall") & units["suppressed"]]
    assert dict(zip(hidden["unit"], hidden["suppressed_reason"], strict=True)) == {
        "Board Office": "below minimum",
        "Service": "complementary",
    }
    subtraction_attacks(org, units, roles, cells, ids)
    least_squares_attack(org, units, roles, cells, ids)


def test_a_unit_minus_its_visible_roles_gives_back_no_lone_executive(data, framework):
    """Frontline 6, Manager 5, Executive 1 (Sales alone, so no other unit's hidden members
    weigh in): Manager is hidden too, in the unit's report; Frontline is shown."""
    sales = data[data["unit"] == "Sales"]
    ctx = xr.prepare(sales, "Client", unit="Sales", framework=framework, n_boot=0)
    roles = ctx.role_scores[ctx.role_scores["level"] == "overall"].set_index("role")
    assert roles["suppressed"].to_dict() == {"Executive": True, "Frontline": False, "Manager": True}
    assert roles.loc["Manager", "suppressed_reason"] == "complementary"
    cats = [c.id for c in framework.categories]
    parts = [
        (g.set_index("id")["score"].reindex(cats), int(roles.loc[r, "n"]))
        for r, g in ctx.role_scores[ctx.role_scores["level"] == "category"].groupby("role")
        if not roles.loc[r, "suppressed"]
    ]
    unit = ctx.scores.set_index("id")["score"].reindex(cats)
    assert_not_recovered(unit, int(ctx.overall["n"]), parts, "Sales minus its roles")


def test_wave_changes_give_back_no_hidden_score(data, previous, framework):
    """Now = before + change for every unit whose change is shown; then organization minus
    those units: no hidden respondent comes back."""
    ids = items(framework)
    before = score(previous, framework, by="unit", n_boot=0)
    waves = compare_waves(data, previous, framework, by="unit", n_boot=0)
    assert waves.loc[waves["unit"].isin(["Service", "Board Office"]), "change"].isna().all()
    org = score(data, framework, n_boot=0)
    parts = []
    for unit, rows in waves[~waves["suppressed"]].groupby("unit"):
        was = before[(before["unit"] == unit)].set_index("id")["score"]
        change = rows.set_index("id")["change"]
        parts.append(((was + change).reindex(ids), int(rows["n_now"].iloc[0])))
    assert parts, "Sales' change is shown"
    assert_not_recovered(table_means(org, ids), len(data), parts, "organization minus wave changes")


def test_a_panel_group_whose_membership_changed_by_fewer_than_the_minimum_shows_no_change(
    data, framework
):
    """Same respondent ids in both waves: with one person more, Sales' change would be that
    person's contribution, so it is hidden; with five more (the minimum) it is shown."""
    sales = data[data["unit"] == "Sales"]

    def joined(k: int) -> pd.DataFrame:
        new = sales.head(k).assign(respondent_id=[f"NEW{i}" for i in range(k)])
        return pd.concat([sales, new], ignore_index=True)

    one = compare_waves(joined(1), sales, framework, by="unit", n_boot=0)
    assert one["suppressed"].all() and one["change"].isna().all()
    five = compare_waves(joined(MIN), sales, framework, by="unit", n_boot=0)
    assert five.loc[five["level"] == "overall", "change"].notna().all()


class Tables(HTMLParser):
    """Every table of a page as rows of cell texts (header row included); a cell spanning
    several columns (a hidden group's one line) fills each of them."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.cell: list[str] | None = None
        self.span = 1

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self.cell = []
            self.span = int(dict(attrs).get("colspan") or 1)

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None and self.tables:
            text = html.unescape("".join(self.cell)).strip()
            self.tables[-1][-1].extend([text] * self.span)
            self.cell = None

    def handle_data(self, text):
        if self.cell is not None:
            self.cell.append(text)


def page_tables(path: Path) -> list[pd.DataFrame]:
    parser = Tables()
    parser.feed(path.read_text(encoding="utf-8"))
    return [pd.DataFrame(t[1:], columns=t[0]) for t in parser.tables if len(t) > 1]


def find(tables: list[pd.DataFrame], column: str) -> pd.DataFrame:
    return next(t for t in tables if column in t.columns)


def number(text: str) -> float:
    return float(text) if re.fullmatch(r"-?\d+(\.\d+)?", text or "") else np.nan


@pytest.mark.slow
def test_reports_html_and_portfolio_csv_give_back_no_hidden_respondent(tmp_path, data, framework):
    """Rendered for real: the organization report, the batch (unit reports and portfolio)."""
    path = tmp_path / "responses.csv"
    data.to_csv(path, index=False)
    done = subprocess.run(
        [
            str(XMKIT),
            "report",
            str(path),
            "--client",
            "Client",
            "--format",
            "html",
            "-o",
            str(tmp_path / "org"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    [result] = run_batch(
        path, client="Client", output_dir=tmp_path / "batch", formats="html", quiet=True
    )
    assert not result.failed, result.summary()
    status = {u.unit: u.status for u in result.units}
    slugs = {u.unit: u.slug for u in result.units}
    assert status == {"Sales": "done", "Service": "skipped", "Board Office": "skipped"}

    page = (tmp_path / "org" / "client" / "all-units" / "report.html").read_text(encoding="utf-8")
    assert NOTICE in html.unescape(page)  # escaped by the template, as every text is
    org_tables = page_tables(tmp_path / "org" / "client" / "all-units" / "report.html")
    cats = find(org_tables, "Score (1-5)").set_index("Category")["Score (1-5)"].map(number)
    units = find(org_tables, "Business unit").set_index("Business unit")
    assert units.loc["Service", "Overall"] == "hidden to protect respondents"
    assert units.loc["Board Office", "Overall"] == f"fewer than {MIN} responses"
    # organization minus the units' reports, overall and every category
    parts = []
    for unit in ("Sales", "Service", "Board Office"):
        report = result.folder / slugs[unit] / "report.html"
        if report.exists():
            table = find(page_tables(report), "Score (1-5)").set_index("Category")
            parts.append((table["Score (1-5)"].map(number), int(units.loc[unit, "Respondents"])))
    assert len(parts) == 1
    names = {c.name: c.id for c in framework.categories}
    rename = lambda s: s.rename(index=lambda n: names.get(n, "overall"))  # noqa: E731
    assert_not_recovered(
        rename(cats), len(data), [(rename(s), n) for s, n in parts], "report minus unit reports"
    )

    # Sales' report minus its visible roles (roles table: category scores and respondents)
    sales = page_tables(result.folder / slugs["Sales"] / "report.html")
    sales_cats = find(sales, "Score (1-5)").set_index("Category")["Score (1-5)"].map(number)
    roles = find(sales, "Role").set_index("Role")
    # Service is all Frontline: the Frontline total minus Sales' Frontline would give Service
    # back (and with it Board Office), so Sales' Frontline row is hidden too
    assert set(roles["Respondents"]) <= {
        "hidden to protect respondents",
        f"fewer than {MIN} responses",
    }
    role_parts = [
        (
            roles.loc[r, [c.name for c in framework.categories]].map(number),
            int(roles.loc[r, "Respondents"]),
        )
        for r in roles.index
        if roles.loc[r, "Respondents"].isdigit()
    ]
    assert_not_recovered(
        sales_cats.reindex([c.name for c in framework.categories]),
        12,
        role_parts,
        "Sales report minus roles",
    )

    # score -o for the organization minus portfolio.csv, at every practice and category
    portfolio = read_portfolio(result.folder, framework)
    assert (
        portfolio.set_index("unit").loc["Service", "withheld"] == "hidden to protect a smaller unit"
    )
    org = cli_table(path, tmp_path / "org.csv")
    ids = items(framework)
    shown = portfolio[portfolio["overall"].notna()]
    parts = [(row[ids].astype(float), int(row["respondents"])) for _, row in shown.iterrows()]
    assert_not_recovered(table_means(org, ids), len(data), parts, "organization minus portfolio")


# ---- the rule itself --------------------------------------------------------------------


def test_the_worked_example_hides_board_office_and_then_service():
    hidden = hide_groups({"Sales": 9, "Service": 8, "Board Office": 1}, MIN)
    assert hidden == {"Board Office": "below minimum", "Service": "complementary"}
    assert hidden_remainder({"Sales": 9, "Service": 8, "Board Office": 1}, hidden) == 9


def test_a_breakdown_is_withheld_when_no_group_is_left_to_hide():
    assert hide_groups({"A": 3, "B": 1}, MIN) == {"A": "below minimum", "B": "below minimum"}
    assert hide_groups({"A": 4, "B": 6}, MIN) == {"A": "below minimum", "B": "complementary"}


def test_a_unit_that_is_all_one_role_cannot_expose_another_units_lone_member():
    """Role X total minus unit A (all X) would be B's lone X: the audit hides more."""
    cells = {("A", "X"): 10, ("B", "X"): 1, ("C", "Y"): 8}
    plan = hide_cross(cells, MIN)
    assert audit(cells, plan, MIN) == []
    assert "B" in plan.rows


sizes = st.integers(min_value=0, max_value=12)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(sizes, min_size=1, max_size=4), min_size=1, max_size=5), st.integers(2, 6))
def test_every_published_breakdown_hides_nothing_or_at_least_the_minimum(grid, min_size):
    """Random unit x role sizes: units in the organization, roles in the organization, roles in
    each shown unit, units in each shown role: each hidden remainder is 0 or >= the minimum,
    and no combination of all published totals isolates 1 to min-1 people."""
    cells = {
        (f"u{i}", f"r{j}"): n for i, row in enumerate(grid) for j, n in enumerate(row) if n > 0
    }
    if not cells:
        return
    plan = hide_cross(cells, min_size)
    units: dict = {}
    roles: dict = {}
    for (u, r), n in cells.items():
        units[u] = units.get(u, 0) + n
        roles[r] = roles.get(r, 0) + n
    if sum(cells.values()) < min_size:  # the total itself is hidden, and so is every part
        assert set(plan.cells) == set(cells)
        return
    for sizes_, hidden in ((units, plan.rows), (roles, plan.cols)):
        rest = hidden_remainder(sizes_, hidden)
        assert rest == 0 or rest >= min_size
    for u in set(units) - set(plan.rows):
        row = {c: n for c, n in cells.items() if c[0] == u}
        rest = hidden_remainder(row, plan.cells)
        assert rest == 0 or rest >= min_size
    for r in set(roles) - set(plan.cols):
        col = {c: n for c, n in cells.items() if c[1] == r}
        rest = hidden_remainder(col, plan.cells)
        assert rest == 0 or rest >= min_size
    found = audit(cells, plan, min_size)
    if found is None:  # fallback: a shown role total has no hidden cell
        assert all(
            all(c not in plan.cells for c in cells if c[1] == r)
            for r in set(roles) - set(plan.cols)
        )
    else:
        assert found == []


@settings(max_examples=60, deadline=None)
@given(st.lists(sizes, min_size=1, max_size=8), st.integers(2, 6))
def test_every_item_level_breakdown_hides_nothing_or_at_least_the_minimum(groups, min_size):
    """An item (fewer answered it) starts from the overall level's hidden groups."""
    overall = {f"g{i}": n + 3 for i, n in enumerate(groups)}
    item = {g: n - 3 for g, n in overall.items()}
    first = hide_groups(overall, min_size)
    hidden = hide_groups(item, min_size, first)
    assert set(first) <= set(hidden)
    if sum(item.values()) < min_size:  # the item's total is itself hidden, and every group
        assert set(hidden) == set(item)
        return
    rest = hidden_remainder(item, hidden)
    assert rest == 0 or rest >= min_size


# ---- the example and what validate says ----------------------------------------------------


def test_example_hides_pop_up_stores_and_head_office_only_among_units():
    data = xmkit.load_responses(ROOT / "assessments" / "example" / "responses.csv")
    plan = disclosure_plan(data, min_group_size=MIN)
    units = plan[(plan["output"] == "units") & plan["hidden"]].set_index("group")["reason"]
    assert units.to_dict() == {
        "Head Office": "hidden too, so Pop-up Stores cannot be derived",
        "Pop-up Stores": f"fewer than {MIN}",
    }
    assert not plan[(plan["output"] == "roles")]["hidden"].any()


def test_validate_prints_which_groups_are_hidden_and_why(tmp_path, data):
    path = tmp_path / "responses.csv"
    data.to_csv(path, index=False)
    done = subprocess.run(
        [str(XMKIT), "validate", str(path)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert "    Board Office: fewer than 5" in done.stdout
    assert "    Service: hidden too, so Board Office cannot be derived" in done.stdout
    assert "    Sales / Manager: hidden too, so Sales / Executive cannot be derived" in done.stdout


def test_report_notice_names_no_size_below_the_minimum():
    assert not re.search(r"\d", NOTICE)


def test_a_cross_table_too_large_to_audit_shows_only_role_totals_without_hidden_cells():
    """20 units x 4 roles: more equations than the audit enumerates, so the safe fallback
    applies and a role total that is shown adds nothing to the shown cells."""
    rng = np.random.default_rng(2)
    cells = {
        (f"u{i}", f"r{j}"): int(n)
        for i in range(20)
        for j, n in enumerate(rng.integers(0, 12, 4))
        if n > 0
    }
    plan = hide_cross(cells, MIN)
    assert audit(cells, plan, MIN) is None
    for role in {r for _, r in cells} - set(plan.cols):
        assert not [c for c in cells if c[1] == role and c in plan.cells], role
    for unit in {u for u, _ in cells} - set(plan.rows):
        row = {c: n for c, n in cells.items() if c[0] == unit}
        assert hidden_remainder(row, plan.cells) in (0, *range(MIN, 1000))
