"""The ``xmkit`` command: validate, score, write questionnaires, render reports.

Exit codes: 0 success, 1 invalid input or failed work, 2 usage error. Problems are printed
as ``file, row N, column 'x': message (found 'v'); expected ...`` lines, never as a traceback
(set ``XMKIT_DEBUG=1`` to see one).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from xmkit import __version__
from xmkit.benchmark.cli import add_benchmark_parser, check_store
from xmkit.errors import Problem, UsageError, XmkitError
from xmkit.io.questionnaire import FORMATS, questionnaire_format, write_questionnaire
from xmkit.options import Options, add_flags, given_flags, is_assessment, resolve
from xmkit.startup import skip_slow_imports

if TYPE_CHECKING:  # pandas and the analysis are imported by the commands that use them, so
    # `--help` and a no-op `batch --resume` start in a fraction of a second
    import pandas as pd

    from xmkit.framework import Framework
    from xmkit.io.responses import Loaded

__all__ = [
    "EPILOG",
    "MAX_PRINTED_PROBLEMS",
    "build_parser",
    "main",
]

MAX_PRINTED_PROBLEMS = 200
EPILOG = "Docs: README.md and docs/ in the xmkit repository. Exit codes: 0 ok, 1 invalid, 2 usage."


class _Parser(argparse.ArgumentParser):
    """argparse that exits 2 with a one-line message (its default, kept explicit)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def _output_arg(parser: argparse.ArgumentParser, help_text: str) -> None:
    parser.add_argument("-o", "--output", type=Path, metavar="DIR", help=help_text)


def _reading_args(parser: argparse.ArgumentParser) -> None:
    """Column roles and row options of every command that reads a responses file."""
    group = parser.add_argument_group(
        "columns and rows of the responses file (docs/input-formats.md)"
    )
    for role, example in (
        ("unit", "Which business unit do you work in?"),
        ("role", "Your role"),
        ("id", "Respondent ID"),
        ("comment", "Any other comments?"),
        ("date", "RecordedDate"),
    ):
        group.add_argument(
            f"--{role}-column",
            metavar="NAME",
            help=f"header of the {role} column, e.g. {example!r} (case and spaces ignored)",
        )
    group.add_argument(
        "--strict", action="store_true", help="columns xmkit does not use are errors, not ignored"
    )
    group.add_argument(
        "--include-test-responses",
        action="store_true",
        help="keep Qualtrics preview and test responses (left out by default)",
    )
    group.add_argument(
        "--finished-only",
        action="store_true",
        help="leave out unfinished responses (kept by default)",
    )


def _reading(args: argparse.Namespace, columns: dict | None = None) -> dict:
    """The read_responses options given on the command line, over ``columns`` of an assessment."""
    named = {
        role: value
        for role in ("unit", "role", "id", "comment", "date")
        if (value := getattr(args, f"{role}_column", None))
    }
    merged = {**(columns or {}), **named}
    options = {
        k: True for k in ("strict", "include_test_responses", "finished_only") if getattr(args, k)
    }
    return {**({"columns": merged} if merged else {}), **options}


def _print_notes(file: object, loaded: Loaded) -> None:
    """What loading left out or grouped (notes) and what deserves a look (warnings)."""
    for note in loaded.notes:
        print(f"{file}: note: {note}", file=sys.stderr)
    for problem in loaded.warnings:
        print(f"warning: {problem}", file=sys.stderr)


