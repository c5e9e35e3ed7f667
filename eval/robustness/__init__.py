"""Robustness: Macro-F1 of a run on perturbed copies of a test split, and the drop from the clean copy.

Usage: python -m eval.robustness [--run runs/x] --data data/x [--config eval/robustness/config.yml]
                                 [--eval-config eval/config.yml] [--limit N] [--systems finetuned,baseline]
                                 [--force] [--allow-other-data]

--run defaults to the newest run with an adapter (as `make eval`); as there, the fine-tuned system is
refused on a --data other than the run's training data unless --allow-other-data. Decoding uses
eval/config.yml's decode settings and the fine-tuned system prompt, exactly as the evaluation does; scoring
is eval.score (sql/scoring).
Writes into runs/x/robustness/:
  sets/<perturbation>-<severity>.jsonl   the perturbed records (evaluation data only: never train on them)
  <system>/<set>/                        predictions.parquet, metrics.json, tables/ (eval.score)
  robustness.md, robustness.html, robustness.json
"""

from eval.robustness.config import DEFAULT_CONFIG, RobustnessConfig, load_robustness_config
from eval.robustness.run import run_robustness

__all__ = ["DEFAULT_CONFIG", "RobustnessConfig", "load_robustness_config", "run_robustness"]
