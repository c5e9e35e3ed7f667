"""External corpora: importers round-trip their fixtures, labels map or are listed, a run is scored on mapped types."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from eval.config import DEFAULT_CONFIG as EVAL_CONFIG
from eval.external import load_label_map, read_bio, read_corpus, to_records, write_bio
from eval.external.__main__ import main
from schemas import ConfigError, load_taxonomy
from synth.config import load_data_config
from synth.pipeline import build_dataset

ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "tests/fixtures/external"
MIT, CONLL, JSONL = FIX / "mit_movie_sample.bio", FIX / "queries_with_intents.conll", FIX / "queries_with_spans.jsonl"
MIT_MAP, CONLL_MAP = ROOT / "eval/external/maps/mit_movie.yml", FIX / "conll_sample.map.yml"
SPANS_MAP = ROOT / "eval/external/maps/example_spans.yml"
TAX = load_taxonomy()


def tagged_tokens(path: Path, tag_col: int) -> list[list[tuple[str, str]]]:
    """(label, tokens joined) per query, read with nothing but str.split: the expectation for the importer."""
    out, cur, spans = [], None, []
    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        if line.startswith("#"):
            continue
        if not line.strip():
            if cur:
                spans.append(cur)
            if spans or cur:
                out.append([(lbl, " ".join(toks)) for lbl, toks in spans])
            cur, spans = None, []
            continue
        cols = line.split()
        tag, tok = cols[tag_col], cols[1 - tag_col]
        if tag.startswith("B-") or (tag.startswith("I-") and (cur is None or cur[0] != tag[2:])):
            if cur:
                spans.append(cur)
            cur = (tag[2:], [tok])
        elif tag.startswith("I-"):
            cur[1].append(tok)
        else:
            if cur:
                spans.append(cur)
            cur = None
    return out


def spans_of(rec: dict) -> list[tuple[str, str]]:
    assert all(rec["query"][e["start"]:e["end"]] == e["value"] for e in rec["entities"])
    return [(e["type"], e["value"]) for e in rec["entities"]]


@pytest.mark.parametrize(("path", "map_path", "tag_col", "fmt"), [(MIT, MIT_MAP, 0, "bio (tag first)"),
                                                                 (CONLL, CONLL_MAP, 1, "bio (token first)")])
def test_bio_round_trip(path, map_path, tag_col, fmt):
    lmap = load_label_map(map_path, TAX)
    corpus = read_corpus(path)
    records, summary = to_records(corpus, lmap)
    assert corpus.fmt == fmt and summary["queries"] == len(records) == len(tagged_tokens(path, tag_col))
    for rec, expected in zip(records, tagged_tokens(path, tag_col), strict=True):
        assert spans_of(rec) == [(lmap.entities[lbl], text) for lbl, text in expected if lbl in lmap.entities]
        assert rec["split"] == "test" and rec["meta"]["source"] == str(path)


def test_unmapped_labels_and_intents_are_listed():
    _, mit = to_records(read_corpus(MIT), load_label_map(MIT_MAP, TAX))
    assert mit["unmapped_labels"] == {"RATING": 1, "SONG": 1} and mit["with_intent"] == 0
    assert mit["spans_by_label"]["ACTOR"] == 3 and mit["mapped_types"] == sorted(
        {"actor", "character", "director", "genre", "plot", "title", "year"})
    records, conll = to_records(read_corpus(CONLL), load_label_map(CONLL_MAP, TAX))
    assert conll["unmapped_labels"] == {"LOCATION": 1} and conll["unmapped_intents"] == {"weather": 1}
    assert [r["intent"] for r in records] == ["similar_to", "where_to_watch", "recommend", None]
    assert spans_of(records[1]) == [("title", "Spider-Man: No Way Home"), ("platform", "Disney+")]
    assert spans_of(records[0])[-1] == ("title", "Amélie")


def test_jsonl_round_trip():
    raw = [json.loads(line) for line in JSONL.read_text().splitlines()]
    lmap = load_label_map(SPANS_MAP, TAX)
    records, summary = to_records(read_corpus(JSONL), lmap)
    for rec, obj in zip(records, raw, strict=True):
        assert rec["query"] == obj["text"] and rec["intent"] == lmap.intents.get(obj["intent"])
        expected = [(lmap.entities[s["label"]], obj["text"][s["start"]:s["end"]]) for s in obj["spans"]
                    if s["label"] in lmap.entities]
        assert spans_of(rec) == expected
    assert summary["unmapped_labels"] == {"rating": 1} and summary["unmapped_intents"] == {"tech_support": 1}


def test_column_order_and_intent_column_do_not_change_records(tmp_path):
    lines = MIT.read_text().splitlines()
    swapped = tmp_path / "swapped.bio"  # token first, space-separated
    swapped.write_text("\n".join(" ".join(reversed(line.split("\t"))) if line else "" for line in lines) + "\n")
    assert read_bio(swapped).queries == [
        type(q)(q.text, q.spans, q.intent, q.where.replace(str(MIT), str(swapped))) for q in read_bio(MIT).queries]
    third = tmp_path / "third.bio"  # a third column repeating the intent
    third.write_text("play\tO\tplay_media\nUp\tB-TITLE\tplay_media\n\nhi\tO\tchat\n")
    assert [(q.text, q.intent, q.spans) for q in read_bio(third).queries] == [
        ("play Up", "play_media", [(5, 7, "TITLE")]), ("hi", "chat", [])]


def test_records_survive_write_bio_and_read_back(tmp_path):
    records, _ = to_records(read_corpus(CONLL), load_label_map(CONLL_MAP, TAX))
    records = [r for r in records if r["intent"]]
    path = write_bio(records, tmp_path / "out.bio")
    identity = tmp_path / "identity.yml"
    identity.write_text(yaml.safe_dump({"entities": {t: t for t in TAX.entity_names},
                                        "intents": {i: i for i in TAX.intent_names}}))
    again, _ = to_records(read_corpus(path), load_label_map(identity, TAX))
    assert [(r["query"], r["intent"], spans_of(r)) for r in again] == \
        [(r["query"], r["intent"], spans_of(r)) for r in records]


def test_bio_repairs_a_dangling_inside_tag(tmp_path):
    path = tmp_path / "x.bio"
    path.write_text("I-GENRE horror\nO with\nB-ACTOR tom\nI-TITLE hanks\n")
    corpus = read_bio(path)
    assert corpus.queries[0].spans == [(0, 6, "GENRE"), (12, 15, "ACTOR"), (16, 21, "TITLE")]
    assert sum(corpus.repairs.values()) == 2


def test_bad_inputs_are_one_line_errors(tmp_path):
    bad_map = tmp_path / "m.yml"
    bad_map.write_text("entities: {ACTOR: actors, TITLE: title}\nintents: {x: recommended}\nlabels: {}\n")
    with pytest.raises(ConfigError) as exc:
        load_label_map(bad_map, TAX)
    text = str(exc.value)
    assert len(exc.value.problems) == 3 and "did you mean 'actor'" in text and "did you mean 'recommend'" in text
    cols = tmp_path / "c.bio"
    cols.write_text("just three words\nhere\n")
    with pytest.raises(ConfigError, match=r"c.bio:1: expected 2 or 3 columns"):
        read_bio(cols)
    notags = tmp_path / "n.bio"
    notags.write_text("play Up\nnow please\n")
    with pytest.raises(ConfigError, match="neither column holds only BIO tags"):
        read_bio(notags)
    spans = tmp_path / "s.jsonl"
    spans.write_text('{"text": "play Up", "spans": [{"start": 5, "end": 9, "label": "T"}]}\nnot json\n'
                     '{"text": "a b", "spans": [{"start": 0, "end": 3, "label": "T"}, {"start": 2, "end": 3, "label": "U"}]}\n')
    with pytest.raises(ConfigError) as exc:
        read_corpus(spans)
    assert [p.split(": ")[0].rsplit(":", 1)[1] for p in exc.value.problems] == ["1", "2", "3"]


def test_import_only_cli(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["--corpus", str(MIT), "--map", str(MIT_MAP), "--import-only", "--out", str(out)]) == 0
    assert '"RATING": 1' in capsys.readouterr().out
    assert len((out / "records.jsonl").read_text().splitlines()) == 8
    assert json.loads((out / "import.json").read_text())["unmapped_labels"] == {"RATING": 1, "SONG": 1}
    assert "RATING" in (out / "external.md").read_text() and "<style>" in (out / "external.html").read_text()


def test_baseline_scored_on_mapped_types_only(tmp_path, capsys):
    data = tmp_path / "ds"
    build_dataset(load_data_config(ROOT / "recipes/data/default.yml", {"n": 300, "seed": 2, "out": str(data)}),
                  progress=False)
    ecfg = yaml.safe_load(EVAL_CONFIG.read_text())
    ecfg["baseline"].update(char_ngrams=[3, 4], max_iter=200)  # a quicker fit than the shipped one
    (tmp_path / "eval.yml").write_text(yaml.safe_dump(ecfg))
    run = tmp_path / "run"
    assert main(["--corpus", str(JSONL), "--map", str(SPANS_MAP), "--run", str(run), "--systems", "baseline",
                 "--train-data", str(data), "--eval-config", str(tmp_path / "eval.yml")]) == 0
    out = run / "external" / "example-spans"
    result = json.loads((out / "external.json").read_text())["systems"]["baseline"]
    assert sorted(result["per_type"]) == ["actor", "genre", "language", "platform", "title"]
    metrics = json.loads((out / "baseline" / "mapped" / "metrics.json").read_text())
    assert sorted(metrics["entities"]["per_class"]) == sorted(result["per_type"])
    assert metrics["entities"]["per_class"]["title"]["support"] == 2  # Dune, Parasite
    assert result["intent_macro_f1"] is not None  # this corpus has mapped intents
    iv = result["intervals"]  # per-query bootstrap: the imported records carry no template
    assert iv["clusters"] == len((out / "records.jsonl").read_text().splitlines())
    assert iv["metrics"]["entity_f1"]["value"] == pytest.approx(result["entity_macro_f1"])
    assert sorted(iv["metrics"]) == sorted(["intent_f1", "entity_f1", "names_f1", *result["per_type"]])
    assert "intervals from resampling the" in (out / "external.md").read_text()
    assert re.search(r"baseline: entity macro-F1 \d\.\d{3} \[\d\.\d{3}, \d\.\d{3}\]", capsys.readouterr().out)


def test_corpus_flag_replaces_data(tmp_path, capsys):
    """--data means a dataset everywhere else; here the corpus is --corpus and --data is an error."""
    with pytest.raises(SystemExit) as err:
        main(["--data", str(MIT), "--map", str(MIT_MAP), "--import-only", "--out", str(tmp_path)])
    assert err.value.code == 2 and "--corpus" in capsys.readouterr().err


def fake_dataset(path: Path, sha: str) -> Path:
    path.mkdir(parents=True)
    (path / "train.jsonl").write_text("")
    (path / "manifest.json").write_text(json.dumps({"system_prompt": "Extract.", "sha256": {"train.jsonl": sha}}))
    return path


def test_train_data_is_honoured_for_the_finetuned_run(tmp_path, capsys):
    """--train-data wins over the card's data.dir, and a run is not scored beside data it never saw."""
    trained, other = fake_dataset(tmp_path / "seed13", "aa"), fake_dataset(tmp_path / "seed7", "bb")
    run = tmp_path / "run"
    run.mkdir()
    (run / "run_card.json").write_text(json.dumps({
        "data": {"dir": str(trained), "manifest_sha256": {"train.jsonl": "aa"}},
        "resolved_config": {"base_model": str(tmp_path / "no-model")}}))
    args = ["--corpus", str(JSONL), "--map", str(SPANS_MAP), "--run", str(run), "--systems", "finetuned"]
    assert main(args + ["--train-data", str(other)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    from eval.runs import short_hash

    assert len(lines) == 1 and str(other) in lines[0]
    assert short_hash({"train.jsonl": "aa"}) in lines[0] and short_hash({"train.jsonl": "bb"}) in lines[0]
    # the card's own dataset passes the check and fails later, on the missing model
    assert main(args + ["--train-data", str(trained)]) == 2
    assert "no-model' not found" in capsys.readouterr().err


def test_make_eval_external_without_corpus_is_one_line():
    env = {k: v for k, v in os.environ.items() if k not in ("CORPUS", "MAKEFLAGS")}
    proc = subprocess.run(["make", "-n", "eval-external"], cwd=ROOT, env=env, capture_output=True, text=True)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and "CORPUS is not set" in lines[0], proc.stderr
