"""The benchmarks run (tiny sizes: figures belong in benchmarks/results.md, not here)."""

from __future__ import annotations

import re

import benchmarks.__main__ as bench


def test_scoring_benchmark_checks_sql_against_pandas_sklearn() -> None:
    row = bench.bench_scoring(3000, repeat=1)  # asserts SQL == scikit-learn per class inside
    assert row.startswith("| per-class intent P/R/F1") and "3,000 queries" in row


def test_grammar_compile_figure_is_measured_by_make_bench() -> None:
    row = bench.bench_grammar(12)
    assert re.search(r"\| 12 queries \| median [\d.]+ ms, max [\d.]+ ms \|", row), row

