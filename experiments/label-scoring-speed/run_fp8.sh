#!/usr/bin/env bash
# The FP8 run on one H200 (the experiment's section on float8 linears), in one unattended job: start it with setsid, collect with
# tools/gpu/wait.sh (the lent machine goes back 30 s after a call ends). Results go to /tmp/res.
# Prerequisites (earlier calls): .device/base/whl (liger-kernel, gguf), .device/ls/tok and .device/ls/dat (the SmolLM2 tokenizer, PubMedQA),
# in /tmp/chunks the packaged SmolLM2 GGUF (smol.*) and the vLLM 0.22.0 wheels (vllm.*: tools/gpu/vllm_wheels.md).
set -u
cd "$(dirname "$0")/../.."
source tools/gpu/setup.sh
R=/tmp/res; mkdir -p $R
log() { echo "$(date +%T) $*" | tee -a $R/timeline.txt; }
log "start; $(nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null); models: $(ls /tmp/models 2>/dev/null | tr '\n' ' ')"
VP=$PYTHONPATH
if [ "$(ls /tmp/chunks/vllm.* 2>/dev/null | wc -l)" -gt 0 ]; then
  mkdir -p /tmp/vw && cat /tmp/chunks/vllm.* | tar -x -C /tmp/vw && \
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/vsite /tmp/vw/slim/*.whl
  log "vllm wheels rc=$? ($(ls /tmp/vw/slim | wc -l))"; VP=/tmp/vsite:$PYTHONPATH
  PYTHONPATH=$VP timeout 300 python3 -c "import vllm, vllm.entrypoints.llm, humming; print(vllm.__version__)" > $R/vllm_import.log 2>&1
  log "vllm import: $(tail -n 1 $R/vllm_import.log)"
fi
B="python3 bench/bench_label_scoring.py --tokenizer ${TOK:-.device/ls/tok} --data ${DATA:-.device/ls/dat} --no-lm-eval ${EXTRA:-}"
timeout 240 $B --run pubmedqa@${SMOL:-/tmp/models/smol.gguf} --fp8 --out $R/label_scoring_h200_smollm2_real_fp8.json > $R/real.log 2>&1
log "real SmolLM2 fp8 rc=$?"
timeout 360 $B --run mcq@${SHAPE_MCQ:-shape:qwen2.5-1.5b} --liger --fp8 --profile --out $R/label_scoring_h200_mcq_fp8.json > $R/mcq.log 2>&1
log "mcq rc=$?"
PYTHONPATH=$VP timeout 480 $B --run mcq@${SHAPE_MCQ:-shape:qwen2.5-1.5b} --vllm --vllm-chunk 1000000 --vllm-quant fp8 --out $R/label_scoring_h200_mcq_vllm_fp8.json > $R/mcq_vllm.log 2>&1
log "mcq vllm rc=$?"
PYTHONPATH=$VP timeout 480 $B --run pubmedqa@${SHAPE_PQA:-shape:smollm2-135m} --liger --fp8 --vllm --vllm-chunk 1000000 --out $R/label_scoring_h200_pubmedqa_fp8.json > $R/pubmedqa.log 2>&1
log "pubmedqa rc=$?"
touch $R/DONE
