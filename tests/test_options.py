"""One options model: the CLI flags, the Python API, batch unit jobs and the notebooks agree.

Fast tests read the model, the argparse parsers and the notebooks' parameters cells; the slow
ones run ``xmkit batch`` on the example assessment (real kernels) and check that every flag is
honoured and that a batch unit report has the sections of ``xmkit report --unit``.
"""

from __future__ import annotations

import ast
import html
import json
import re
from pathlib import Path

import pytest
from batch_helpers import read_manifest, run_xmkit, squash

import xmkit
from xmkit.cli import build_parser
from xmkit.errors import RenderError, UsageError
from xmkit.options import Options, notebook_signature, resolve

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "assessments" / "example"
NOTEBOOK_INPUTS = {  # parameters a notebook has that are its input, not a report option
    "report.ipynb": {"responses"},
    "portfolio.ipynb": {"portfolio", "downloads"},
    "self_assessment.ipynb": {"name", "respondent_id"},
}


def parameters_cell(path: Path) -> dict[str, tuple[str | None, object]]:
    """``{name: (annotation, default)}`` of the notebook's cell tagged ``parameters``."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    [cell] = [c for c in notebook["cells"] if "parameters" in c["metadata"].get("tags", [])]
    found = {}
    for node in ast.parse("".join(cell["source"])).body:
        if isinstance(node, ast.AnnAssign):
            found[node.target.id] = (ast.unparse(node.annotation), ast.literal_eval(node.value))
        elif isinstance(node, ast.Assign):
            found[node.targets[0].id] = (None, ast.literal_eval(node.value))
    return found


@pytest.mark.parametrize("name", sorted(NOTEBOOK_INPUTS))
def test_notebook_parameters_match_the_options_model(name):
    cell = parameters_cell(ROOT / "templates" / name)
    model = {n: (kind, default) for n, kind, default, _ in notebook_signature()}
    options = {n: v for n, v in cell.items() if n not in NOTEBOOK_INPUTS[name]}
    assert set(cell) - set(options) == NOTEBOOK_INPUTS[name]
    assert options == {n: model[n] for n in options}, "names, types or defaults differ"
    if name == "report.ipynb":  # the report notebook takes every notebook option
        assert list(options) == list(model)


@pytest.mark.parametrize("name", sorted(NOTEBOOK_INPUTS))
def test_packaged_notebooks_are_byte_identical_to_templates(name):
    packaged = ROOT / "xmkit" / "notebooks" / name
    assert packaged.read_bytes() == (ROOT / "templates" / name).read_bytes()


def _flags(command: str) -> set[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]
    return {a.dest for a in sub._actions if a.option_strings and a.dest not in {"help"}}


def test_every_command_prints_its_help_with_percent_signs_in_it(capsys):
    """A help text with "95%" once made ``xmkit report --help`` crash in argparse."""
    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    for command in commands:
        with pytest.raises(SystemExit) as done:
            parser.parse_args([command, "--help"])
        assert done.value.code == 0, command
    assert "95% Student-t" in squash(capsys.readouterr().out)


@pytest.mark.parametrize("command", ["report", "batch", "score"])
def test_cli_flags_are_the_models_fields_for_the_command(command):
    own = {"output", "by", "gaps", "next_steps"}  # where files go / what score prints
    # the column and row flags are gathered into one option, ``reading``
    reading = {"unit_column", "role_column", "id_column", "comment_column", "date_column"}
    reading |= {"strict"}
    reading |= {"include_test_responses", "finished_only"}
    assert _flags(command) - own - reading == set(Options.fields_for(command))


def test_batch_has_no_by_flag():
    assert "by" not in _flags("batch")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["report", "r.csv", "--min-group-size", "-3"], "greater than or equal to 1"),
        (["report", "r.csv", "--min-group-size", "0"], "greater than or equal to 1"),
        (["batch", "r.csv", "--jobs", "0"], "greater than or equal to 1"),
        (["batch", "r.csv", "--bootstrap", "-1"], "greater than or equal to 0"),
        (["batch", "r.csv", "--format", "html,docx"], "'html', 'pdf' or 'ipynb'"),
        (["report", "r.csv", "--seed", "x"], "valid integer"),
        (["batch", "r.csv", "--executor", "spark"], "'local' or 'dask'"),
    ],
)
def test_invalid_option_values_are_usage_errors_with_exit_2(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_invalid_min_group_size_on_the_command_line_exits_2_and_renders_nothing(tmp_path):
    result = run_xmkit("batch", EXAMPLE, "--min-group-size", "-3", "-o", tmp_path / "out")
    assert result.returncode == 2
    assert "--min-group-size" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_invalid_options_in_python_raise_a_value_error_naming_the_option(tmp_path):
    with pytest.raises(ValueError, match="min_group_size"):
        xmkit.render_report(EXAMPLE, output_dir=tmp_path, min_group_size=-3)
    with pytest.raises(UsageError, match="jobs"):
        xmkit.run_batch(EXAMPLE, output_dir=tmp_path, jobs=0)
    with pytest.raises(ValueError, match="max_lagg"):
        xmkit.render_report(EXAMPLE, output_dir=tmp_path, max_lagg=2)
    assert not any(tmp_path.iterdir())


def test_given_values_beat_the_assessment_which_beats_the_defaults():
    responses, opts = resolve(EXAMPLE, {"period": "X", "min_group_size": 9, "ex": None})
    assert responses == EXAMPLE / "responses.csv"
    assert (opts.client, opts.period, opts.min_group_size) == ("Northwind Retail Group", "X", 9)
    assert opts.ex == "engagement" and opts.period_name == "quarter"  # from assessment.yaml
    assert opts.metrics == EXAMPLE / "metrics.csv" and opts.targets["all"] == {"level": 3}
    assert opts.bootstrap == 1000 and opts.formats == ("html", "pdf")  # model defaults
    _, plain = resolve(EXAMPLE / "responses.csv", {"client": "Acme"})
    assert (plain.min_group_size, plain.metrics, plain.period_name) == (None, None, "period")
    assert plain.min_size(5) == 5 and opts.min_size(5) == 9


def test_notebook_parameters_round_trip_through_the_model():
    _, opts = resolve(EXAMPLE, {"unit": "Logistics"})
    parameters = opts.notebook_parameters()
    assert json.loads(parameters["targets"]) == opts.targets
    assert parameters["metrics"] == str((EXAMPLE / "metrics.csv").resolve())
    assert Options.model_validate(parameters) == opts.model_copy(
        update={"metrics": Path(parameters["metrics"]), "previous": Path(parameters["previous"])}
    )


def test_a_dead_kernel_is_a_render_error_not_a_problem_of_the_responses(tmp_path):
    from xmkit.render.execute import execute

    notebook = {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "id": "die",
                "metadata": {},
                "outputs": [],
                "source": "import os\nos._exit(1)",
            }
        ],
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    template = tmp_path / "dies.ipynb"
    template.write_text(json.dumps(notebook), encoding="utf-8")
    with pytest.raises(RenderError) as error:
        execute({"responses": str(EXAMPLE / "responses.csv")}, template=template, engine=None)
    assert "kernel" in str(error.value)
    assert "responses.csv" not in str(error.value)


# ---- batch on the example assessment (real kernels) ---------------------------------------


def _titles(page: Path) -> list[str]:
    text = page.read_text(encoding="utf-8")
    return [html.unescape(t) for t in re.findall(r"<h2[^>]*>(.*?)</h2>", text, flags=re.S)]


@pytest.fixture(scope="module")
def flagged(tmp_path_factory) -> Path:
    """``xmkit batch`` of the example with --framework, --min-group-size and --period."""
    folder = tmp_path_factory.mktemp("flagged")
    bundled = (ROOT / "xmkit" / "frameworks" / "ex_cx_alignment.yaml").read_text("utf-8")
    framework = folder / "f.yaml"
    framework.write_text(bundled.replace("name: Visualize", "name: Visualise (UK)"), "utf-8")
    out = folder / "out"
    result = run_xmkit(
        "batch", EXAMPLE, "--framework", framework, "--min-group-size", 60, "--period", "X",
        "--format", "html", "-o", out,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return out


@pytest.mark.slow
def test_batch_honours_min_group_size_framework_and_period_flags_on_an_assessment(flagged):
    units = read_manifest(flagged)["units"]
    rendered = {u for u, r in units.items() if r["status"] == "done"}
    assert rendered == {"Stores North", "Stores South"}  # the only units of 60 or more
    assert {r["status"] for u, r in units.items() if u not in rendered} == {"skipped"}
    page = _text(flagged / "stores-north" / "report.html")
    assert "Visualise (UK)" in page and "fewer than 60 responses" in page
    assert "Period X" in page and "Period X" in _text(flagged / "index.html")


def _text(page: Path) -> str:
    return squash(html.unescape(re.sub(r"<[^>]+>", " ", page.read_text(encoding="utf-8"))))


@pytest.mark.slow
def test_batch_unit_report_has_the_sections_of_a_single_unit_report(flagged, tmp_path):
    batch_titles = _titles(flagged / "stores-north" / "report.html")
    for section in ("Evidence: does EX lead CX here?", "Progress since 2025 Q4", "Targets"):
        assert section in batch_titles
    framework = flagged.parent / "f.yaml"
    result = run_xmkit(
        "report", EXAMPLE, "--unit", "Stores North", "--framework", framework,
        "--min-group-size", 60, "--period", "X", "--format", "html", "-o", tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    single = tmp_path / "northwind-retail-group" / "stores-north" / "report.html"
    assert _titles(single) == batch_titles


@pytest.mark.slow
def test_batch_with_min_group_size_1000_renders_no_unit_report(tmp_path):
    out = tmp_path / "out"
    result = run_xmkit("batch", EXAMPLE, "--min-group-size", 1000, "--format", "html", "-o", out)
    assert result.returncode == 0, result.stderr
    units = read_manifest(out)["units"]
    assert units and {r["status"] for r in units.values()} == {"skipped"}
    assert not list(out.glob("*/report.html"))
