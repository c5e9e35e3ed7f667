"""decode.engine: vllm on a GPU machine (scripts/gpu_check.sh phase 3): parse a few queries through
vLLM with each query's grounded grammar and check every value is a span of its query.

Usage: python scripts/vllm_check.py --model models/smollm2-135m-instruct [--adapter runs/x]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from decoding.parser import DecodeSettings, Parser

QUERIES = ["who directed Parasite", 'is "Amélie" on Netflix', "any uplifting comedies from the 90s?",
           "play Inception", "something like Spirited Away but darker"] * 20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--adapter", type=Path)
    args = ap.parse_args()
    parser = Parser(args.model, args.adapter, "Extract the search intent and entities as JSON.",
                    settings=DecodeSettings(engine="vllm", max_value_chars=24, max_entities=2))
    t0 = time.perf_counter()
    parsed = parser.parse_many(QUERIES)
    seconds = time.perf_counter() - t0
    bad = [(q, p) for q, p in zip(QUERIES, parsed, strict=True)
           if p["status"] != "ok" or any(q[e["start"]:e["end"]] != e["value"] for e in p["entities"])]
    print(json.dumps({"queries": len(QUERIES), "queries_per_s": round(len(QUERIES) / seconds, 1),
                      "not_ok_or_ungrounded": len(bad), "example": parsed[1]}, ensure_ascii=False))
    raise SystemExit(1 if bad else 0)


if __name__ == "__main__":
    main()
