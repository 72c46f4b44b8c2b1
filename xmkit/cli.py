"""The ``xmkit`` command: validate, score, write questionnaires, render reports.

Exit codes: 0 success, 1 invalid input or failed work, 2 usage error. Problems are printed
as ``file, row N, column 'x': message (found 'v'); expected ...`` lines, never as a traceback
(set ``XMKIT_DEBUG=1`` to see one).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from collections.abc import Sequence
from importlib.metadata import version
from pathlib import Path

import pandas as pd

from xmkit.analysis.recommend import recommend
from xmkit.analysis.score import perception_gaps, score
from xmkit.benchmark.cli import STORE_HELP, add_benchmark_parser, check_store, minimum_arg
from xmkit.errors import XmkitError
from xmkit.framework import Framework, load_framework
from xmkit.io.iorw import write_table
from xmkit.io.questionnaire import FORMATS, write_questionnaire
from xmkit.io.responses import read_responses
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
    p.add_argument("file", type=Path, help="responses file")
    _framework_arg(p)
    p.set_defaults(run=_cmd_validate)

    p = sub.add_parser(
        "score",
        help="score responses: question, practice, category, overall, stage",
        description="Score a responses file. Without -o prints a readable table; with -o "
        "writes every row (all levels) to .csv, .json or .xlsx.",
        epilog=EPILOG,
    )
    p.add_argument("file", type=Path, help="responses file")
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
        description="Write the blank questionnaire: csv (header only), xlsx (1-5 dropdowns "
        "and every level's description on a second sheet), qualtrics (Advanced Format TXT to "
        "import into Qualtrics; its CSV export loads as it is) or html (printable).",
        epilog=EPILOG,
    )
    p.add_argument("--format", choices=FORMATS, default="xlsx", help="output format (default xlsx)")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="FILE", help="output file")
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
    p.add_argument("--industry", help="add the Benchmark section: percentile ranks in INDUSTRY")
    p.add_argument("--benchmark", metavar="STORE", help=STORE_HELP)
    p.add_argument(
        "--benchmark-min",
        type=minimum_arg,
        default=5,
        metavar="N",
        help="organizations needed for a percentile rank (default and least: 5)",
    )
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
    p.add_argument("--industry", help="portfolio: each unit's percentile rank in INDUSTRY")
    p.add_argument("--benchmark", metavar="STORE", help=STORE_HELP)
    p.add_argument(
        "--benchmark-min",
        type=minimum_arg,
        default=5,
        metavar="N",
        help="organizations needed for a percentile rank (default and least: 5)",
    )
    p.set_defaults(run=_cmd_batch)
    add_benchmark_parser(sub, EPILOG)
    return parser


def _framework(args: argparse.Namespace) -> Framework:
    return load_framework(args.framework)


def _print_problems(problems: Sequence[object]) -> None:
    for problem in problems[:MAX_PRINTED_PROBLEMS]:
        print(problem, file=sys.stderr)
    if len(problems) > MAX_PRINTED_PROBLEMS:
        print(f"... and {len(problems) - MAX_PRINTED_PROBLEMS} more problems", file=sys.stderr)


def _load(args: argparse.Namespace, framework: Framework) -> pd.DataFrame:
    loaded = read_responses(args.file, framework)
    if loaded.problems:
        raise XmkitError(loaded.problems)
    return loaded.data


def _cmd_validate(args: argparse.Namespace) -> int:
    framework = _framework(args)
    loaded = read_responses(args.file, framework)
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
    cats = scores[scores["level"].isin(["overall", "category"])]
    table = cats.pivot_table(
        index=by, columns="name", values="score", aggfunc="first", dropna=False
    )
    overall = scores[scores["level"] == "overall"].set_index(by)
    table = table.reindex(overall.index)
    order = ["Overall", *[n for n in cats["name"].drop_duplicates() if n != "Overall"]]
    table = table[order].map(_fmt)
    table.insert(0, "n", overall["n"])
    table["stage"] = [
        hidden if s else f"{st} {nm}{' (capped)' if c else ''}"
        for s, st, nm, c in zip(
            overall["suppressed"],
            overall["stage"],
            overall["stage_name"],
            overall["capped"],
            strict=True,
        )
    ]
    table.loc[overall["suppressed"].to_numpy(), order] = hidden
    return table.to_string()


def _cmd_score(args: argparse.Namespace) -> int:
    framework = _framework(args)
    data = _load(args, framework)
    min_size = args.min_group_size or framework.thresholds.min_group_size
    scores = score(
        data, framework, by=args.by, min_group_size=min_size, n_boot=args.bootstrap, seed=args.seed
    )
    if args.output:
        write_table(scores, args.output)
        print(f"wrote {len(scores)} rows to {args.output}")
    else:
        print(_score_table(scores, args.by, min_size))
    if args.gaps:
        gaps = perception_gaps(
            data, framework, by=[b for b in args.by if b != "role"], min_group_size=min_size
        )
        shown = gaps.copy()
        shown["gap"] = [
            f"<{min_size} responses" if s else f"{g:+.2f}" + (" !" if f else "")
            for g, s, f in zip(gaps["gap"], gaps["suppressed"], gaps["flagged"], strict=True)
        ]
        print(
            "\nPerception gaps between roles (score of role_a minus role_b; ! = |gap| >= "
            f"{framework.thresholds.perception_gap}):"
        )
        cols = [
            c
            for c in shown.columns
            if c not in {"category_id", "score_a", "score_b", "flagged", "suppressed"}
        ]
        print(shown[cols].to_string(index=False))
    if args.next_steps:
        steps = recommend(scores, framework)
        print("\nNext steps:")
        for key, group in steps.groupby(args.by, sort=True) if args.by else [((), steps)]:
            if args.by:
                print(f"\n[{', '.join(map(str, key if isinstance(key, tuple) else (key,)))}]")
            for step in group.itertuples():
                print(
                    f"{step.priority:>2}. {step.horizon}: {step.category} / {step.practice} "
                    f"(level {step.current_level} -> {step.target_level})\n    {step.action}"
                )
    return 0


def _cmd_questionnaire(args: argparse.Namespace) -> int:
    framework = _framework(args)
    path = write_questionnaire(framework, args.format, args.output)
    print(
        f"wrote the blank {args.format} questionnaire ({len(framework.question_ids)} questions) "
        f"to {path}"
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
    max_lag, period_name, industry = 3, "", args.industry or ""
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
        industry = industry or assessment.industry
    if not client:
        print(
            "xmkit report: error: --client is required when FILE is a responses file",
            file=sys.stderr,
        )
        return 2
    framework_obj = load_framework(framework)
    loaded = read_responses(responses, framework_obj)  # clear errors before a kernel starts
    if loaded.problems:
        raise XmkitError(loaded.problems)
    _check_evidence(metrics, ex, cx, previous, framework_obj)
    store = check_store(args.benchmark) if industry else ""
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
        industry=industry,
        benchmark=store,
        benchmark_min=args.benchmark_min,
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


def _cmd_batch(args: argparse.Namespace) -> int:
    from xmkit.batch.run import run_batch

    store = check_store(args.benchmark) if args.industry else ""
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
        industry=args.industry or "",
        benchmark=store,
        benchmark_min=args.benchmark_min,
    )
    for result in results:
        print(result.summary())
    return 1 if any(r.failed for r in results) else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``xmkit`` console script."""
    skip_slow_imports()
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
