import json
from pathlib import Path

import jsonschema
import pytest

from schemas import ConfigError, extraction_json, extraction_schema, load_taxonomy, record_schema
from schemas.__main__ import write_schemas

ROOT = Path(__file__).resolve().parents[2]


def test_default_taxonomy_has_the_documented_labels():
    tax = load_taxonomy()
    assert tax.intent_names == ["recommend", "find_title", "similar_to", "title_info", "where_to_watch",
                                "play", "out_of_scope"]
    assert len(tax.entity_names) == 14 and {"plot", "setting", "theme", "mood"} <= set(tax.entity_names)


def test_committed_json_schemas_are_regenerated_from_the_taxonomy(tmp_path):
    for path in write_schemas(ROOT / "schemas/taxonomy.yaml", tmp_path):
        assert path.read_text() == (ROOT / "schemas" / path.name).read_text(), f"run `make schemas` ({path.name})"


def test_extraction_schema_is_openai_strict_compatible():
    s = extraction_schema(load_taxonomy(), strict=True)

    def walk(node):
        if node.get("type") == "object":
            assert node["additionalProperties"] is False
            assert set(node["required"]) == set(node["properties"])
            for child in node["properties"].values():
                walk(child)
        if node.get("type") == "array":
            walk(node["items"])
        assert "maxLength" not in node  # not supported by strict structured outputs
    walk(s)


def test_extraction_json_is_compact_and_valid():
    tax = load_taxonomy()
    text = extraction_json("recommend", [{"type": "genre", "value": "fantasy", "start": 0, "end": 7}])
    assert text == '{"intent":"recommend","entities":[{"value":"fantasy","type":"genre"}]}'
    jsonschema.validate(json.loads(text), extraction_schema(tax))
    ruled_out = extraction_json("recommend", [{"type": "genre", "value": "horror", "exclude": True}])
    assert ruled_out == '{"intent":"recommend","entities":[{"value":"horror","type":"genre","exclude":true}]}'
    jsonschema.validate(json.loads(ruled_out), extraction_schema(tax))
    title_out = {"intent": "play", "entities": [{"type": "title", "exclude": True, "value": "Up"}]}
    with pytest.raises(jsonschema.ValidationError):  # a title cannot be ruled out (taxonomy exclusion.types)
        jsonschema.validate(title_out, extraction_schema(tax))


def test_record_schema_rejects_unknown_labels():
    tax = load_taxonomy()
    rec = {"id": "1", "query": "q", "intent": "bogus", "entities": [], "split": "train", "meta": {}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(rec, record_schema(tax))


def test_bad_taxonomy_reports_every_problem_with_file_and_fix(tmp_path):
    bad = tmp_path / "tax.yaml"
    bad.write_text("intents:\n  play:\n    descripton: x\n    rules: {requires_any: [titel]}\n"
                   "entity_types:\n  title: {description: t}\n")
    with pytest.raises(ConfigError) as e:
        load_taxonomy(bad)
    msg = str(e.value)
    assert f"{bad}: intents.play: unknown key 'descripton' (did you mean 'description'?)" in msg
    assert "unknown entity type 'titel'" in msg
    assert len(e.value.problems) == 2


def test_span_rules_are_checked_where_they_are_written(tmp_path):
    """prefix_of belongs on a closed type and names known types; not_first on an open type."""
    (tmp_path / "year.yaml").write_text("patterns: ['(19|20)\\\\d\\\\d']\n")
    bad = tmp_path / "tax.yaml"
    bad.write_text("intents:\n  play: {description: p}\n"
                   "entity_types:\n"
                   "  title: {description: t, prefix_of: [setting]}\n"
                   "  year: {description: y, lexicon: year.yaml, prefix_of: [titel], not_first: [a]}\n")
    with pytest.raises(ConfigError) as e:
        load_taxonomy(bad)
    msg = str(e.value)
    assert f"{bad}: entity_types.title.prefix_of: only a closed type" in msg
    assert f"{bad}: entity_types.year.prefix_of: unknown entity type 'titel'" in msg
    assert f"{bad}: entity_types.year.not_first: a closed type's lexicon already decides its spans" in msg
    assert load_taxonomy().prefixes == {"year": ("title", "setting")}
    assert set(load_taxonomy().not_first) == {"actor", "director", "character"}
