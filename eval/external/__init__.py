"""Real human-written queries from an external labelled corpus: import, map labels, score a run on them.

EVALUATION ONLY. Imported records must never be used to train, tune or select a model: training data
comes from the synth pipeline alone (docs/DESIGN.md). Results are written apart from the synthetic ones.

Usage (eval/external/__main__.py):
  python -m eval.external --corpus CORPUS --map eval/external/maps/mit_movie.yml [--run runs/x]
                          [--systems finetuned,baseline] [--train-data data/x] [--eval-config eval/config.yml]
                          [--limit N] [--import-only] [--out DIR] [--force]
Predictions use eval/config.yml's decode settings and the run's trained prompt, as `make eval` does.

Corpus formats (chosen by suffix: .jsonl is JSONL, anything else BIO/CoNLL):
  BIO / CoNLL  one token and its tag per line, tab- or space-separated, in EITHER column order: the
               column whose every value is a tag (O, B-X, I-X; BIOES E-X/S-X accepted) is the tag
               column. A blank line ends a query; tokens are joined with single spaces. Intent, when
               the corpus has one: a line `# intent: <name>` before the query's tokens, or a third
               column repeating the query's intent on every token line. Other `#` lines and
               -DOCSTART- lines are skipped. An I-X that does not continue an X span starts one.
  JSONL        {"text": "...", "intent": "..." (optional), "spans": [{"start", "end", "label"}]} per line.
Label map (YAML): `entities: {corpus label: taxonomy entity type}`, optional `intents: {corpus intent:
taxonomy intent}`, optional `name` (default: the map's file stem). Unmapped labels are dropped from
gold and listed in the output; predictions of entity types no corpus label maps to are dropped too,
so a model is scored on the mapped types only. Queries whose intent is unmapped are in no intent's
support (map e.g. `weather: out_of_scope` to score them).

Writes runs/x/external/<name>/: records.jsonl (split "test", meta.source), import.json (counts, unmapped
labels), <system>/ (raw predictions) and <system>/mapped/ (metrics.json, tables/ from sql/scoring),
external.md, external.html, external.json.
"""

from eval.external.corpus import Corpus, RawQuery, read_bio, read_corpus, read_jsonl_spans, write_bio
from eval.external.labels import LabelMap, load_label_map, mapped_taxonomy, to_records

__all__ = ["Corpus", "LabelMap", "RawQuery", "load_label_map", "mapped_taxonomy", "read_bio", "read_corpus",
           "read_jsonl_spans", "to_records", "write_bio"]