def _by(text: str) -> list[str]:
    parts = [p.strip() for p in text.split(",") if p.strip()]
    allowed = {"unit", "role"}
    if not parts or not set(parts) <= allowed:
        raise argparse.ArgumentTypeError("expected unit, role or unit,role")
    return parts


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="xmkit",
        description="Measure how well an organization aligns employee experience (EX) with "
        "customer experience (CX), and what to do next.",
        epilog=EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"xmkit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser(
        "validate",
        help="check a responses file and list every problem",
        description="Check a responses file (CSV, XLSX, long layout, Qualtrics or form-tool "
        "export) and list every problem with its row, column and what was expected; when "
        "valid, list which groups each output will hide to protect respondents, and why. "
        "Exit 0 when valid, 1 when not.",
        epilog=EPILOG,
    )
    p.add_argument("file", type=Path, help="responses file, or assessment folder / yaml")
    add_flags(p, "validate")
    _reading_args(p)
    p.set_defaults(run=_cmd_validate)

    p = sub.add_parser(
        "score",
        help="score responses: question, practice, category, overall, stage",
        description="Score a responses file. Without -o prints a readable table; with -o "
        "writes every row (all levels) to .csv, .json or .xlsx.",
        epilog=EPILOG,
    )
    p.add_argument("file", type=Path, help="responses file, or assessment folder / yaml")
    p.add_argument(
        "--by",
        type=_by,
        default=[],
        metavar="unit|role|unit,role",
        help="score each group separately",
    )
    p.add_argument(
        "-o",
        "--output",
        type=Path,
        metavar="FILE",
        help="write the score table to FILE (.csv, .json or .xlsx)",
    )
    p.add_argument(
        "--next-steps",
        action="store_true",
        help="also print the prioritized next steps and roadmap",
    )
    p.add_argument(
        "--gaps", action="store_true", help="also print perception gaps between roles per category"
    )
    add_flags(p, "score")
    _reading_args(p)
    p.set_defaults(run=_cmd_score)

    p = sub.add_parser(
        "questionnaire",
        help="write the blank questionnaire respondents fill in",
        description="Write the blank questionnaire: csv (header only), xlsx (dropdowns of the "
        "scale and every level's description on a second sheet), qualtrics (Advanced Format TXT to "
        "import into Qualtrics; its CSV export loads as it is) or html (printable).",
        epilog=EPILOG,
    )
    p.add_argument(
        "--format",
        choices=FORMATS,
        help="output format (default: from the suffix of -o: .csv, .xlsx, .txt = qualtrics, "
        ".html); a format that contradicts the suffix is an error",
    )
    p.add_argument(
        "-o",
        "--output",
        type=Path,
        required=True,
        metavar="FILE",
        help="output file, e.g. form.xlsx",
    )
    add_flags(p, "questionnaire")
    p.set_defaults(run=_cmd_questionnaire)

    p = sub.add_parser(
        "report",
        help="render a client report (HTML and PDF; executed notebook on request)",
        description="Render the maturity report for a client, or one business unit, to "
        "<output>/<client>/<unit>/report.{html,pdf,ipynb}. FILE is a responses file or an "
        "assessment folder (or its assessment.yaml), which supplies client, period, minimum "
        "group size and responses. The executed .ipynb holds intermediate data: it is for "
        "internal use and written only when asked for.",
        epilog=EPILOG,
    )
    p.add_argument("file", type=Path, help="responses file, or assessment folder / yaml")
    _output_arg(p, "output folder (default: reports/)")
    add_flags(p, "report")
    _reading_args(p)
    p.set_defaults(run=_cmd_report)

    p = sub.add_parser(
        "batch",
        help="one report per business unit, plus a portfolio summary",
        description="Render a report for every business unit that meets the minimum group "
        "size, then the portfolio: index.html (heatmap, stage distribution, trend, ranking with "
        "rank ranges, links), portfolio.csv, portfolio.xlsx (sheets Units, Categories, "
        "Practices), portfolio.pdf with --format pdf, and manifest.json with each unit's "
        "status. FILE is "
        "a responses file with a unit column, a folder of per-unit files, an assessment "
        "folder, or a folder of assessments (one portfolio per client). A failing unit does "
        "not stop the others; the exit code is 1 if any failed.",
        epilog=EPILOG,
    )
    p.add_argument("file", type=Path, help="responses file, folder of files, or assessment(s)")
    _output_arg(p, "output folder (default: reports/<client>/)")
    add_flags(p, "batch")
    _reading_args(p)
    p.set_defaults(run=_cmd_batch)

    p = sub.add_parser(
        "inspect",
        help="show how a survey export is read: layout, columns, questions, rows",
        description="Show what xmkit makes of a responses file or survey export: the layout, "
        "the respondent id, unit, role and comment columns, how each question was found (by "
        "id, export tag or text) and its answers, the columns ignored and the rows left out. "
        "With -o, save the columns found in an assessment.yaml so later commands need no "
        "flags. Exit 0 when the file can be scored, 1 when not.",
        epilog=EPILOG,
    )
    p.add_argument("file", type=Path, help="responses file or survey export")
    p.add_argument(
        "-o",
        "--output",
        type=Path,
        metavar="ASSESSMENT.yaml",
        help="write the columns found under columns: of this assessment file (created or updated)",
    )
    p.add_argument("--client", help="client name for a new assessment file (default: folder name)")
    add_flags(p, "inspect")
    _reading_args(p)
    p.set_defaults(run=_cmd_inspect)

    add_benchmark_parser(sub, EPILOG)
    return parser


