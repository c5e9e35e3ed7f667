"""config -> frames -> backend -> verify -> dedup -> balance -> dataset folder."""

from __future__ import annotations

import hashlib
import json
import math
import platform
import sys
import time
from collections import Counter
from importlib import metadata
from pathlib import Path
from typing import Any

from tqdm import tqdm

from schemas.atomic import atomic_folder, pause_point
from schemas.outputs import check_output_folder, mark_output_folder
from synth.config import DataConfig, required_records
from synth.dedup import Deduper
from synth.exclusions import skipped_reason
from synth.frames import FrameSampler, largest_remainder, split_counts
from synth.kg import kg_summary, load_kg
from synth.paraphrase import ParaphraseConfig, Paraphraser
from synth.templates import Grammar
from synth.types import Backend
from synth.verify import Verifier
from synth.writer import verify_manifest, write_dataset

VERSIONED = ("jsonschema", "pyarrow", "rapidfuzz", "pyyaml", "jinja2", "openai")
# Kept across rewrites of the output folder (openai cache_dir: null), with sqlite's write-ahead log.
CARRIED = ("openai_cache.sqlite", "openai_cache.sqlite-wal", "paraphrase_cache.sqlite",
           "paraphrase_cache.sqlite-wal")
# A dataset folder written before output folders carried the marker (schemas.outputs) has this manifest.
DATASET_MARK = (("manifest.json", "\"sha256\""),)


class Shortfall(Exception):
    """Fewer records than the recipe asked for, and fewer than its `min_records` allows."""


def _cache_beside_dataset(cfg: DataConfig) -> bool:
    """Whether the openai backend or the paraphrase stage keeps its answer cache in the output folder."""
    openai_here = cfg.backend == "openai" and not (cfg.openai or {}).get("cache_dir")
    paraphrase = ParaphraseConfig.from_resolved(cfg.paraphrase)
    return openai_here or (paraphrase.on and not paraphrase.client.cache_dir)


def make_backend(cfg: DataConfig, grammar: Grammar, progress: bool = True) -> Backend:
    """The backend named in the recipe; imports are lazy so the grammar path needs no model code."""
    if cfg.backend == "grammar":
        from synth.backends.grammar import GrammarBackend
        from synth.noise import NoiseConfig

        return GrammarBackend(grammar, NoiseConfig.from_mapping(cfg.grammar.get("noise") or {}), cfg.seed,
                              cfg.tax.closed_types)
    if cfg.backend == "openai":
        from synth.backends.openai_backend import OpenAIBackend

        return OpenAIBackend(cfg.openai, cfg.tax, where=f"{cfg.path}: openai", out_dir=Path(cfg.out),
                             seed=cfg.seed, progress=progress)
    from synth.backends.local import LocalBackend

    return LocalBackend(cfg.local, cfg.tax, where=f"{cfg.path}: local")


def _selection_key(seed: int, rid: str) -> str:
    # A seeded pseudo-random order, so trimming to the quota keeps every split's share.
    return hashlib.sha1(f"{seed}:{rid}".encode()).hexdigest()


def balance_report(records: list[dict[str, Any]], cfg: DataConfig) -> dict[str, Any]:
    n = max(len(records), 1)
    intents = Counter(r["intent"] for r in records)
    types = Counter(t for r in records for t in {e["type"] for e in r["entities"]})
    report: dict[str, Any] = {"intents": {}, "entity_types": {}, "warnings": []}
    for i, target in cfg.intents.items():
        report["intents"][i] = {"target": round(target, 4), "achieved": round(intents[i] / n, 4),
                                "count": intents[i]}
        if intents[i] / n < target * 0.98:
            report["warnings"].append(f"intent {i}: {intents[i] / n:.3f} below target {target:.3f}")
    for t in cfg.tax.entity_names:
        target = cfg.entity_targets.get(t)
        report["entity_types"][t] = {"target": target, "achieved": round(types[t] / n, 4), "count": types[t]}
        if target is not None and types[t] / n < target:
            report["warnings"].append(
                f"entity type {t}: {types[t] / n:.3f} of records below target {target:.3f}")
    return report


