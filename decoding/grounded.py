"""Per-query grammars: the model may only copy entity values out of the query it is reading, in query
order, each a span its type can take.

A value is a contiguous run of the query's words, joined by the query's own separators. The first
word may drop leading punctuation and the last may drop trailing punctuation or a possessive, so
"set in a harsh frozen world." allows "a harsh frozen world" and "Nolan's" allows "Nolan"; inner
words are copied whole.

What the grammar adds to that, per query:
- **Value first, then a type that fits it.** Each entity is written `{"value":...,"type":...}`: once the
  value is copied, the types offered are the open types plus the closed types (those with a lexicon in
  schemas/taxonomy.yaml: media_type, genre, year, language, platform, audience) whose lexicon accepts that
  value (schemas/lexicon.py). So "action" is never a media type and "steven soderbergh" never a genre,
  and a value the model meant for a closed type it cannot take still gets a type instead of sending the
  model to a later span.
- **A leading year stops most values.** A value that begins with a whole year (a span the year lexicon
  accepts) and goes on past it can only be of the types the taxonomy lists in `year.prefix_of` (title,
  setting: "1990s hong kong"), so "the 2011 steve carell movie" gives a year and an actor, never the actor
  "2011 steve carell". Any closed type may set `prefix_of`. Likewise an open type's `not_first` words
  ("a", "his" for names) never begin its value: "a girl from kansas" is no character.
- **Query order, no overlaps.** Each value starts after the previous one ended, so a span is typed once
  and a long plot cannot swallow the name after it twice. The grammar is then finite: at most one entity
  per word, whatever max_entities says (0 still means none).
- **Exclusions.** After a type the taxonomy lets users rule out (`exclusion.types`) the model may write
  `"exclude":true`: "not a horror movie" -> {"value":"horror","type":"genre","exclude":true}.

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

from schemas.lexicon import fold
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


class _Rules:
    """Builds one query's grammar, value first. Rule names: E_k an entity whose value starts at word k or
    later; V_k such a value; S_i one starting at word i; C_i_k its continuation at word k (C_k when every
    span fits max_value_chars); T{c}_k the type of a value that ended before word k, c numbering the set of
    closed types that value can take (0: none, open types only); M_k what follows an entity."""

    def __init__(self, query: str, tax: Taxonomy, max_chars: int | None):
        self.query, self.tax = query, tax
        self.words = split_words(query)
        self.tails = [tail_forms(w.text) for w in self.words]
        # Chains are shared by every start word when no span can pass the bound: O(n) rules, not O(n^2).
        self.max_chars = None if max_chars is None or len(query) <= max_chars else max_chars
        self.rules: dict[str, str] = {}
        self.closed = tax.closed_types
        self.open_types = [t for t in tax.entity_names if t not in self.closed]
        self.excl = set(tax.excludable)
        self.classes: dict[tuple[frozenset[str], frozenset[str] | None], int] = {(frozenset(), None): 0}
        self.prefixes = {t: frozenset(v) for t, v in tax.prefixes.items()}
        self.not_first = {t: frozenset(ws) for t, ws in tax.not_first.items() if t in self.open_types}
        self.open_sets: dict[frozenset[str], int] = {}
        self.empty: set[str] = set()  # rules found to have no alternative
        self.closed_cache: dict[int, list[tuple[int, dict[str, frozenset[str]]]]] = {}

    def follow(self, k: int) -> str:
        """M_k: the end of the list, or another entity whose value starts at word k or later."""
        name = f"M_{k}"
        if name not in self.rules:
            more = self.entity_from(k)
            self.rules[name] = '"]"' + (f' | "," {more}' if more else "")
        return name

    def type_of(self, closed: frozenset[str], k: int, opens: frozenset[str] | None = None) -> str:
        """T{c}_k: the value's type (open types, or only `opens` of them when given, or a closed type whose
        lexicon accepts the value), then "exclude":true where the type can be ruled out, the object's end
        and what follows."""
        c = self.classes.setdefault((closed, opens), len(self.classes))
        name = f"T{c}_{k}"
        if name not in self.rules:
            types = [t for t in self.tax.entity_names
                     if (t in self.open_types and (opens is None or t in opens)) or t in closed]
            fixed, excludable = [t for t in types if t not in self.excl], [t for t in types if t in self.excl]
            alts = [f'({_alts(fixed)}) "\\"}}"'] if fixed else []
            if excludable:
                alts.append(f'({_alts(excludable)}) "\\"" ({EXCLUDE})? "}}"')
            self.rules[name] = f'"\\",\\"type\\":\\"" ({" | ".join(alts)}) {self.follow(k)}'
        return name

    def entity_from(self, k: int) -> str | None:
        """E_k: an entity object whose value starts at word k or later."""
        value = self.value_from(k)
        if value is None:
            return None
        name = f"E_{k}"
        self.rules.setdefault(name, f'"{{\\"value\\":\\"" {value}')
        return name

    def value_from(self, k: int) -> str | None:
        """V_k ::= S_k | V_(k+1): the value decides which later word it starts at."""
        if k >= len(self.words):
            return None
        name = f"V_{k}"
        if name in self.empty:
            return None
        if name not in self.rules:
            alts = [a for a in (self.span_at(k), self.value_from(k + 1)) if a]
            if not alts:
                self.empty.add(name)
                return None
            self.rules[name] = " | ".join(alts)
        return name

    def span_at(self, i: int) -> str | None:
        """S_i: word i alone, or its lead form and a chain over the next words (open types), plus every
        span from word i that some closed type's lexicon accepts, spelled out with that type among its
        choices."""
        name = f"S_{i}"
        if name in self.rules:
            return name
        w = self.words[i]
        alts = []
        singles = [f for f in single_forms(w.text) if _fits(self.max_chars, len(f))]
        opens = self.opens_at(i)
        if singles and opens != frozenset():
            alts.append(f"({_alts(singles)}) {self.type_of(frozenset(), i + 1, opens)}")
        leads = lead_forms(w.text)
        if leads and i + 1 < len(self.words):
            until, narrow = self.leading_prefix(i)
            after = narrow if opens is None else (opens if narrow is None else opens & narrow)
            more = self.chain(i, i + 1, until, opens, after)
            if more is not None:
                alts.append(f"({_alts(leads)}) {more}")
        alts += self.closed_spans(i)
        if not alts:
            return None
        self.rules[name] = " | ".join(alts)
        return name

    def leading_prefix(self, i: int) -> tuple[int | None, frozenset[str] | None]:
        """(last word of the longest whole value of a `prefix_of` type that starts at word i, the open types
        a value may be past it), or (None, None) when none starts there."""
        until, narrow = None, None
        for k, texts in self.closed_at(i):
            for t, opens in self.prefixes.items():
                if any(t in closed for closed in texts.values()):
                    until = k if until is None else max(until, k)
                    narrow = opens if narrow is None else narrow & opens
        return until, narrow

    def closed_at(self, i: int) -> list[tuple[int, dict[str, frozenset[str]]]]:
        """For each last word k of a span from word i: every way to spell it and the closed types whose
        lexicon accepts that spelling (checked once per start word, for the spans and the leading year)."""
        if i not in self.closed_cache:
            words, found = self.words, []
            reach = max((lex.max_words for lex in self.closed.values()), default=0)
            for k in range(i, min(len(words), i + reach)):
                lexicons = [(t, lex) for t, lex in self.closed.items()
                            if k - i < lex.max_words and any(lex.may_end(t) for t in self.tails[k])]
                if lexicons:
                    found.append((k, {text: frozenset(t for t, lex in lexicons if lex.accepts(text))
                                      for text in dict.fromkeys(self.span_texts(i, k))}))
            self.closed_cache[i] = found
        return self.closed_cache[i]

    def span_texts(self, i: int, k: int) -> list[str]:
        """Every way a value may spell words i..k (lead form of the first, tail form of the last)."""
        if k == i:
            return single_forms(self.words[i].text)
        inner = self.query[self.words[i].end:self.words[k].start]
        return [lead + inner + tail for lead in lead_forms(self.words[i].text) for tail in self.tails[k]]

    def opens_at(self, i: int) -> frozenset[str] | None:
        """The open types a value starting at word i may take (None: all of them); `not_first` words
        ("a", "his" for names) rule types out."""
        if not self.not_first:
            return None
        first = {fold(f) for f in lead_forms(self.words[i].text)}
        barred = {t for t, words in self.not_first.items() if first & words}
        return frozenset(t for t in self.open_types if t not in barred) if barred else None

    def chain(self, first: int, k: int, until: int | None = None, opens: frozenset[str] | None = None,
              after: frozenset[str] | None = None) -> str | None:
        """Separator, then word k as the last word (a tail form) or whole with more words after it. The value
        may be one of the `opens` open types (None: any), and past word `until` (the end of a leading
        year) only one of `after`."""
        inside = until is not None and k <= until
        allowed = opens if until is None or inside else after
        if allowed is not None and not allowed:
            return None
        if inside:
            name = f"P_{first}_{k}"  # still inside the leading year: this start word's own chain
        else:
            name = f"C_{k}" if self.max_chars is None else f"C_{first}_{k}"
            if allowed is not None:
                name = f"N{self.open_sets.setdefault(allowed, len(self.open_sets))}{name}"
        if name in self.rules:
            return name
        w = self.words[k]
        sep = self.query[self.words[k - 1].end:w.start]
        # Lengths are measured from the whole first word: conservative when it drops punctuation.
        offset = w.start - self.words[first].start
        tails = [t for t in self.tails[k] if _fits(self.max_chars, offset + len(t))]
        alts = [f"({_alts(tails)}) {self.type_of(frozenset(), k + 1, allowed)}"] if tails else []
        next_offset = self.words[k + 1].start - self.words[first].start if k + 1 < len(self.words) else None
        if next_offset is not None and _fits(self.max_chars, next_offset):
            more = self.chain(first, k + 1, until, opens, after)
            if more is not None:
                alts.append(f"{ebnf_literal(w.text)} {more}")
        if not alts:
            return None
        self.rules[name] = f"{ebnf_literal(sep)} ({' | '.join(alts)})"
        return name

    def closed_spans(self, i: int) -> list[str]:
        """'"text" T{c}_(k+1)' for each span from word i that a closed type's lexicon accepts. The same
        text also comes out of the open chain; the parser keeps both readings, so its type may be any
        open type or one of these closed types."""
        out = []
        for k, texts in self.closed_at(i):
            by_class: dict[frozenset[str], list[str]] = {}
            for text, closed in texts.items():
                if closed and _fits(self.max_chars, len(text)):
                    by_class.setdefault(closed, []).append(text)
            out += [f"({_alts(ts)}) {self.type_of(c, k + 1)}" for c, ts in by_class.items()]
        return out


EXCLUDE = '",\\"exclude\\":true"'


def grounded_ebnf(query: str, tax: Taxonomy, *, max_value_chars: int | None = None,
                  max_entities: int | None = None) -> str:
    """EBNF for an extraction whose entity values are spans of `query`, in query order, each typed as
    something that can take it (module docstring). max_entities 0 allows no entity; other values are not
    needed, since the grammar already allows at most one entity per word."""
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
