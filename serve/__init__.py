"""HTTP service for a trained run: `make serve RUN=runs/x` (python -m serve)."""
