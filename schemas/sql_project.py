"""Where the SQL project (sql/ at the repository root) keeps its layers, and how a runner loads them.

Every DuckDB user of the pipeline (scoring, audit, search, retrieval) reads the same tree, so the
rules live here, below all of them: the macros are loaded whole, a model is found by its name
(the relation it makes), and a folder of models is created in the order its files read each other.
See sql/README.md for the layers.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Protocol

SQL_ROOT = Path(__file__).resolve().parents[1] / "sql"
MACRO_DIR = SQL_ROOT / "macros"
MODEL_DIR = SQL_ROOT / "models"
LAYERS = ("staging", "intermediate")  # a model reads raw inputs or models of its own or a lower layer


class Executes(Protocol):
    def execute(self, query: str, /) -> object: ...


def read_sql(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def load_macros(con: Executes) -> None:
    """Every sql/macros/*.sql, sorted: each file only defines macros, so all of them load everywhere."""
    for path in macro_files():
        con.execute(read_sql(path))


def macro_files() -> list[Path]:
    return sorted(MACRO_DIR.glob("*.sql"))


def model_path(name: str) -> Path:
    """The file of model `name` (the relation it makes), wherever its layer and domain put it."""
    found = sorted(MODEL_DIR.glob(f"*/*/{name}.sql"))
    if len(found) != 1:
        raise FileNotFoundError(f"{MODEL_DIR}/*/*/{name}.sql: {len(found)} files; a model name is unique")
    return found[0]


def model_sql(name: str) -> str:
    return read_sql(model_path(name))


def dependency_order(paths: list[Path]) -> list[Path]:
    """SQL files that each create one relation named as the file, in an order they can be created: each
    after the files whose relations it names (outside comments), ties by name. Like dbt's ref() graph,
    read from the SQL text itself."""
    pending = sorted(paths)
    code = {p.stem: re.sub(r"--[^\n]*", "", read_sql(p)) for p in pending}
    needs = {m: {n for n in code if n != m and re.search(rf"\b{n}\b", text)} for m, text in code.items()}
    ordered: list[Path] = []
    while pending:
        done = {p.stem for p in ordered}
        ready = [p for p in pending if needs[p.stem] <= done]
        if not ready:
            raise ValueError(f"{pending[0].parent}: models read each other in a cycle: "
                             f"{', '.join(p.stem for p in pending)}")
        ordered.append(ready[0])
        pending.remove(ready[0])
    return ordered


def domain_models(domain: str) -> list[Path]:
    """One consumer's models (sql/models/<layer>/<domain>/*.sql) in creation order: staging before
    intermediate, each layer in dependency order."""
    return [p for layer in LAYERS for p in dependency_order(list((MODEL_DIR / layer / domain).glob("*.sql")))]
