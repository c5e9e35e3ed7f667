"""End to end: recipe -> verified dataset folder, with the grammar backend (offline, seconds)."""

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pyarrow.parquet as pq
import pytest
import yaml

from schemas import load_taxonomy, record_schema
from synth.config import load_data_config
from synth.pipeline import build_dataset

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = ROOT / "recipes/data/default.yml"
PEOPLE = ("title", "actor", "director", "character")
INTENTS = yaml.safe_load(DEFAULT.read_text())["intents"]


def build(tmp_path: Path, n=600, seed=13, name="ds", **over):
    cfg = load_data_config(DEFAULT, {"n": n, "seed": seed, "out": str(tmp_path / name), **over})
    return cfg, build_dataset(cfg, progress=False)


def read(out: Path, split: str) -> list[dict]:
    path = out / f"{split}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pipeline")
    cfg, manifest = build(tmp, n=1200)
    return Path(cfg.out), manifest


def test_writes_exactly_n_valid_grounded_records(dataset):
    out, manifest = dataset
    validator = jsonschema.Draft202012Validator(record_schema(load_taxonomy()))
    records = [r for s in ("train", "validation", "test", "heldout") for r in read(out, s)]
    assert len(records) == 1200 == manifest["counts"]["records"]
    assert len({r["id"] for r in records}) == 1200
    for r in records:
        validator.validate(r)
        for e in r["entities"]:
            assert r["query"][e["start"]:e["end"]] == e["value"], r
    assert set(manifest["counts"]["by_split"]) == {"train", "validation", "test", "heldout"}


def test_heldout_shares_no_template_title_or_person_with_train(dataset):
    out, _ = dataset
    train, held = read(out, "train"), read(out, "heldout")
    assert held, "no heldout split"
    assert not {r["meta"]["template_id"] for r in train} & {r["meta"]["template_id"] for r in held}
    values = lambda rs: {e["value"].lower() for r in rs for e in r["entities"] if e["type"] in PEOPLE}  # noqa: E731
    assert not values(train) & values(held)
    seeds = lambda rs: {r["meta"]["seed_title"] for r in rs} - {None}  # noqa: E731
    assert not seeds(train) & seeds(held)


def test_chat_files_and_manifest_hashes(dataset):
    out, manifest = dataset
    line = json.loads((out / "chat/train.jsonl").read_text().splitlines()[0])
    roles = [m["role"] for m in line["messages"]]
    assert roles == ["system", "user", "assistant"]
    target = json.loads(line["messages"][2]["content"])
    assert set(target) == {"intent", "entities"}
    assert manifest["system_prompt"] == line["messages"][0]["content"]
    import hashlib
    for rel, digest in manifest["sha256"].items():
        assert hashlib.sha256((out / rel).read_bytes()).hexdigest() == digest
    table = pq.read_table(out / "train.parquet")
    assert table.num_rows == len(read(out, "train"))
    assert manifest["balance"]["intents"]["recommend"]["achieved"] == pytest.approx(0.28, abs=0.01)


def test_same_seed_gives_byte_identical_output_and_other_seed_differs(tmp_path):
    (a, _), (b, _), (c, _) = (build(tmp_path, n=300, name=x, seed=s) for x, s in (("a", 1), ("b", 1), ("c", 2)))
    files = sorted(p.relative_to(a.out) for p in Path(a.out).rglob("*") if p.is_file() and p.name != "timing.json")
    assert len(files) >= 10
    for rel in files:
        left, right = (Path(x.out) / rel for x in (a, b))
        if rel.name == "manifest.json":  # identical but for the output folder it records
            left, right = (json.loads(p.read_text()) for p in (left, right))
            assert left["config"].pop("out") != right["config"].pop("out")
        else:
            left, right = left.read_bytes(), right.read_bytes()
        assert left == right, rel
    assert (Path(a.out) / "train.jsonl").read_bytes() != (Path(c.out) / "train.jsonl").read_bytes()
    assert b'"exclude": true' in (Path(a.out) / "train.jsonl").read_bytes()  # exclusions were drawn too


def test_every_data_recipe_checks_ok():
    recipes = sorted((ROOT / "recipes/data").glob("*.yml"))
    for path in recipes:
        proc = subprocess.run([sys.executable, "-m", "synth", "--config", str(path), "--check"],
                              capture_output=True, text=True, cwd=ROOT)
        assert proc.returncode == 0 and proc.stdout.startswith("OK "), (path, proc.stderr)
    assert len(recipes) == 6


