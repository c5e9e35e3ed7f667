"""Per-query grammars: the model may only copy entity values out of the query it is reading, in query
order, each a span its type can take.

A value is a contiguous run of the query's words, joined by the query's own separators. The first
word may drop leading punctuation and the last may drop trailing punctuation or a possessive, so
"set in a harsh frozen world." allows "a harsh frozen world" and "Nolan's" allows "Nolan"; inner
words are copied whole.

What the grammar adds to that, per query:
- **Types that fit.** A closed type (one with a lexicon in schemas/taxonomy.yaml: media_type, genre, year,
  language, platform, audience) may take only the spans its lexicon accepts (schemas/lexicon.py), so
  "action" is never a media type and "steven soderbergh" never a genre. Open types take any span.
- **Query order, no overlaps.** Each entity starts after the previous one ended, so a span is typed
  once and a long plot cannot swallow the name after it twice. The grammar is then finite: at most one
  entity per word, whatever max_entities says (0 still means none).
- **Exclusions.** After a type the taxonomy lets users rule out (`exclusion.types`) the model may write
  `"exclude":true`, before the value: "not a horror movie" -> {"type":"genre","exclude":true,
  "value":"horror"}.

The rules form chains per word, so the grammar grows linearly with the query per start word (bounded by
`max_value_chars`). The JSON around the values is the compact form of `schemas.extraction_json` (no
spaces, keys in order), so a fine-tuned model's learned format is exactly what the grammar allows.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from schemas.lexicon import Lexicon
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


VALUE = '"\\",\\"value\\":\\""'
# After the type of a type users may rule out: '","exclude":true,"value":"' or '","value":"'. The flag comes
# before the value, so the model decides it where the query's cue ("not a", "without") is, ahead of the value.
EXCLUDABLE_VALUE = '"\\"," ("\\"exclude\\":true,")? "\\"value\\":\\""'


class _Rules:
    """Builds one query's grammar. Rule names: E_k an entity whose value starts at word k or later (its type
    first, then the value); V_k an open-type value starting at word k or later, S_i one starting at word i,
    C_i_k its continuation at word k (C_k when every span fits max_value_chars); L{t}_k a value of closed
    type t starting at word k or later; Z_k the end of an entity whose value ended before word k."""

    def __init__(self, query: str, tax: Taxonomy, max_chars: int | None):
        self.query, self.tax = query, tax
        self.words = split_words(query)
        self.tails = [tail_forms(w.text) for w in self.words]
        # Chains are shared by every start word when no span can pass the bound: O(n) rules, not O(n^2).
        self.max_chars = None if max_chars is None or len(query) <= max_chars else max_chars
        self.rules: dict[str, str] = {}
        excl, closed = set(tax.excludable), tax.closed_types
        self.heads = {False: [t for t in tax.entity_names if t not in closed and t not in excl],
                      True: [t for t in tax.entity_names if t not in closed and t in excl]}
        self.closed = closed
        self.excl = excl
        self.empty: set[str] = set()  # rules found to have no alternative

    def end(self, k: int) -> str:
        """Z_k: close the entity, then '"]"' or another entity whose value starts at word k or later."""
        name = f"Z_{k}"
        if name not in self.rules:
            more = self.entity_from(k)
            self.rules[name] = '"\\"}" ("]"' + (f' | "," {more})' if more else ")")
        return name

    def entity_from(self, k: int) -> str | None:
        """E_k: the type is read once; which later word its value starts at is decided by the value."""
        if k >= len(self.words):
            return None
        name = f"E_{k}"
        if name in self.rules:
            return name
        self.rules[name] = ""  # reserved while the alternatives are built
        alts = []
        value = self.open_from(k)
        for excludable, types in self.heads.items():
            if types and value:
                alts.append(f"({_alts(types)}) {EXCLUDABLE_VALUE if excludable else VALUE} {value}")
        for etype, lexicon in self.closed.items():
            spans = self.closed_from(etype, lexicon, k)
            if spans:
                head = EXCLUDABLE_VALUE if etype in self.excl else VALUE
                alts.append(f"{ebnf_literal(etype)} {head} {spans}")
        if not alts:
            del self.rules[name]
            return None
        self.rules[name] = '"{\\"type\\":\\"" (' + " | ".join(alts) + ")"
        return name

    def open_from(self, k: int) -> str | None:
        """V_k ::= S_k | V_(k+1)."""
        if k >= len(self.words):
            return None
        name = f"V_{k}"
        if name not in self.rules:
            alts = [a for a in (self.open_span(k), self.open_from(k + 1)) if a]
            if not alts:
                return None
            self.rules[name] = " | ".join(alts)
        return name

    def closed_from(self, etype: str, lexicon: Lexicon, k: int) -> str | None:
        """L{t}_k ::= (spans of type t at word k) | L{t}_(k+1); absent where no later span fits t."""
        if k >= len(self.words):
            return None
        name = f"L{etype}_{k}"
        if name in self.empty:
            return None
        if name not in self.rules:
            alts = [a for a in (self.closed_spans(lexicon, k), self.closed_from(etype, lexicon, k + 1)) if a]
            if not alts:
                self.empty.add(name)
                return None
            self.rules[name] = " | ".join(alts)
        return name

    def open_span(self, i: int) -> str | None:
        """S_i: word i alone (any single form), or its lead form and a chain over the next words."""
        name = f"S_{i}"
        if name in self.rules:
            return name
        w = self.words[i]
        alts = []
        singles = [f for f in single_forms(w.text) if _fits(self.max_chars, len(f))]
        if singles:
            alts.append(f"({_alts(singles)}) {self.end(i + 1)}")
        leads = lead_forms(w.text)
        if leads and i + 1 < len(self.words):
            more = self.chain(i, i + 1)
            if more is not None:
                alts.append(f"({_alts(leads)}) {more}")
        if not alts:
            return None
        self.rules[name] = " | ".join(alts)
        return name

    def chain(self, first: int, k: int) -> str | None:
        """Separator, then word k as the last word (a tail form) or whole with more words after it."""
        name = f"C_{k}" if self.max_chars is None else f"C_{first}_{k}"
        if name in self.rules:
            return name
        w = self.words[k]
        sep = self.query[self.words[k - 1].end:w.start]
        # Lengths are measured from the whole first word: conservative when it drops punctuation.
        offset = w.start - self.words[first].start
        tails = [t for t in self.tails[k] if _fits(self.max_chars, offset + len(t))]
        alts = [f"({_alts(tails)}) {self.end(k + 1)}"] if tails else []
        next_offset = self.words[k + 1].start - self.words[first].start if k + 1 < len(self.words) else None
        if next_offset is not None and _fits(self.max_chars, next_offset):
            more = self.chain(first, k + 1)
            if more is not None:
                alts.append(f"{ebnf_literal(w.text)} {more}")
        if not alts:
            return None
        self.rules[name] = f"{ebnf_literal(sep)} ({' | '.join(alts)})"
        return name

    def closed_spans(self, lexicon: Lexicon, i: int) -> str:
        """Alternatives '"text" Z_(k+1)' for every span from word i that the type's lexicon accepts."""
        out, words = [], self.words
        for k in range(i, min(len(words), i + lexicon.max_words)):
            if not any(lexicon.may_end(t) for t in self.tails[k]):
                continue
            if k == i:
                texts = single_forms(words[i].text)
            else:
                inner = self.query[words[i].end:words[k].start]
                texts = [lead + inner + tail for lead in lead_forms(words[i].text) for tail in self.tails[k]]
            fits = [t for t in dict.fromkeys(texts) if _fits(self.max_chars, len(t)) and lexicon.accepts(t)]
            if fits:
                out.append(f"({_alts(fits)}) {self.end(k + 1)}")
        return " | ".join(out)


def grounded_ebnf(query: str, tax: Taxonomy, *, max_value_chars: int | None = None,
                  max_entities: int | None = None) -> str:
    """EBNF for an extraction whose entity values are spans of `query`, in query order, each of a type
    that can take it (module docstring). max_entities 0 allows no entity; other values are not needed,
    since the grammar already allows at most one entity per word."""
    rules = _Rules(query, tax, max_value_chars)
    first = rules.entity_from(0) if max_entities != 0 else None
    intent = f'"\\"" ({_alts(tax.intent_names)}) "\\""'
    lines = [
        'root ::= "{\\"intent\\":" intent ",\\"entities\\":" entities "}"',
        f"intent ::= {intent}",
        'entities ::= "[]"' + (f' | "[" {first}' if first else ""),
    ]
    lines += [f"{name} ::= {body}" for name, body in rules.rules.items()]
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