def _usage_error(args: argparse.Namespace, message: str) -> int:
    """A usage error: one line on stderr, exit 2, as argparse does for its own."""
    print(f"xmkit {args.command}: error: {message}", file=sys.stderr)
    return 2


def _given(args: argparse.Namespace, command: str) -> dict[str, object]:
    """The options given on the command line, the column flags as ``reading``."""
    given = given_flags(args, command)
    if reading := _reading(args):
        given["reading"] = reading
    return given


def _use_assessment(args: argparse.Namespace) -> None:
    """Let FILE be an assessment folder: its responses, framework, minimum group size and
    columns fill in what the command line leaves open (flags win). Sets ``args.reading``."""
    args.reading = _reading(args)
    if is_assessment(args.file):
        args.file, opts = resolve(args.file, _given(args, args.command), flags=True)
        args.framework = opts.framework
        args.reading = opts.reading or {}
        if hasattr(args, "min_group_size"):
            args.min_group_size = opts.min_group_size


def _framework(args: argparse.Namespace) -> Framework:
    from xmkit.framework import load_framework

    return load_framework(args.framework)


def _print_problems(problems: Sequence[object]) -> None:
    for problem in problems[:MAX_PRINTED_PROBLEMS]:
        print(problem, file=sys.stderr)
    if len(problems) > MAX_PRINTED_PROBLEMS:
        print(f"... and {len(problems) - MAX_PRINTED_PROBLEMS} more problems", file=sys.stderr)


def _load(args: argparse.Namespace, framework: Framework) -> pd.DataFrame:
    from xmkit.io.responses import read_responses

    loaded = read_responses(args.file, framework, **args.reading)
    if loaded.problems:
        raise XmkitError(loaded.problems)
    _print_notes(args.file, loaded)
    return loaded.data


def _cmd_validate(args: argparse.Namespace) -> int:
    from xmkit.analysis.withholding import disclosure_plan
    from xmkit.io.responses import read_responses

    _use_assessment(args)
    framework = _framework(args)
    loaded = read_responses(args.file, framework, **args.reading)
    _print_notes(args.file, loaded)
    if loaded.problems:
        _print_problems(loaded.problems)
        print(f"{args.file}: invalid, {len(loaded.problems)} problem(s)", file=sys.stderr)
        return 1
    data = loaded.data
    answered = int(data[framework.question_ids].notna().to_numpy().sum())
    total = data.shape[0] * len(framework.question_ids)
    print(
        f"{args.file}: valid ({loaded.layout} layout): {len(data)} respondents, "
        f"{data['unit'].nunique()} units, {data['role'].nunique()} roles, "
        f"{answered}/{total} answers given"
    )
    min_size = args.min_group_size or framework.thresholds.min_group_size
    print(_plan_text(disclosure_plan(data, framework, min_size), min_size))
    return 0