def test_renamed_labels_flow_through_without_code_change(tmp_path):
    import shutil

    tax = yaml.safe_load((ROOT / "schemas/taxonomy.yaml").read_text())
    tax["entity_types"]["story_element"] = {**tax["entity_types"].pop("plot"), "source": "plot"}
    tax["exclusion"]["types"] = ["story_element" if t == "plot" else t for t in tax["exclusion"]["types"]]
    tax["intents"]["start_playback"] = tax["intents"].pop("play")
    shutil.copytree(ROOT / "schemas/lexicons", tmp_path / "lexicons")
    shutil.copy(ROOT / "schemas/negation.yaml", tmp_path / "negation.yaml")
    (tmp_path / "tax.yaml").write_text(yaml.safe_dump(tax))
    grammar = tmp_path / "grammar"
    grammar.mkdir()
    for f in (ROOT / "synth/grammar").glob("*.yml"):
        text = f.read_text()
        (grammar / f.name).write_text(text.replace("intent: play\n", "intent: start_playback\n"))
    recipe = yaml.safe_load(DEFAULT.read_text())
    recipe["intents"]["start_playback"] = recipe["intents"].pop("play")
    recipe["entity_targets"]["story_element"] = recipe["entity_targets"].pop("plot")
    recipe.update(taxonomy=str(tmp_path / "tax.yaml"), out=str(tmp_path / "out"), n=400)
    recipe["grammar"]["templates"] = str(grammar)
    (tmp_path / "recipe.yml").write_text(yaml.safe_dump(recipe))
    manifest = build_dataset(load_data_config(tmp_path / "recipe.yml"), progress=False)
    assert manifest["counts"]["by_intent"]["start_playback"] > 0
    assert manifest["counts"]["by_entity_type"]["story_element"] > 0
    assert "plot" not in manifest["counts"]["by_entity_type"]
    chat = (tmp_path / "out/chat/train.jsonl").read_text()
    assert '\\"type\\":\\"story_element\\"' in chat and '\\"intent\\":\\"start_playback\\"' in chat


