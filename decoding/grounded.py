"""Per-query grammars: the model may only copy entity values out of the query it is reading.

A value is a contiguous run of the query's words, joined by the query's own separators. The first
word may drop leading punctuation and the last may drop trailing punctuation or a possessive, so
"set in a harsh frozen world." allows "a harsh frozen world" and "Nolan's" allows "Nolan"; inner
words are copied whole. The rules form a chain per word, so the grammar grows linearly with the
query (per start word and bounded by `max_value_chars` when a length bound is given).

The JSON around the values is the compact form of `schemas.extraction_json` (no spaces, keys in
order), so a fine-tuned model's learned format is exactly what the grammar allows.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from schemas.taxonomy import Taxonomy

MODES = ("grounded", "schema", "none")
_WORD = re.compile(r"\S+")
_POSSESSIVE = ("'s", "\u2019s")


@dataclass(frozen=True)
class Word:
    start: int  # offset of the whole word in the query
    text: str   # the word as written, punctuation included

    @property
    def end(self) -> int:
        return self.start + len(self.text)


def split_words(query: str) -> list[Word]:
    return [Word(m.start(), m.group()) for m in _WORD.finditer(query)]


def _is_punct(ch: str) -> bool:
    return unicodedata.category(ch).startswith("P")


def _lstrips(text: str) -> list[str]:
    """`text` with 0, 1, 2... leading punctuation characters removed."""
    out = [text]
    while out[-1] and _is_punct(out[-1][0]):
        out.append(out[-1][1:])
    return out


def _rstrips(text: str) -> list[str]:
    out = [text]
    while out[-1] and _is_punct(out[-1][-1]):
        out.append(out[-1][:-1])
    return out


def _unique(forms: Sequence[str]) -> list[str]:
    # A value never starts or ends on a word of bare punctuation ("-", "&").
    return [f for f in dict.fromkeys(forms) if any(c.isalnum() for c in f)]


def lead_forms(word: str) -> list[str]:
    """How a value may begin inside `word`: whole, or without leading punctuation ('"Dune' -> 'Dune')."""
    return _unique(_lstrips(word))


def tail_forms(word: str) -> list[str]:
    """How a value may end inside `word`: whole, without trailing punctuation, or without a possessive."""
    forms = _rstrips(word)
    for base in list(forms):
        for pos in _POSSESSIVE:
            if base.endswith(pos) and len(base) > len(pos):
                forms.append(base[: -len(pos)])
    return _unique(forms)


def single_forms(word: str) -> list[str]:
    return _unique([t for lead in lead_forms(word) for t in tail_forms(lead)])


def ebnf_literal(text: str) -> str:
    """An EBNF string literal matching `text` as it appears inside a compact JSON string."""
    escaped_json = json.dumps(text, ensure_ascii=False)[1:-1]
    return '"' + escaped_json.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _alts(texts: Sequence[str]) -> str:
    return " | ".join(ebnf_literal(t) for t in texts)


def _fits(limit: int | None, length: int) -> bool:
    return limit is None or length <= limit


class _SpanRules:
    """Builds `value ::= span_0 | span_1 | ...`, memoising the continuation chains."""

    def __init__(self, query: str, words: list[Word], max_chars: int | None):
        self.query, self.words, self.max_chars = query, words, max_chars
        self.rules: dict[str, str] = {}

    def chain(self, first: int, k: int) -> str | None:
        """Rule for: separator, then word k as a tail, or word k whole and more words."""
        # Without a length bound every start shares one chain per word, keeping the grammar O(n).
        name = f"c_{k}" if self.max_chars is None else f"c_{first}_{k}"
        if name in self.rules:
            return name
        w = self.words[k]
        sep = self.query[self.words[k - 1].end:w.start]
        # Lengths are measured from the whole first word: conservative when it drops punctuation.
        offset = w.start - self.words[first].start
        tails = [t for t in tail_forms(w.text) if _fits(self.max_chars, offset + len(t))]
        alts = [_alts(tails)] if tails else []
        next_offset = self.words[k + 1].start - self.words[first].start if k + 1 < len(self.words) else None
        if next_offset is not None and _fits(self.max_chars, next_offset):
            more = self.chain(first, k + 1)
            if more is not None:
                alts.append(f"({ebnf_literal(w.text)} {more})")
        if not alts:
            return None
        self.rules[name] = f"{ebnf_literal(sep)} ({' | '.join(alts)})"
        return name

    def start(self, i: int) -> str | None:
        w = self.words[i]
        alts = [_alts([f for f in single_forms(w.text) if _fits(self.max_chars, len(f))])]
        leads = lead_forms(w.text)
        if leads and i + 1 < len(self.words):
            more = self.chain(i, i + 1)
            if more is not None:
                alts.append(f"(({_alts(leads)}) {more})")
        alts = [a for a in alts if a]
        if not alts:
            return None
        self.rules[f"s_{i}"] = " | ".join(alts)
        return f"s_{i}"

    def build(self) -> str | None:
        starts = [s for i in range(len(self.words)) if (s := self.start(i)) is not None]
        if not starts:
            return None
        self.rules["value"] = " | ".join(starts)
        return "value"


def grounded_ebnf(query: str, tax: Taxonomy, *, max_value_chars: int | None = None,
                  max_entities: int | None = None) -> str:
    """EBNF for an extraction whose entity values are all spans of `query`."""
    spans = _SpanRules(query, split_words(query), max_value_chars)
    value = spans.build()
    quoted = '"\\"" ({}) "\\""'
    intent, etype = quoted.format(_alts(tax.intent_names)), quoted.format(_alts(tax.entity_names))
    lines = [
        'root ::= "{\\"intent\\":" intent ",\\"entities\\":" entities "}"',
        f"intent ::= {intent}",
    ]
    if value is None or max_entities == 0:
        lines.append('entities ::= "[]"')
    else:
        more = "*" if max_entities is None else f"{{0,{max_entities - 1}}}"
        lines += [
            f'entities ::= "[]" | "[" entity ("," entity){more} "]"',
            f'entity ::= "{{\\"type\\":" etype ",\\"value\\":\\"" {value} "\\"}}"',
            f"etype ::= {etype}",
        ]
        lines += [f"{name} ::= {body}" for name, body in spans.rules.items()]
    return "\n".join(lines) + "\n"


def grammars_for_mode(compiler: Any, mode: str, queries: Sequence[str], tax: Taxonomy, *,
                      max_value_chars: int | None, max_entities: int | None) -> Any:
    """Compiled grammars for `mode`: one per query (grounded), one shared (schema) or None."""
    from schemas.jsonschemas import extraction_schema

    if mode == "none":
        return None
    if mode == "schema":
        schema = extraction_schema(tax, max_value_chars=max_value_chars, max_entities=max_entities)
        return compile_json_schema(compiler, schema)
    if mode == "grounded":
        return [compiler.compile_grammar(grounded_ebnf(q, tax, max_value_chars=max_value_chars,
                                                       max_entities=max_entities)) for q in queries]
    raise ValueError(f"unknown decoding mode {mode!r}; expected one of {', '.join(MODES)}")


def compile_json_schema(compiler: Any, schema: dict[str, Any]) -> Any:
    """A JSON schema compiled to the compact layout extraction_json writes (xgrammar caches repeats)."""
    return compiler.compile_json_schema(json.dumps(schema, sort_keys=False), any_whitespace=False,
                                        separators=(",", ":"))
