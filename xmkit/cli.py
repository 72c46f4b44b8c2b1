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
from importlib.metadata import version
from pathlib import Path

import pandas as pd

from xmkit.analysis.recommend import recommend
from xmkit.analysis.score import perception_gaps, score
from xmkit.errors import XmkitError
from xmkit.framework import Framework, load_framework
from xmkit.io.iorw import write_tables
from xmkit.io.questionnaire import FORMATS, questionnaire_format, write_questionnaire
from xmkit.io.responses import Loaded, read_responses
from xmkit.startup import skip_slow_imports

MAX_PRINTED_PROBLEMS = 200
EPILOG = "Docs: README.md and docs/ in the xmkit repository. Exit codes: 0 ok, 1 invalid, 2 usage."


class _Parser(argparse.ArgumentParser):
    """argparse that exits 2 with a one-line message (its default, kept explicit)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def _framework_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--framework",
        metavar="FILE",
        type=Path,
        help="framework YAML to use instead of the bundled EX/CX alignment framework",
    )


def _min_size_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--min-group-size",
        type=int,
        metavar="N",
        help="smallest group whose results are shown (default: the framework's, 5)",
    )


def _comments_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--include-comments",
        action="store_true",
        help="show free-text comments, only of groups that meet the minimum group size "
        "(default: no comments in any report)",
    )


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
    parser.add_argument("--version", action="version", version=f"xmkit {version('xmkit')}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser(
        "validate",
        help="check a responses file and list every problem",
        description="Check a responses file (CSV, XLSX, long layout, Qualtrics or form-tool "
        "export) and list every problem with its row, column and what was expected. "
        "Exit 0 when valid, 1 when not.",
        epilog=EPILOG,
    )
    p.add_argument("file", type=Path, help="responses file, or assessment folder / yaml")
    _framework_arg(p)
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
    p.add_argument(
        "--bootstrap",
        type=int,
        default=1000,
        metavar="N",
        help="bootstrap replicates for confidence intervals (0: none; default 1000)",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed of the bootstrap (default 0)")
    _framework_arg(p)
    _min_size_arg(p)
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
    _framework_arg(p)
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
    p.add_argument("--client", help="client name (required unless FILE is an assessment)")
    p.add_argument("--unit", help="business unit to report on (default: whole organization)")
    p.add_argument("--period", help="assessment period shown on the cover")
    p.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path("reports"),
        metavar="DIR",
        help="output folder (default: reports/)",
    )
    p.add_argument(
        "--format",
        default="html,pdf",
        metavar="LIST",
        help="comma-separated formats among html, pdf, ipynb (default: html,pdf)",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed of the bootstrap (default 0)")
    p.add_argument(
        "--metrics",
        type=Path,
        metavar="FILE",
        help="client metrics file (unit, period, metric, value): adds the Evidence section "
        "(default: metrics: of the assessment)",
    )
    p.add_argument(
        "--ex",
        metavar="NAMES",
        help="EX metric(s) to link, comma-separated (default: the assessment's, else engagement)",
    )
    p.add_argument(
        "--cx",
        metavar="NAMES",
        help="CX metric(s) to link, comma-separated (default: the assessment's, else NPS)",
    )
    p.add_argument(
        "--previous",
        type=Path,
        metavar="FILE",
        help="responses of the previous assessment: adds the Progress section "
        "(default: previous: of the assessment)",
    )
    p.add_argument("--previous-period", metavar="TEXT", help="period of the previous assessment")
    _comments_arg(p)
    _framework_arg(p)
    _min_size_arg(p)
    p.set_defaults(run=_cmd_report)

    p = sub.add_parser(
        "batch",
        help="one report per business unit, plus a portfolio summary",
        description="Render a report for every business unit that meets the minimum group "
        "size, then the portfolio: index.html (heatmap, stage distribution, ranking, links), "
        "portfolio.csv and portfolio.xlsx, and manifest.json with each unit's status. FILE is "
        "a responses file with a unit column, a folder of per-unit files, an assessment "
        "folder, or a folder of assessments (one portfolio per client). A failing unit does "
        "not stop the others; the exit code is 1 if any failed.",
        epilog=EPILOG,
    )
    p.add_argument("file", type=Path, help="responses file, folder of files, or assessment(s)")
    p.add_argument("--by", choices=["unit"], default="unit", help="what to split by (unit)")
    p.add_argument("--client", help="client name (required for a responses file or folder)")
    p.add_argument("--period", default="", help="assessment period shown in the reports")
    p.add_argument(
        "-o",
        "--output",
        type=Path,
        metavar="DIR",
        help="output folder (default: reports/<client>/)",
    )
    p.add_argument(
        "--format",
        default="html,pdf",
        metavar="LIST",
        help="formats of the unit reports among html, pdf, ipynb (default: html,pdf)",
    )
    p.add_argument("--jobs", type=int, default=1, metavar="N", help="parallel renders (default 1)")
    p.add_argument(
        "--resume",
        action="store_true",
        help="skip units whose input, template and outputs are unchanged since the last run",
    )
    p.add_argument(
        "--executor",
        choices=["local", "dask"],
        default="local",
        help="local processes (default) or a Dask distributed cluster",
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="Dask scheduler address, e.g. tcp://10.0.0.5:8786 (default with --executor dask: "
        "a local cluster of --jobs workers)",
    )
    p.add_argument(
        "--timeout",
        type=int,
        default=600,
        metavar="S",
        help="seconds a unit's notebook may run (default 600)",
    )
    p.add_argument(
        "--recycle-after",
        type=int,
        default=50,
        metavar="N",
        help="replace each warm kernel after N reports, bounding memory (default 50)",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed of the bootstrap (default 0)")
    _comments_arg(p)
    _framework_arg(p)
    _min_size_arg(p)
    p.set_defaults(run=_cmd_batch)
    return parser


def _usage_error(args: argparse.Namespace, message: str) -> int:
    """A usage error: one line on stderr, exit 2, as argparse does for its own."""
    print(f"xmkit {args.command}: error: {message}", file=sys.stderr)
    return 2


def _is_assessment(path: Path) -> bool:
    return (path / "assessment.yaml").is_file() or path.suffix.lower() in {".yaml", ".yml"}


def _use_assessment(args: argparse.Namespace) -> None:
    """Let FILE be an assessment folder: its responses, framework and minimum group size
    fill in what the command line leaves open (flags win)."""
    if not _is_assessment(args.file):
        return
    from xmkit.io.assessment import load_assessment

    assessment = load_assessment(args.file)
    args.file = assessment.responses_path
    args.framework = args.framework or assessment.framework_path
    if hasattr(args, "min_group_size"):
        args.min_group_size = args.min_group_size or assessment.min_group_size


def _framework(args: argparse.Namespace) -> Framework:
    return load_framework(args.framework)


def _print_problems(problems: Sequence[object]) -> None:
    for problem in problems[:MAX_PRINTED_PROBLEMS]:
        print(problem, file=sys.stderr)
    if len(problems) > MAX_PRINTED_PROBLEMS:
        print(f"... and {len(problems) - MAX_PRINTED_PROBLEMS} more problems", file=sys.stderr)


def _print_warnings(loaded: Loaded) -> None:
    for problem in loaded.warnings:
        print(f"warning: {problem}", file=sys.stderr)


def _load(args: argparse.Namespace, framework: Framework) -> pd.DataFrame:
    loaded = read_responses(args.file, framework)
    if loaded.problems:
        raise XmkitError(loaded.problems)
    _print_warnings(loaded)
    return loaded.data


def _cmd_validate(args: argparse.Namespace) -> int:
    _use_assessment(args)
    framework = _framework(args)
    loaded = read_responses(args.file, framework)
    if loaded.problems:
        _print_problems(loaded.problems)
        print(f"{args.file}: invalid, {len(loaded.problems)} problem(s)", file=sys.stderr)
        return 1
    _print_warnings(loaded)
    data = loaded.data
    answered = int(data[framework.question_ids].notna().to_numpy().sum())
    total = data.shape[0] * len(framework.question_ids)
    print(
        f"{args.file}: valid ({loaded.layout} layout): {len(data)} respondents, "
        f"{data['unit'].nunique()} units, {data['role'].nunique()} roles, "
        f"{answered}/{total} answers given"
    )
    return 0


def _fmt(value: float, digits: int = 2) -> str:
    return "-" if pd.isna(value) else f"{value:.{digits}f}"


def _score_table(scores: pd.DataFrame, by: list[str], min_size: int) -> str:
    """A compact, readable view: items down the side without groups, groups down the side with."""
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
    hidden_groups = [
        " / ".join(map(str, k if isinstance(k, tuple) else (k,)))
        for k in overall.index[overall["suppressed"].to_numpy()]
    ]
    if hidden_groups:
        text += (
            f"\n\nNot shown, fewer than {min_size} responses each ({len(hidden_groups)}): "
            + ", ".join(hidden_groups)
        )
    return text


def _gap_table(gaps: pd.DataFrame, threshold: float, min_size: int) -> str:
    """Gaps of roles that can be compared; the pairs that cannot are counted in one line."""
    shown = gaps[~gaps["suppressed"]].copy()
    shown["gap"] = [
        f"{g:+.2f}" + (" !" if f else "")
        for g, f in zip(shown["gap"], shown["flagged"], strict=True)
    ]
    cols = [
        c
        for c in shown.columns
        if c not in {"category_id", "score_a", "score_b", "flagged", "suppressed"}
    ]
    text = (
        "\nPerception gaps between roles (score of role_a minus role_b; ! = |gap| >= "
        f"{threshold}):\n"
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
    _use_assessment(args)
    framework = _framework(args)
    data = _load(args, framework)
    min_size = args.min_group_size or framework.thresholds.min_group_size
    scores = score(
        data, framework, by=args.by, min_group_size=min_size, n_boot=args.bootstrap, seed=args.seed
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
    from xmkit.io.assessment import load_assessment
    from xmkit.render.execute import parse_formats, render_report

    formats = parse_formats(args.format)
    responses, client, period = args.file, args.client, args.period or ""
    framework, min_size = args.framework, args.min_group_size
    metrics, previous, targets = args.metrics, args.previous, None
    ex, cx, previous_period = args.ex or "", args.cx or "", args.previous_period or ""
    max_lag, period_name = 3, ""
    if args.file.is_dir() or args.file.suffix.lower() in {".yaml", ".yml"}:
        assessment = load_assessment(args.file)
        responses = assessment.responses_path
        client = client or assessment.client
        period = args.period or assessment.period
        framework = framework or assessment.framework_path
        min_size = min_size or assessment.min_group_size
        if assessment.metrics:
            metrics = metrics or assessment.metrics_path
            ex = ex or ",".join(assessment.metrics.ex)
            cx = cx or ",".join(assessment.metrics.cx)
            max_lag, period_name = assessment.metrics.max_lag, assessment.metrics.period_name
        if assessment.previous:
            previous = previous or assessment.previous_path
            previous_period = previous_period or assessment.previous.period
        targets = assessment.targets
    if not client:
        return _usage_error(args, "--client is required when FILE is a responses file")
    framework_obj = load_framework(framework)
    loaded = read_responses(responses, framework_obj)  # clear errors before a kernel starts
    if loaded.problems:
        raise XmkitError(loaded.problems)
    _print_warnings(loaded)
    units = [str(u) for u in loaded.data["unit"].drop_duplicates()]
    if args.unit is not None and args.unit not in units:
        listed = ", ".join(sorted(units)[:10]) + (", ..." if len(units) > 10 else "")
        return _usage_error(args, f"no unit {args.unit!r} in {responses}; its units: {listed}")
    _check_evidence(metrics, ex, cx, previous, framework_obj)
    start = time.perf_counter()
    written = render_report(
        responses,
        client,
        unit=args.unit,
        output_dir=args.output,
        formats=formats,
        period=period,
        framework=framework,
        min_group_size=min_size,
        seed=args.seed,
        include_comments=args.include_comments,
        metrics=metrics,
        ex=ex,
        cx=cx,
        max_lag=max_lag,
        period_name=period_name,
        previous=previous,
        previous_period=previous_period,
        targets=targets,
    )
    for fmt, path in written.items():
        print(f"{fmt:>5}: {path}")
    print(f"rendered in {time.perf_counter() - start:.1f} s")
    return 0


def _check_evidence(
    metrics: Path | None, ex: str, cx: str, previous: Path | None, framework: Framework
) -> None:
    """Clear errors about the metrics and the previous wave before a kernel starts."""
    if metrics:
        from xmkit.analysis.linkage import _metric_name
        from xmkit.io.metrics import load_metrics

        table = load_metrics(metrics)
        problems = []
        for name in [n.strip() for n in f"{ex or 'engagement'},{cx or 'NPS'}".split(",")]:
            if name:
                try:
                    _metric_name(table, name)
                except XmkitError as exc:
                    problems.extend(dataclasses.replace(p, file=str(metrics)) for p in exc.problems)
        if problems:
            raise XmkitError(problems)
    if previous:
        before = read_responses(previous, framework)
        if before.problems:
            raise XmkitError(before.problems)


def _holds_assessments(path: Path) -> bool:
    if path.suffix.lower() in {".yaml", ".yml"}:
        return True
    return path.is_dir() and (
        (path / "assessment.yaml").exists() or any(path.glob("*/assessment.yaml"))
    )


def _cmd_batch(args: argparse.Namespace) -> int:
    from xmkit.batch.run import run_batch

    if not args.client and not _holds_assessments(args.file):
        return _usage_error(args, "--client is required unless FILE holds assessment folders")

    results = run_batch(
        args.file,
        client=args.client,
        output_dir=args.output,
        formats=args.format,
        jobs=args.jobs,
        resume=args.resume,
        framework=args.framework,
        period=args.period,
        min_group_size=args.min_group_size,
        executor=args.executor,
        scheduler=args.scheduler,
        seed=args.seed,
        timeout=args.timeout,
        recycle_after=args.recycle_after,
        include_comments=args.include_comments,
    )
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
    except XmkitError as exc:
        _print_problems(exc.problems)
        return 1
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