@pytest.mark.parametrize("patch, expected", [
    ({"seeed": 3}, "unknown key 'seeed' (did you mean 'seed'?)"),
    ({"intents": {**INTENTS, "recomend": 1}}, "intents: unknown label 'recomend'"),
    ({"kg": "no/such/folder"}, "kg folder 'no/such/folder' not found"),
    ({"split": {"strategy": "heldout", "stratgy": "x"}}, "split: unknown key 'stratgy' (did you mean 'strategy'?)"),
    # Every share is range-checked at load, naming the key and the allowed range.
    ({"split": {"heldout_templates": 1.0}}, "split.heldout_templates: must be a number in (0, 1), got 1.0"),
    ({"split": {"heldout_entities": 0}}, "split.heldout_entities: must be a number in (0, 1), got 0"),
    ({"split": {"test": "0,05"}}, "split.test: must be a number in [0, 1), got '0,05'"),
    ({"split": {"validation": -0.1}}, "split.validation: must be a number in [0, 1), got -0.1"),
    ({"entity_targets": {"title": 1.5}}, "entity_targets.title: must be a number in [0, 1], got 1.5"),
    ({"intents": {**INTENTS, "play": -1}}, "intents.play: must be a number in [0, inf), got -1"),
    ({"entity_targets_mode": "enforce"}, "entity_targets_mode: must be one of warn, fit, got 'enforce'"),
    ({"dedup": {"near_threshold": 95}}, "dedup.near_threshold: must be a number in (0, 1], got 95"),
    ({"oversample": 0.5}, "oversample: must be a number in [1, inf), got 0.5"),
    ({"split": {"heldout_templates_per_type": -1}},
     "split.heldout_templates_per_type: must be a whole number >= 0, got -1"),
    ({"split": {"heldout_templates_per_type": 2.5}},
     "split.heldout_templates_per_type: must be a whole number >= 0, got 2.5"),
    ({"grammar": {"templates": "synth/grammar", "noise": {"typo": 2}}}, "noise.typo: must be a probability"),
    ({"grammar": {"templates": "synth/grammar", "compositions": "yes"}},
     "grammar.compositions: must be true or false, got 'yes'"),
    # Wrong types: one line each, never a traceback or one 'unknown key' per character.
    ({"seed": "13a"}, "seed: must be an integer >= 0, got '13a'"),
    ({"dedup": True}, "dedup: must be a mapping, got True"),
    ({"split": "heldout"}, "split: must be a mapping, got 'heldout'"),
    ({"grammar": {"templates": "synth/grammar", "noise": "heavy"}}, "grammar.noise: must be a mapping"),
    ({"exclusions": {"share": 0.15, "intents": ["recomend"]}},
     "exclusions.intents: unknown intent 'recomend' (did you mean 'recommend'?)"),
    ({"exclusions": {"share": 1.5, "intents": ["recommend"]}}, "exclusions.share: must be a number in [0, 1], got 1.5"),
])
def test_bad_recipe_gives_one_line_error_naming_file_and_problem(tmp_path, patch, expected):
    recipe = yaml.safe_load(DEFAULT.read_text())
    recipe.update(patch)
    path = tmp_path / "bad.yml"
    path.write_text(yaml.safe_dump(recipe))
    proc = subprocess.run([sys.executable, "-m", "synth", "--config", str(path), "--check"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and expected in lines[0], proc.stderr


@pytest.mark.parametrize("share", [0.01, 0.99])
def test_heldout_templates_never_fall_back_to_sharing(share):
    """A share that rounds to all (or none) of an intent's templates still keeps the sides disjoint."""
    from synth.frames import partition
    from synth.kg import load_kg
    from synth.templates import Grammar

    cfg = load_data_config(DEFAULT)
    cfg.split.heldout_templates = share
    part = partition(load_kg(Path(cfg.kg), cfg.tax), Grammar.load(ROOT / "synth/grammar", cfg.tax), cfg)
    for intent in cfg.intents:
        held, kept = ({t.id for t in part.templates[h][intent]} for h in (True, False))
        assert held and kept and not held & kept, intent


@pytest.mark.parametrize("seed", range(6))
def test_heldout_partition_keeps_every_name_on_one_side(seed):
    """Over the whole KG, not a sample: no title or person string is usable on both sides."""
    from synth.frames import partition
    from synth.kg import load_kg
    from synth.templates import Grammar

    cfg = load_data_config(DEFAULT, {"seed": seed})
    part = partition(load_kg(Path(cfg.kg), cfg.tax), Grammar.load(ROOT / "synth/grammar", cfg.tax), cfg)
    side = lambda h: {t.title.lower() for t in part.titles[h]} | {p.lower() for p in part.people[h]}  # noqa: E731
    assert part.titles[True] and part.people[True]
    assert not side(False) & side(True)


@pytest.mark.parametrize("seed", range(6))
def test_heldout_keeps_each_franchise_on_one_side(seed):
    """Blade Runner / Blade Runner 2049, Dune / Dune: Part Two, Alien / Aliens: never split across sides."""
    from synth.frames import partition
    from synth.kg import franchise_key, load_kg
    from synth.templates import Grammar

    cfg = load_data_config(DEFAULT, {"seed": seed})
    kg = load_kg(Path(cfg.kg), cfg.tax)
    part = partition(kg, Grammar.load(ROOT / "synth/grammar", cfg.tax), cfg)
    sides = {h: {franchise_key(t) for t in part.titles[h]} for h in (False, True)}
    assert sides[True] and not sides[False] & sides[True]
    side_of = {t.title: h for h in (False, True) for t in part.titles[h]}
    for a, b in (("Blade Runner", "Blade Runner 2049"), ("Dune", "Dune: Part Two"), ("Alien", "Aliens"),
                 ("The Godfather", "The Godfather Part II")):
        assert side_of[a] == side_of[b], (a, b)


def _partition(per_type: int, seed: int):
    from synth.frames import partition
    from synth.kg import load_kg
    from synth.templates import Grammar

    cfg = load_data_config(DEFAULT, {"seed": seed})
    cfg.split.heldout_templates_per_type = per_type
    grammar = Grammar.load(ROOT / "synth/grammar", cfg.tax)
    return cfg, grammar, partition(load_kg(Path(cfg.kg), cfg.tax), grammar, cfg)


def _pool_counts(templates):
    from collections import Counter

    return Counter(s.pool for ts in templates.values() for t in ts for s in {s.pool: s for s in t.slots}.values())


@pytest.mark.parametrize("seed, k", [(0, 6), (1, 6), (2, 6), (0, 10), (4, 10)])
def test_heldout_templates_per_type_covers_rare_types_without_leaking(seed, k):
    """With the per-intent draw alone, directors and characters rest on 2-3 heldout templates; the option
    adds train templates to heldout until each pool has k (at most half of its templates), and never
    leaves a pool or an intent without a train template."""
    _, _, plain = _partition(0, seed)
    cfg, grammar, part = _partition(k, seed)
    held, kept = _pool_counts(part.templates[True]), _pool_counts(part.templates[False])
    before = _pool_counts(plain.templates[True])
    total = held + kept
    for pool, n in total.items():
        # a pool shares templates with others, so k is reached unless half of the pool would pass
        assert held[pool] >= min(k, n // 2 - 1), (pool, held[pool], n)
        assert held[pool] <= max(before[pool], n // 2), (pool, held[pool], n)  # never more than half
        assert kept[pool] >= 1, pool
    for intent in cfg.intents:
        ids = {h: {t.id for t in part.templates[h][intent]} for h in (True, False)}
        assert ids[False] and not ids[True] & ids[False]
        assert ids[True] >= {t.id for t in plain.templates[True][intent]}  # only additions to heldout


def test_default_recipe_partition_holds_out_at_least_six_director_and_character_templates():
    """The figures the recipe quotes: the default recipe's own seed and setting (6) against the draw alone (0)."""
    cfg = load_data_config(DEFAULT)
    assert cfg.split.heldout_templates_per_type == 6
    # written templates only: composition variants never count towards the 6 (synth/frames.cover_pools)
    plain, covered = ({i: [t for t in ts if not t.composition] for i, ts in _partition(k, cfg.seed)[2].templates[True].items()}
                      for k in (0, 6))
    assert (_pool_counts(plain)["director"], _pool_counts(plain)["character"]) == (5, 11)
    assert (_pool_counts(covered)["director"], _pool_counts(covered)["character"]) == (6, 11)
    assert sum(map(len, plain.values())) == 121 and sum(map(len, covered.values())) == 126


def test_adding_templates_moves_no_drawn_template_across_sides(tmp_path):
    """Each template's side is a hash of (seed, its id): new templates in every intent leave the draw
    alone (a shuffled split re-dealt itself when 22 templates were added on 2026-12-01: 62 of 112 heldout
    templates stayed).
    cover_pools walks candidates in hash order, so only its own moves can change, when a new template
    covers a pool that an old one covered before."""
    import shutil

    import yaml

    from synth.frames import partition
    from synth.kg import load_kg
    from synth.templates import Grammar

    cfg = load_data_config(DEFAULT)
    kg = load_kg(Path(cfg.kg), cfg.tax)
    grammar_dir = shutil.copytree(ROOT / "synth/grammar", tmp_path / "grammar")
    for intent in cfg.intents:
        path = grammar_dir / f"{intent}.yml"
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        texts = [t["text"] for t in data["templates"]][:8]
        # old wording under new ids: valid slots for the intent
        data["templates"] += [{"id": f"added-{intent}-{i}", "text": "well " + text} for i, text in enumerate(texts)]
        path.write_text(yaml.safe_dump(data), encoding="utf-8")

    def sides(folder: Path, per_type: int) -> dict[str, bool]:
        cfg.split.heldout_templates_per_type = per_type
        part = partition(kg, Grammar.load(folder, cfg.tax), cfg)
        return {t.id: h for h in (True, False) for ts in part.templates[h].values() for t in ts}

    old, new = sides(ROOT / "synth/grammar", 0), sides(grammar_dir, 0)
    added = [i for i in new if i.startswith("added-")]
    assert len(added) == 8 * len(cfg.intents) and any(new[i] for i in added) and not all(new[i] for i in added)
    assert [i for i in old if old[i] != new[i]] == []
    old_c, new_c = sides(ROOT / "synth/grammar", 6), sides(grammar_dir, 6)
    moved = {i for i in old_c if old_c[i] != new_c[i]}
    covered = {i for i in old_c if old_c[i] != old[i]} | {i for i in old_c if new_c[i] != new[i]}
    assert moved <= covered, sorted(moved - covered)
    assert len(moved) <= 3, sorted(moved)


def test_compositions_leave_the_written_templates_partition_alone():
    """Composition variants are dealt by the same hash, but never counted or moved by cover_pools, so
    adding a composition keeps the written heldout templates of the default recipe (126 of them)."""
    from synth.frames import partition
    from synth.kg import load_kg
    from synth.templates import Grammar

    cfg = load_data_config(DEFAULT)
    kg = load_kg(Path(cfg.kg), cfg.tax)
    full = Grammar.load(ROOT / "synth/grammar", cfg.tax)
    written = Grammar({i: t for i, t in full.templates.items() if not t.composition}, full.folder)
    assert len(written.templates) < len(full.templates)

    def held(g):
        part = partition(kg, g, cfg)
        return {t.id for ts in part.templates[True].values() for t in ts}

    with_c, without = held(full), held(written)
    assert {i for i in with_c if not full.templates[i].composition} == without
    assert len(without) == 126 and 0 < len(with_c - without) < len(full.templates) - len(written.templates)