def build_dataset(cfg: DataConfig, progress: bool = True) -> dict[str, Any]:
    """Generate, verify, dedup and balance `cfg.n` records; write them to `cfg.out`. Returns the manifest."""
    t0 = time.perf_counter()
    check_output_folder(cfg.out, DATASET_MARK)  # before any work: a foreign --out is refused at once
    if _cache_beside_dataset(cfg):  # an answer cache is written into the folder before the dataset is
        mark_output_folder(cfg.out)
    kg = load_kg(Path(cfg.kg), cfg.tax)
    grammar = Grammar.load(Path(cfg.grammar.get("templates", "synth/grammar")), cfg.tax,
                           compositions=cfg.grammar.get("compositions", True))
    backend = make_backend(cfg, grammar, progress)
    sampler = FrameSampler(kg, grammar, cfg)
    verifier = Verifier(cfg.tax, cfg.backend)
    deduper = Deduper(cfg.near_dedup, cfg.near_threshold)
    quotas = largest_remainder(cfg.n, cfg.intents)
    kept: dict[str, list[dict[str, Any]]] = {i: [] for i in quotas}
    frames_made = 0
    for round_idx in range(cfg.max_rounds + 1):
        short = {i: q - len(kept[i]) for i, q in quotas.items() if len(kept[i]) < q}
        if not short:
            break
        factor = cfg.oversample * 1.5 ** round_idx
        counts = {i: split_counts(math.ceil(k * factor), cfg) for i, k in short.items()}
        frames = list(sampler.sample(counts, round_idx))
        frames_made += len(frames)
        bar = tqdm(total=len(frames), desc=f"synth[{cfg.backend}] round {round_idx}", disable=not progress,
                   unit="q")
        realized = []
        for r in backend.realize(frames):
            realized.append(r)
            bar.update()
        # Backends may answer out of order (async APIs); verify and dedup in frame order for determinism.
        for r in sorted(realized, key=lambda r: r.frame.id):
            rec = verifier(r)
            if rec is not None and deduper.add(rec):
                kept[rec["intent"]].append(rec)
        bar.set_postfix(kept=sum(len(v) for v in kept.values()), **verifier.rejections)
        bar.close()
        pause_point(f"synth:round-{round_idx}")
    records = []
    for intent, quota in quotas.items():
        pool = sorted(kept[intent], key=lambda r: _selection_key(cfg.seed, r["id"]))
        records += pool[:quota]
    records.sort(key=lambda r: r["id"])
    required = required_records(cfg)
    if len(records) < required:
        lost = {**verifier.rejections, **{f"duplicate_{k}": v for k, v in deduper.dropped.items()}}
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(lost.items())) or "none"
        raise Shortfall(f"kept {len(records)} of the {cfg.n} records asked (at least {required} required; "
                        f"rejected: {reasons}); {cfg.out} left as it was. To accept fewer, set "
                        f"min_records in {cfg.path}")
    paraphrase = ParaphraseConfig.from_resolved(cfg.paraphrase)
    paraphrase_summary = None
    if paraphrase.on:
        # The cache sits beside the dataset (carried across rewrites) unless the endpoint names its own.
        folder = Path(paraphrase.client.cache_dir or cfg.out)
        folder.mkdir(parents=True, exist_ok=True)
        stage = Paraphraser(paraphrase, cfg.tax, cfg.seed, folder, progress)
        records = stage.run(records)
        paraphrase_summary = stage.summary()
        pause_point("synth:paraphrased")

    n_frames_verified = sum(verifier.rejections.values()) + sum(deduper.dropped.values()) \
        + sum(len(v) for v in kept.values())
    manifest = {
        "name": cfg.name,
        "seed": cfg.seed,
        "config": cfg.resolved(),
        "versions": {"python": platform.python_version(),
                     **{p: metadata.version(p) for p in VERSIONED if _installed(p)}},
        "counts": {
            "records": len(records),
            "frames": frames_made,
            "by_split": dict(sorted(Counter(r["split"] for r in records).items())),
            "by_intent": dict(sorted(Counter(r["intent"] for r in records).items())),
            "by_entity_type": dict(sorted(
                Counter(e["type"] for r in records for e in r["entities"]).items())),
            "exclusions": {**exclusion_counts(records),
                           **({"skipped_reason": why} if (why := skipped_reason(cfg)) else {})},
        },
        "rejections": dict(sorted(verifier.rejections.items())),
        "rejection_rate": round(sum(verifier.rejections.values()) / max(n_frames_verified, 1), 4),
        "repairs": dict(sorted(verifier.repairs.items())),
        "duplicates_dropped": dict(sorted(deduper.dropped.items())),
        "balance": balance_report(records, cfg),
        "shortfall": {"requested": cfg.n, "kept": len(records), "min_records": required},
        "heldout_partition": _heldout_summary(sampler, cfg),
        "entity_targets_fit": sampler.fit_summary(),
        # Open pools (synth/pools.py): how many made-up values each side could draw from.
        "open_pools": {"share": sampler.open_cfg.share,
                       "sizes": sampler.open.sizes() if sampler.open is not None else {}},
        "kg": kg_summary(kg),
        "usage": getattr(backend, "usage_summary", lambda: {})(),
        # Every noise knob as used, defaults included, so the manifest alone reproduces the text.
        "noise": backend.noise.to_dict() if hasattr(backend, "noise") else None,
        "paraphrase": paraphrase_summary,
    }
    # Built beside the output and swapped in whole: a failure or a kill keeps the previous dataset.
    with atomic_folder(Path(cfg.out), carry=CARRIED, legacy=DATASET_MARK) as tmp:
        manifest = write_dataset(tmp, records, cfg.system_prompt, manifest)
        # Wall time lives apart from the manifest so the manifest stays byte-identical across reruns.
        elapsed = time.perf_counter() - t0  # paraphrase stage included
        timing = {"seconds": round(elapsed, 2), "records_per_s": round(len(records) / max(elapsed, 1e-9), 1),
                  "argv": sys.argv}
        (tmp / "timing.json").write_text(json.dumps(timing, indent=2) + "\n")
        if problems := verify_manifest(tmp):
            raise RuntimeError(f"dataset failed its own manifest check, not installed: {problems[0]}")
    return manifest


