"""Read an external labelled corpus (BIO/CoNLL or JSONL with spans) into queries with labelled spans.

Evaluation data only: never train on it. Formats are described in eval/external/__init__.py.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from schemas import ConfigError

TAG = re.compile(r"^(O|[BIES]-\S+)$")
INTENT_LINE = re.compile(r"^#\s*intent\s*[:=]\s*(\S.*?)\s*$")


@dataclass
class RawQuery:
    text: str
    spans: list[tuple[int, int, str]]  # start, end, corpus label
    intent: str | None = None
    where: str = ""                    # file:line of the query's first line


@dataclass
class Corpus:
    path: Path
    queries: list[RawQuery]
    fmt: str
    repairs: Counter[str] = field(default_factory=Counter)


# ---- BIO / CoNLL -----------------------------------------------------------------------------------

def _blocks(lines: list[str]) -> list[tuple[int, str | None, list[list[str]]]]:
    """(first line number, intent from a `# intent:` line, token rows) per blank-line-separated query."""
    blocks, rows, intent, start = [], [], None, 0
    for n, line in enumerate(lines + [""], 1):
        stripped = line.strip()
        if m := INTENT_LINE.match(stripped):
            intent = m.group(1)
        elif stripped.startswith("#") or stripped.startswith("-DOCSTART-"):
            continue
        elif not stripped:
            if rows:
                blocks.append((start, intent, rows))
            rows, intent = [], None
        else:
            start = start if rows else n
            cols = [c.strip() for c in line.split("\t")] if "\t" in line else stripped.split()
            rows.append([c for c in cols if c])
    return blocks


def tag_column(rows: list[list[str]], path: Path) -> int:
    """The column (0 or 1) in which every value is a BIO tag; the one with more B-/I- tags if both are."""
    shares = [sum(bool(TAG.match(r[c])) for r in rows) / len(rows) for c in (0, 1)]
    full = [c for c in (0, 1) if shares[c] == 1.0]
    if not full:
        raise ConfigError([f"{path}: neither column holds only BIO tags (O, B-X, I-X); e.g. "
                           f"'{' '.join(rows[0])}'. Write one token and its tag per line"])
    return max(full, key=lambda c: sum(r[c] != "O" for r in rows))


def _spans(tags: list[str], offsets: list[tuple[int, int]],
           repairs: Counter[str]) -> list[tuple[int, int, str]]:
    spans: list[tuple[int, int, str]] = []
    prev = "O"
    for tag, (s, e) in zip(tags, offsets, strict=True):
        kind, label = (tag[0], tag[2:]) if tag != "O" else ("O", "")
        continues = kind in "IE" and prev != "O" and prev[2:] == label and prev[0] in "BI"
        if kind == "O":
            pass
        elif continues:
            spans[-1] = (spans[-1][0], e, label)
        else:
            if kind in "IE":
                repairs["I- tag without a span to continue: started one"] += 1
            spans.append((s, e, label))
        prev = tag
    return spans


def read_bio(path: Path) -> Corpus:
    blocks = _blocks(path.read_text(encoding="utf-8").splitlines())
    if not blocks:
        raise ConfigError([f"{path}: no queries (expected token/tag lines, a blank line between queries)"])
    bad = [f"{path}:{n}: expected 2 or 3 columns (token, tag[, intent]), got {len(r)}: '{' '.join(r)}'"
           for n, _, rows in blocks for r in rows if len(r) not in (2, 3)]
    if bad:
        raise ConfigError(bad[:10] + ([f"... and {len(bad) - 10} more"] if len(bad) > 10 else []))
    col = tag_column([r for _, _, rows in blocks for r in rows], path)
    corpus = Corpus(path, [], "bio (tag first)" if col == 0 else "bio (token first)")
    for n, intent, rows in blocks:
        tokens, tags = [r[1 - col] for r in rows], [r[col] for r in rows]
        offsets, pos = [], 0
        for tok in tokens:
            offsets.append((pos, pos + len(tok)))
            pos += len(tok) + 1
        third = {r[2] for r in rows if len(r) == 3}
        corpus.queries.append(RawQuery(" ".join(tokens), _spans(tags, offsets, corpus.repairs),
                                       intent or (third.pop() if len(third) == 1 else None), f"{path}:{n}"))
    return corpus


def write_bio(records: list[dict[str, Any]], path: Path) -> Path:
    """Records -> token-first BIO with `# intent:` lines: the inverse of read_bio for text whose tokens
    are separated by single spaces."""
    out = []
    for r in records:
        out.append(f"# intent: {r['intent']}")
        for m in re.finditer(r"\S+", r["query"]):
            ent = next((e for e in r["entities"] if e["start"] <= m.start() < e["end"]), None)
            tag = "O" if ent is None else ("B-" if m.start() == ent["start"] else "I-") + ent["type"]
            out.append(f"{m.group()}\t{tag}")
        out.append("")
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path


# ---- JSONL with spans ------------------------------------------------------------------------------

def _parse_line(obj: Any, where: str, problems: list[str]) -> RawQuery | None:
    shape_ok = isinstance(obj, dict) and isinstance(obj.get("text"), str) and bool(obj["text"]) \
        and isinstance(obj.get("spans", []), list) and isinstance(obj.get("intent"), (str, type(None)))
    if not shape_ok:
        problems.append(f'{where}: expected {{"text": str, "intent": str (optional), '
                        '"spans": [{"start": int, "end": int, "label": str}]}')
        return None
    text, spans = obj["text"], []
    for i, s in enumerate(obj.get("spans", [])):
        ok = isinstance(s, dict) and all(isinstance(s.get(k), int) for k in ("start", "end")) \
            and isinstance(s.get("label"), str) and 0 <= s["start"] < s["end"] <= len(text)
        if not ok:
            problems.append(f"{where}: spans[{i}] must have 0 <= start < end <= len(text) and a label")
            continue
        spans.append((s["start"], s["end"], s["label"]))
    spans.sort()
    if any(a[1] > b[0] for a, b in zip(spans, spans[1:], strict=False)):
        problems.append(f"{where}: spans overlap; keep one of each overlapping pair")
    return RawQuery(text, spans, obj.get("intent"), where)


def read_jsonl_spans(path: Path) -> Corpus:
    corpus, problems = Corpus(path, [], "jsonl"), []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"{path}:{n}: invalid JSON ({exc.msg})")
            continue
        if (query := _parse_line(obj, f"{path}:{n}", problems)) is not None:
            corpus.queries.append(query)
    if problems:
        raise ConfigError(problems)
    if not corpus.queries:
        raise ConfigError([f"{path}: no queries"])
    return corpus


def read_corpus(path: str | Path) -> Corpus:
    path = Path(path)
    if not path.is_file():
        raise ConfigError([f"{path}: corpus file not found"])
    return read_jsonl_spans(path) if path.suffix == ".jsonl" else read_bio(path)
