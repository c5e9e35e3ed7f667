#!/usr/bin/env bash
# GPU check for recipes/llama-3.2-3b-lora.yml on one H100 (or any one CUDA GPU), offline, <= 8 min.
#
#   bash scripts/gpu_check.sh                      (from anywhere; runs in the repo root)
#   GPU_CHECK_AXOLOTL=0 bash scripts/gpu_check.sh  (phase 1 only)
#
# Phase 1 (~2 min, always): scripts/gpu_check.py bench. A random-init model from the published
#   Llama-3.2-3B config (scripts/llama-3.2-3b-config.json) is built on the GPU in bf16; the recipe's
#   LoRA (r, alpha, dropout, all linear layers), optimizer, learning rate, micro batch,
#   sequence_len and gradient checkpointing train on packed synthetic chat-length documents with
#   flash attention (flash-attn if installed, else PyTorch's varlen flash kernel, checked against
#   SDPA first). Prints tokens/s, peak GPU memory and MFU (see gpu_check.py's docstring).
#   Needs python3 with CUDA torch, transformers >= 5, peft, pyyaml: the GPU image has all four.
# Phase 2 (<= 4.5 min, GPU_CHECK_AXOLOTL=auto|1|0, default auto): the same recipe end to end through
#   `python -m train` -> `axolotl train` for 30 steps on that random model saved to /tmp, with a
#   Llama-3-special-token tokenizer trained on the chat data (data/default if carried, else a
#   generated fixture). axolotl is not in the GPU image and nothing can be downloaded there, so it
#   runs only if axolotl imports, after installing any wheels carried in .whl/:
#     echo /.whl/ >> .git/info/exclude
#     python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
#       --platform manylinux2014_x86_64 -d .whl axolotl==0.19.0 datasets==4.8.4 trl==1.9.0 ...
#   then carry .whl (and data/default/chat). axolotl 0.19 declares ~40 packages the image lacks
#   (bitsandbytes, xformers, torchao, liger-kernel, ... several tens of MB each), so a full set
#   rarely fits the 64 MiB a device call carries; auto mode then prints why phase 2 was skipped.
# Results: printed; also $OUT/gpu_check.json and $OUT/axolotl_train.log when OUT is set.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
RESULTS=${OUT:-/tmp/gpu_check}
WORK=/tmp/gpu_check_work
mkdir -p "$RESULTS" "$WORK"
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 \
       AXOLOTL_DO_NOT_TRACK=1 WANDB_MODE=disabled TOKENIZERS_PARALLELISM=false

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
"$PY" -c 'import torch, transformers, peft
print("torch", torch.__version__, "cuda", torch.version.cuda, "transformers", transformers.__version__,
      "peft", peft.__version__, "gpu", torch.cuda.get_device_name() if torch.cuda.is_available() else None)'

echo "== phase 1: recipe settings on a random-init Llama-3.2-3B (pure PyTorch/transformers/peft)"
timeout 300 "$PY" scripts/gpu_check.py bench --steps 10 --warmup 3 --out "$RESULTS/gpu_check.json"

# Phase 3 (decode.engine: vllm, when vLLM imports; before phase 2, which may exit early): the grounded
# grammar through vLLM's structured outputs on the materialised SmolLM2 (carry
# models/smollm2-135m-instruct), every value a span of its query.
if "$PY" -c 'import vllm' 2>/dev/null && [ -f models/smollm2-135m-instruct/config.json ]; then
    PYTHONPATH=$PWD "$PY" scripts/vllm_check.py --model models/smollm2-135m-instruct | tee "$RESULTS/vllm_check.json"
else
    echo "phase 3 skipped: vllm not importable or models/smollm2-135m-instruct not carried"
fi

mode=${GPU_CHECK_AXOLOTL:-auto}
if [ "$mode" = 0 ]; then
  exit 0
fi
echo "== phase 2: the recipe through python -m train / axolotl train"
if ! "$PY" -c 'import axolotl' 2>/dev/null && compgen -G '.whl/*.whl' >/dev/null; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
if ! "$PY" -c 'import axolotl.cli.main' >"$RESULTS/axolotl_import.log" 2>&1; then
  echo "phase 2 skipped: axolotl does not import here (last lines of the error below; see the header)"
  tail -n 3 "$RESULTS/axolotl_import.log"
  [ "$mode" = 1 ] && exit 1
  exit 0
fi
data=data/default
if [ ! -f "$data/chat/train.jsonl" ]; then
  data=$WORK/data
  "$PY" -m tests.helpers.fixture --out "$data" --n 4000
fi
status=0
timeout 270 "$PY" scripts/gpu_check.py axolotl --data "$data" --work "$WORK" --steps 30 \
  >"$RESULTS/axolotl_train.log" 2>&1 || status=$?
tail -n 25 "$RESULTS/axolotl_train.log"
if [ -f "$WORK/run/run_card.json" ]; then
  "$PY" -c 'import json, sys; c = json.load(open(sys.argv[1]))
print({k: c.get(k) for k in ("steps", "seconds_per_step", "train_tokens_per_s", "first_train_loss",
                              "final_train_loss", "final_eval_loss", "wall_time_s")})' "$WORK/run/run_card.json"
fi
echo "phase 2 exit status: $status"

exit "$status"