def exclusion_counts(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Excluded entities per type and per split, clause uses per id (exclusion and look-alike), and
    how many records carry any."""
    excluded = [(r, e) for r in records for e in r["entities"] if e.get("exclude")]
    clauses = Counter(c for r in records for key in ("exclusion_clauses", "lookalike_clauses")
                      for c in r["meta"].get(key, []))
    return {
        "records_with_exclusions": sum(any(e.get("exclude") for e in r["entities"]) for r in records),
        "records_with_lookalikes": sum(bool(r["meta"].get("lookalike_clauses")) for r in records),
        "excluded_entities": len(excluded),
        "by_type": dict(sorted(Counter(e["type"] for _, e in excluded).items())),
        "by_split": dict(sorted(Counter(r["split"] for r, _ in excluded).items())),
        "by_clause": dict(sorted(clauses.items())),
    }


def _heldout_summary(sampler: FrameSampler, cfg: DataConfig) -> dict[str, Any]:
    """What the heldout split reserves; nothing under the random strategy (both sides share all)."""
    if cfg.split.strategy != "heldout":
        return {"titles": 0, "people": 0, "templates": [], "clauses": []}
    part = sampler.part
    return {"titles": len(part.titles[True]), "people": len(part.people[True]),
            "templates": sorted(t.id for ts in part.templates[True].values() for t in ts),
            "clauses": sorted(c.id for c in part.clauses[True])}


def _installed(pkg: str) -> bool:
    try:
        metadata.version(pkg)
        return True
    except metadata.PackageNotFoundError:
        return False
