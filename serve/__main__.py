"""Serve a trained run over HTTP: POST /v1/parse, POST /v1/search, GET /healthz, a page at /, docs at /docs.

Usage: python -m serve --run runs/x [--host 127.0.0.1] [--port 8000] [--config serve/config.yml]
                       [--eval-config eval/config.yml]

The run folder must hold the adapter and run_card.json (its resolved base model and trained prompt);
decoding settings come from eval/config.yml's `decode` section, the service's own from serve/config.yml.

SERVE_API_KEY (environment): when set, every /v1/ request must send `Authorization: Bearer <key>`.
A host other than loopback is refused without it, unless serve/config.yml says
allow_unauthenticated_remote: true.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import sys
from pathlib import Path
from typing import Any

from schemas import ConfigError


def main(argv: list[str] | None = None) -> None:
    from eval.config import DEFAULT_CONFIG as EVAL_CONFIG
    from serve.config import DEFAULT_CONFIG

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", type=Path, required=True, help="run folder written by make train")
    ap.add_argument("--host", help="default from the config (127.0.0.1)")
    ap.add_argument("--port", type=int, help="default from the config (8000)")
    ap.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    ap.add_argument("--eval-config", type=Path, default=EVAL_CONFIG, help="its decode section")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        app, cfg = build(args.run, args.config, args.eval_config, args.host, args.port,
                         os.environ.get("SERVE_API_KEY") or None)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    import uvicorn

    print(f"serving {args.run} on http://{cfg.host}:{cfg.port} (docs at /docs)", flush=True)
    uvicorn.run(app, host=cfg.host, port=cfg.port, log_level="warning")


def build(run: Path, config: Path, eval_config: Path, host: str | None = None, port: int | None = None,
          api_key: str | None = None) -> tuple[Any, Any]:
    """The app and its config; every check (configs, exposure, run folder) runs before the model loads."""
    from decoding.parser import DecodeSettings, Parser, read_run
    from eval.config import load_eval_config
    from serve.app import create_app
    from serve.config import load_serve_config

    cfg = load_serve_config(config, host=host, port=port)
    check_exposure(cfg.host, api_key, cfg.allow_unauthenticated_remote, config)
    settings = DecodeSettings.of(load_eval_config(eval_config).decode)
    base, _ = read_run(run)  # one-line error before the slow load
    from decoding.precision import resolve_dtype
    from search import search
    from search.query import default_engine

    parser = Parser.from_run(run, settings, grammar_cache_bytes=cfg.grammar_cache_mb << 20)
    default_engine()  # the KG tables load now, not on the first /v1/search
    # Names, not paths: /healthz is public and the layout of the disk is nobody's business.
    info = {"model": {"base": base.resolve().name, "run": run.resolve().name}, "engine": settings.engine,
            "mode": settings.mode, "dtype": resolve_dtype(settings.dtype)}
    health = lambda: {"grammar_cache_bytes": parser.grammar_cache_size(),  # noqa: E731
                      "grammar_cache_limit_bytes": cfg.grammar_cache_mb << 20}
    return create_app(parser.parse_many, cfg, info, lambda ex, q: search(ex, q), api_key, health), cfg


def check_exposure(host: str, api_key: str | None, allowed: bool, config: Path) -> None:
    """A service reachable beyond this machine needs a key, or the config's explicit consent."""
    if api_key or allowed or is_loopback(host):
        return
    raise ConfigError([f"host {host} is reachable beyond this machine and SERVE_API_KEY is not set; set "
                       f"SERVE_API_KEY, or allow_unauthenticated_remote: true in {config}, or use 127.0.0.1"])


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name may resolve anywhere


if __name__ == "__main__":
    main()
