"""The benchmark suite: one entry point, results in one envelope, and the docs' tables and plots
re-rendered from the committed results files."""

import ast
import json
import os
import pathlib
import subprocess
import sys

from click.testing import CliRunner

from bench.__main__ import BENCHMARKS, main
from bench.common import ROOT, envelope, write_result
from bench.report import plots, tables

BENCH = pathlib.Path(ROOT) / "bench"


def test_every_benchmark_answers_help_through_the_one_entry_point():
    listed = subprocess.run([sys.executable, "-m", "bench", "--help"], cwd=ROOT, capture_output=True, text=True,
                            timeout=60)
    assert listed.returncode == 0 and all(name in listed.stdout for name in BENCHMARKS), listed.stdout
    for name in BENCHMARKS:
        result = CliRunner().invoke(main, [name, "--help"])
        assert result.exit_code == 0 and "Usage:" in result.output, (name, result.output)
    modules = {str(path.relative_to(BENCH))[:-3].replace("/", ".") for path in BENCH.glob("*/*.py")
               if path.name != "__init__.py" and path.parent.name != "archive"}
    helpers = {"quality.train_run", "performance.serving_common", "analysis.runs"}
    assert modules - helpers == set(BENCHMARKS.values())  # no benchmark outside the entry point


def test_benchmarks_write_results_only_through_the_common_envelope():
    """No second CLI library, no import path hacks, no JSON written past bench.common."""
    offenders = []
    for path in BENCH.rglob("*.py"):
        if path.parent.name == "archive" or path.name == "common.py":
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr == "dump" and getattr(node.value, "id", "") == "json":
                offenders.append(f"{path.name}: json.dump")
            if isinstance(node, ast.Attribute) and node.attr == "insert" and ast.unparse(node.value) == "sys.path":
                offenders.append(f"{path.name}: sys.path.insert")
            if isinstance(node, (ast.Import, ast.ImportFrom)) and "argparse" in ast.unparse(node):
                offenders.append(f"{path.name}: argparse")
    assert not offenders, offenders


def test_a_result_carries_the_benchmark_command_commit_and_machine(tmp_path):
    path = write_result(str(tmp_path / "r.json"), "demo", {"value": 1.5}, echo=False)
    result = json.loads(pathlib.Path(path).read_text())
    assert result["value"] == 1.5 and result["benchmark"] == "demo"
    assert result["commit"] is None or len(result["commit"].split("+")[0]) == 40
    assert {"cpu_model", "cpus", "memory_gb"} <= set(result["machine"]) and result["machine"]["cpus"] >= 1
    assert set(envelope("demo")) == {"benchmark", "command", "commit", "machine", "date"}


def test_every_generated_table_in_the_docs_equals_its_results_file():
    files = tables.markdown_files()
    blocks = sum(len(tables.BLOCK.findall(pathlib.Path(path).read_text())) for path in files)
    assert blocks >= 10  # the docs quote their tables through the markers
    stale = {os.path.relpath(path, ROOT): tables.stale_blocks(path) for path in files}
    assert not any(stale.values()), f"re-render with `python -m bench tables sync`: {stale}"


def test_a_changed_results_number_is_caught(tmp_path):
    marked = tmp_path / "page.md"
    rendered = tables.render("pipeline")
    marked.write_text(f"<!-- table: python -m bench tables pipeline -->\n{rendered.replace('|', '| ', 1)}"
                      "<!-- end table -->\n")
    assert tables.stale_blocks(str(marked)) == ["pipeline"]
    tables.stale_blocks(str(marked), write=True)
    assert tables.stale_blocks(str(marked)) == [] and rendered in marked.read_text()


def test_plots_render_from_the_committed_results(tmp_path):
    result = CliRunner().invoke(plots.main, ["--output", str(tmp_path)])
    assert result.exit_code == 0, result.output
    drawn = {path.name for path in tmp_path.iterdir()}
    assert {"tuning-beauty.png", "reproduce-beauty.png", "reproduce-sports.png", "soak-latency.png",
            "soak-memory.png"} <= drawn, drawn
    assert all((tmp_path / name).read_bytes()[:4] == b"\x89PNG" for name in drawn)
