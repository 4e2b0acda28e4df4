#!/usr/bin/env bash
# vLLM against HF generate on one H200, alone on the GPU (issue 6); the third try: vLLM 0.22's sampler imports FlashInfer
# unless VLLM_USE_FLASHINFER_SAMPLER=0, which med_llm_ft.serving now sets when FlashInfer is not installed.
set -u
cd "$(dirname "$0")/../.."
source tools/gpu/setup.sh
mkdir -p /tmp/vw && cat /tmp/chunks/vllm.* | tar -x -C /tmp/vw && \
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/vsite /tmp/vw/slim/*.whl || exit 1
nvidia-smi --query-gpu=name --format=csv,noheader
PYTHONPATH=/tmp/vsite:$PYTHONPATH timeout 500 python3 bench/bench_vllm.py --model /tmp/models/smol.gguf --data /tmp/shared/data/pubmedqa \
  > $OUT/vllm_bench.json 2> $OUT/vllm_bench.err
echo "rc=$?"; cat $OUT/vllm_bench.json; grep -E "Error|error" $OUT/vllm_bench.err | tail -5