def _cmd_inspect(args: argparse.Namespace) -> int:
    from xmkit.io.inspect import describe, found_roles, write_assessment
    from xmkit.io.responses import read_responses

    _use_assessment(args)
    framework = _framework(args)
    loaded = read_responses(args.file, framework, **args.reading)
    print(describe(args.file, loaded, framework))
    if loaded.problems:
        return 1
    if args.output:
        client = args.client or args.file.resolve().parent.name or "client"
        path = write_assessment(args.output, args.file, found_roles(loaded), client)
        print(f"wrote the columns to {path}")
    return 0


def _plan_text(plan: pd.DataFrame, min_size: int) -> str:
    """Which groups each output hides and why, one line per output."""
    outputs = {
        "units": "units (organization report, portfolio, score --by unit; no unit report)",
        "roles": "roles (organization report, score --by role)",
        "unit x role": "roles inside unit reports (score --by unit,role)",
    }
    lines = [f"Hidden to protect respondents (minimum group size {min_size}):"]
    for output, label in outputs.items():
        hidden = plan[(plan["output"] == output) & plan["hidden"]]
        lines.append(f"  {label}:" + ("" if len(hidden) else " none"))
        lines += [f"    {g}: {r}" for g, r in zip(hidden["group"], hidden["reason"], strict=True)]
    return "\n".join(lines)


def _fmt(value: float, digits: int = 2) -> str:
    import pandas as pd

    return "-" if pd.isna(value) else f"{value:.{digits}f}"


def _score_table(scores: pd.DataFrame, by: list[str], min_size: int) -> str:
    """A compact, readable view: items down the side without groups, groups down the side with."""
    import pandas as pd

    from xmkit.analysis.disclosure import SMALL

    hidden = f"<{min_size}"
    if not by:
        view = scores[scores["level"] != "question"].copy()
        view["item"] = [
            ("" if lvl == "overall" else "  " if lvl == "category" else "    ") + n
            for lvl, n in zip(view["level"], view["name"], strict=True)
        ]
        table = pd.DataFrame(
            {
                "item": view["item"],
                "n": view["n"],
                "score": [
                    hidden if s else _fmt(v)
                    for v, s in zip(view["score"], view["suppressed"], strict=True)
                ],
                "index": view["index"].map(lambda v: _fmt(v, 0)),
                "95% CI": [
                    f"{_fmt(lo)}-{_fmt(hi)}" if pd.notna(lo) else ""
                    for lo, hi in zip(view["ci_low"], view["ci_high"], strict=True)
                ],
                "rwg": view["rwg"].map(lambda v: "" if pd.isna(v) else _fmt(v)),
                "alpha": view["alpha"].map(lambda v: "" if pd.isna(v) else _fmt(v)),
            }
        )
        overall = scores[scores["level"] == "overall"].iloc[0]
        width = int(table["item"].str.len().max())
        text = table.to_string(
            index=False, justify="left", formatters={"item": lambda v: v.ljust(width)}
        )
        if not overall["suppressed"]:
            text += f"\n\nStage {overall['stage']}: {overall['stage_name']}"
            if overall["capped"]:
                text += (
                    f" (capped: would be stage {overall['stage_uncapped']} but Converge is weak)"
                )
        return text
    overall = scores[scores["level"] == "overall"].set_index(by)
    shown = overall.index[~overall["suppressed"].to_numpy()]
    cats = scores[scores["level"].isin(["overall", "category"])]
    table = cats.pivot_table(
        index=by, columns="name", values="score", aggfunc="first", dropna=False
    ).reindex(shown)
    order = ["Overall", *[n for n in cats["name"].drop_duplicates() if n != "Overall"]]
    table = table[order].map(_fmt)
    visible = overall.loc[shown]
    table.insert(0, "n", visible["n"])
    table["stage"] = [
        f"{st} {nm}{' (capped)' if c else ''}"
        for st, nm, c in zip(
            visible["stage"], visible["stage_name"], visible["capped"], strict=True
        )
    ]
    text = table.to_string() if len(table) else "(no group meets the minimum group size)"
    name = [" / ".join(map(str, k if isinstance(k, tuple) else (k,))) for k in overall.index]
    reasons = overall["suppressed_reason"].to_numpy()
    small = [
        n for n, r, s in zip(name, reasons, overall["suppressed"], strict=True) if s and r == SMALL
    ]
    also = [
        n for n, r, s in zip(name, reasons, overall["suppressed"], strict=True) if s and r != SMALL
    ]
    if small:
        text += f"\n\nNot shown, fewer than {min_size} responses each ({len(small)}): "
        text += ", ".join(small)
    if also:
        text += f"\nAlso hidden, so that no subtraction gives those back ({len(also)}): "
        text += ", ".join(also)
    return text


