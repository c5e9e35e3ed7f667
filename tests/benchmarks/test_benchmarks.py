"""The benchmarks run (tiny sizes: figures belong in benchmarks/results.md, not here), and figures quoted
in configs and docs trace back to measured ones."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

import benchmarks.__main__ as bench

ROOT = Path(__file__).resolve().parents[2]


def test_scoring_benchmark_checks_sql_against_pandas_sklearn() -> None:
    row = bench.bench_scoring(3000, repeat=1)  # asserts SQL == scikit-learn per class inside
    assert row.startswith("| per-class intent P/R/F1") and "3,000 queries" in row


def test_grammar_compile_figure_is_measured_by_make_bench() -> None:
    row = bench.bench_grammar(12)
    assert re.search(r"\| 12 queries \| median [\d.]+ ms, max [\d.]+ ms \|", row), row


def test_queries_per_second_in_configs_are_measured_figures() -> None:
    """Every "N queries/s" a config comment quotes appears in benchmarks/README.md's measured table."""
    measured = set(re.findall(r"(\d+(?:\.\d+)?(?:-\d+\.\d+)?) queries/s", (ROOT / "benchmarks/README.md").read_text()))
    quoted = {(f.name, q) for f in (ROOT / "eval/config.yml", ROOT / "eval/robustness.yml")
              for q in re.findall(r"(\d+(?:\.\d+)?(?:-\d+\.\d+)?) (?:vs [\d.]+ )?queries/s", f.read_text())}
    assert quoted and {(name, q) for name, q in quoted if q not in measured} == set()


def test_readme_zero_shot_subset_is_the_configured_one() -> None:
    limit = yaml.safe_load((ROOT / "eval/config.yml").read_text())["limit_by_system"]["zero_shot"]
    said = re.findall(r"zero-shot (\d+)\)", (ROOT / "README.md").read_text())
    assert said and set(said) == {str(limit)}
