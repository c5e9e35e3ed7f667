"""A non-LLM baseline, fitted ONLY on the synthetic train split, writing the same predictions.parquet.

Intents: TF-IDF over word and char_wb n-grams + logistic regression. Entities: a gazetteer of every
entity value seen in train records, per type, matched longest-first over the query's word tokens
(case-insensitive, whole words only); a value seen under several types takes its most frequent one.
The taxonomy's intent rules then drop entity types the predicted intent forbids (`forbids`,
`max_entities: 0`), as the synth verifier would. Polarity: a found value of a type the taxonomy lets
users rule out is excluded when it comes right after a negation cue ("not", "no", "without", "except",
"but not", "nothing", "anything but", "avoid"), with only skip words ("a", "the", "too") between:
"not a horror movie", "nothing too scary". Settings: eval/config.yml `baseline`.
The zero-shot LLM baseline is not here: it is eval.predict.predict_records with no adapter.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from eval.config import BaselineConfig
from eval.predictions import long_rows, write_predictions
from schemas import Taxonomy, extraction_json

TOKEN = re.compile(r"\w+|[^\w\s]")  # Python's \w is Unicode-aware: 'Amélie' is one token


def tokens(text: str) -> list[re.Match[str]]:
    return list(TOKEN.finditer(text))


class Gazetteer:
    """Train entity values by type, matched longest-first over word tokens."""

    def __init__(self, records: Iterable[Mapping[str, Any]], tax: Taxonomy, min_value_chars: int):
        seen: dict[tuple[str, ...], Counter[str]] = defaultdict(Counter)
        for rec in records:
            for ent in rec["entities"]:
                if ent["type"] in tax.entity_types and len(ent["value"].strip()) >= min_value_chars:
                    key = tuple(m.group().casefold() for m in tokens(ent["value"]))
                    if key:
                        seen[key][ent["type"]] += 1
        order = {name: i for i, name in enumerate(tax.entity_names)}
        # first token -> candidate (tokens, type), longest first so the scan takes the longest match
        self.index: dict[str, list[tuple[tuple[str, ...], str]]] = defaultdict(list)
        for key, types in seen.items():
            etype = min(types, key=lambda t: (-types[t], order[t]))
            self.index[key[0]].append((key, etype))
        for cands in self.index.values():
            cands.sort(key=lambda c: -len(c[0]))
        self.size = len(seen)

    def find(self, query: str) -> list[dict[str, str]]:
        return [e for _, e in self.find_at(query)]

    def find_at(self, query: str) -> list[tuple[int, dict[str, str]]]:
        """(index of the value's first word token, entity) for every value found, in query order."""
        toks = tokens(query)
        words = [m.group().casefold() for m in toks]
        found, i = [], 0
        while i < len(words):
            for key, etype in self.index.get(words[i], ()):
                if tuple(words[i:i + len(key)]) == key:
                    start, end = toks[i].start(), toks[i + len(key) - 1].end()
                    found.append((i, {"type": etype, "value": query[start:end]}))
                    i += len(key)
                    break
            else:
                i += 1
        return found


def negated(words: Sequence[str], at: int, cues: Iterable[str], skip: Iterable[str]) -> bool:
    """Whether the value starting at word `at` follows a negation cue: the words before it, once the
    skip words right before it are passed over, end with one of the cue phrases."""
    skip = set(skip)
    k = at
    while k > 0 and words[k - 1] in skip:
        k -= 1
    return any(tuple(words[k - len(c):k]) == c for c in (tuple(cue.split()) for cue in cues) if k >= len(c))


def intent_classifier(cfg: BaselineConfig) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, Pipeline

    features = FeatureUnion([
        ("word", TfidfVectorizer(analyzer="word", ngram_range=cfg.word_ngrams, sublinear_tf=True)),
        ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=cfg.char_ngrams, sublinear_tf=True)),
    ])
    return Pipeline([("features", features), ("clf", LogisticRegression(C=cfg.C, max_iter=cfg.max_iter))])


class Baseline:
    """Fit on train records, then `predict(records)` -> one extraction dict per record."""

    def __init__(self, tax: Taxonomy, cfg: BaselineConfig):
        self.tax, self.cfg = tax, cfg

    def fit(self, train: Sequence[Mapping[str, Any]]) -> Baseline:
        bad = sorted({r.get("split") for r in train} - {"train"}, key=str)
        if bad:
            raise ValueError(f"baseline must be fitted on train records only; got split(s) {bad}")
        intents = {r["intent"] for r in train}
        if len(intents) < 2:
            raise ValueError(f"train split has {len(intents)} intent(s); the classifier needs at least two")
        from threadpoolctl import threadpool_limits

        # One BLAS thread: the problem is small, and on a shared 2-core machine a second thread made
        # this fit 25-50x slower (0.03 s vs 0.7-1.5 s on 600 queries).
        with threadpool_limits(limits=1):
            self.classifier = intent_classifier(self.cfg).fit([r["query"] for r in train],
                                                              [r["intent"] for r in train])
        self.gazetteer = Gazetteer(train, self.tax, self.cfg.min_value_chars)
        from eval.predict import sha256_json

        self.train_sha256 = sha256_json(list(train))  # part of the prediction cache key
        return self

    def allowed(self, intent: str, entities: list[dict[str, str]]) -> list[dict[str, str]]:
        rules = self.tax.intents[intent].rules
        if rules.max_entities == 0:
            return []
        return [e for e in entities if e["type"] not in rules.forbids]

    def entities(self, query: str) -> list[dict[str, Any]]:
        """The gazetteer's values, each of an excludable type marked excluded after a negation cue."""
        words = [m.group().casefold() for m in tokens(query)]
        return [dict(e, exclude=True) if e["type"] in self.tax.excludable
                and negated(words, at, self.cfg.negation_cues, self.cfg.negation_skip) else e
                for at, e in self.gazetteer.find_at(query)]

    def predict(self, records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        if not records:
            return []
        intents = self.classifier.predict([r["query"] for r in records])
        return [{"intent": str(i), "entities": self.allowed(str(i), self.entities(r["query"]))}
                for r, i in zip(records, intents, strict=True)]


def predict_baseline(model: Baseline, records: Sequence[Mapping[str, Any]], out_dir: str | Path) -> Path:
    """Write out_dir/predictions.parquet and outputs.jsonl, as eval.predict does; return the parquet path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    preds = model.predict(records)
    rows: list[dict[str, Any]] = []
    with (out / "outputs.jsonl").open("w", encoding="utf-8") as f:
        for rec, pred in zip(records, preds, strict=True):
            rows += long_rows(rec, pred, "ok")
            text = extraction_json(pred["intent"], pred["entities"])
            f.write(json.dumps({"id": rec["id"], "text": text, "status": "ok"}, ensure_ascii=False) + "\n")
    return write_predictions(out / "predictions.parquet", rows)