def _gap_table(gaps: pd.DataFrame, threshold: float, min_size: int) -> str:
    """Gaps of roles that can be compared; the pairs that cannot are counted in one line."""
    shown = gaps[~gaps["suppressed"]].round({"ci_low": 2, "ci_high": 2, "p_adjusted": 4})
    shown["gap"] = [
        f"{g:+.2f}" + (" !" if f else "")
        for g, f in zip(shown["gap"], shown["flagged"], strict=True)
    ]
    cols = [
        c
        for c in shown.columns
        if c not in {"category_id", "score_a", "score_b", "p_value", "flagged", "suppressed"}
    ]
    text = (
        "\nPerception gaps between roles (score of role_a minus role_b; ! = flagged: |gap| >= "
        f"{threshold} and its 95% interval excludes 0 after Holm's adjustment for the pairs and "
        "categories compared):\n"
    )
    text += shown[cols].to_string(index=False) if len(shown) else "(no two roles can be compared)"
    if skipped := int(gaps["suppressed"].sum()):
        text += f"\n{skipped} comparison(s) not shown: a role has fewer than {min_size} responses"
    return text


def _steps_text(steps: pd.DataFrame, by: list[str]) -> str:
    lines = ["\nNext steps:"]
    for key, group in steps.groupby(by, sort=True) if by else [((), steps)]:
        if by:
            lines.append(f"\n[{', '.join(map(str, key if isinstance(key, tuple) else (key,)))}]")
        lines.extend(
            f"{step.priority:>2}. {step.horizon}: {step.category} / {step.practice} "
            f"(level {step.current_level} -> {step.target_level})\n    {step.action}"
            for step in group.itertuples()
        )
    return "\n".join(lines)


def _cmd_score(args: argparse.Namespace) -> int:
    from xmkit.analysis.recommend import recommend
    from xmkit.analysis.score import perception_gaps, score
    from xmkit.io.iorw import write_tables

    _use_assessment(args)
    framework = _framework(args)
    data = _load(args, framework)
    opts = Options.checked(given_flags(args, "score"), flags=True)
    min_size = opts.min_size(framework.thresholds.min_group_size)
    scores = score(
        data, framework, by=args.by, min_group_size=min_size, n_boot=opts.bootstrap, seed=opts.seed
    )
    tables = {"scores": scores}
    if args.gaps:
        tables["gaps"] = perception_gaps(
            data, framework, by=[b for b in args.by if b != "role"], min_group_size=min_size
        )
    if args.next_steps:
        tables["next-steps"] = recommend(scores, framework)
    if args.output:
        for name, path in write_tables(tables, args.output).items():
            where = f" (sheet {name!r})" if path.suffix.lower() == ".xlsx" else ""
            print(f"wrote {len(tables[name])} {name} rows to {path}{where}")
        return 0
    print(_score_table(scores, args.by, min_size))
    if args.gaps:
        print(_gap_table(tables["gaps"], framework.thresholds.perception_gap, min_size))
    if args.next_steps:
        print(_steps_text(tables["next-steps"], args.by))
    return 0


def _cmd_questionnaire(args: argparse.Namespace) -> int:
    try:
        fmt = questionnaire_format(args.output, args.format)
    except ValueError as exc:
        return _usage_error(args, str(exc))
    framework = _framework(args)
    path = write_questionnaire(framework, fmt, args.output)
    print(
        f"wrote the blank {fmt} questionnaire ({len(framework.question_ids)} questions) to {path}"
    )
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from xmkit.framework import load_framework
    from xmkit.io.responses import read_responses
    from xmkit.render.execute import render_options

    responses, opts = resolve(args.file, _given(args, "report"), flags=True)
    if not opts.client:
        raise UsageError(
            Problem(
                "--client",
                "a client name is needed",
                expected="--client NAME, or FILE as an assessment folder",
            )
        )
    framework = load_framework(opts.framework)
    loaded = read_responses(responses, framework, **(opts.reading or {}))  # before a kernel
    if loaded.problems:
        raise XmkitError(loaded.problems)
    _print_notes(responses, loaded)
    units = [str(u) for u in loaded.data["unit"].drop_duplicates()]
    if opts.unit is not None and opts.unit not in units:
        listed = ", ".join(sorted(units)[:10]) + (", ..." if len(units) > 10 else "")
        return _usage_error(args, f"no unit {opts.unit!r} in {responses}; its units: {listed}")
    _check_evidence(opts, framework)
    if opts.industry:  # the kernel gets the store's absolute location, checked now
        opts = opts.model_copy(update={"benchmark": check_store(opts.benchmark)})
    start = time.perf_counter()
    written = render_options(responses, opts, args.output or Path("reports"))
    for fmt, path in written.items():
        print(f"{fmt:>5}: {path}")
    print(f"rendered in {time.perf_counter() - start:.1f} s")
    return 0


def _check_evidence(opts: Options, framework: Framework) -> None:
    """Clear errors about the metrics and the previous wave before a kernel starts."""
    if opts.metrics:
        from xmkit.analysis.linkage import metric_name
        from xmkit.io.metrics import load_metrics

        table = load_metrics(opts.metrics)
        problems = []
        for name in [n.strip() for n in f"{opts.ex},{opts.cx}".split(",")]:
            if name:
                try:
                    metric_name(table, name)
                except XmkitError as exc:
                    problems.extend(
                        dataclasses.replace(p, file=str(opts.metrics)) for p in exc.problems
                    )
        if problems:
            raise XmkitError(problems)
    if opts.previous:
        from xmkit.io.responses import read_responses

        before = read_responses(opts.previous, framework)
        if before.problems:
            raise XmkitError(before.problems)


def _holds_assessments(path: Path) -> bool:
    if path.suffix.lower() in {".yaml", ".yml"}:
        return True
    return path.is_dir() and (
        (path / "assessment.yaml").exists() or any(path.glob("*/assessment.yaml"))
    )


def _cmd_batch(args: argparse.Namespace) -> int:
    from xmkit.batch.uptodate import up_to_date

    if not args.client and not _holds_assessments(args.file):
        return _usage_error(args, "--client is required unless FILE holds assessment folders")
    given = _given(args, "batch")
    if given.get("industry"):
        given["benchmark"] = check_store(given.get("benchmark"))
    if (unchanged := up_to_date(args.file, args.output, given)) is not None:
        print(unchanged.summary())  # a --resume with nothing to render: no data read
        return 0
    from xmkit.batch.launch import run_batch

    results = run_batch(args.file, output_dir=args.output, **given)
    for result in results:
        print(result.summary())
    return 1 if any(r.failed for r in results) else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``xmkit`` console script."""
    skip_slow_imports()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except XmkitError as exc:  # input (1), render (1) or usage (2): see xmkit.errors
        if isinstance(exc, UsageError):
            print(f"xmkit {args.command}: usage error:", file=sys.stderr)
        _print_problems(exc.problems)
        return exc.exit_code
    except BrokenPipeError:  # e.g. `xmkit score ... | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        if args.command == "batch":
            again = [a for a in argv if a != "--resume"]
            print(f"continue with: {shlex.join(['xmkit', *again, '--resume'])}", file=sys.stderr)
        return 130
    except OSError as exc:
        print(f"error: {exc.strerror or exc}: {exc.filename or ''}", file=sys.stderr)
        return 1
    except Exception as exc:
        if os.environ.get("XMKIT_DEBUG"):
            raise
        print(
            f"internal error: {type(exc).__name__}: {exc} (set XMKIT_DEBUG=1 for details)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
