#!/usr/bin/env bash
# A second GPU job, on one H200 (start it with setsid; tools/gpu/wait.sh collects /tmp/res):
#   1. vLLM against HF generate on the 500 test prompts, alone on the GPU (issue 6; the first try failed: fork after CUDA)
#   2. then together (timings of these are not reported): Qwen2.5-Coder-0.5B with the eager-attention variant E on official
#      folds 0-2 and the 3-fold report; the named recipe qwen2.5-coder-1.5b-pubmedqa as one `med-llm-ft train` command;
#      SmolLM2 trained in float16 with 4-bit weights for 30 steps (the T4 code path: fp16 autocast, loss scaler, fp32 adapters)
set -u
cd "$(dirname "$0")/../.."
source tools/gpu/setup.sh
R=/tmp/res; mkdir -p $R
log() { echo "$(date +%T) $*" | tee -a $R/timeline.txt; }
DATA=/tmp/shared/data/pubmedqa
log "start; $(nvidia-smi --query-gpu=name,memory.total --format=csv,noheader)"
if [ ! -f /tmp/vsite/.ok ]; then
  mkdir -p /tmp/vw && cat /tmp/chunks/vllm.* | tar -x -C /tmp/vw && \
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/vsite /tmp/vw/slim/*.whl && touch /tmp/vsite/.ok
  log "vllm wheels installed"
fi
python3 -c "from med_llm_ft.data import resolve_model; print(resolve_model('/tmp/models/smol.gguf'))" > $R/convert.log 2>&1
(for m in q05 q15; do python3 -c "from med_llm_ft.data import resolve_model; print(resolve_model('/tmp/models/$m.gguf'))" >> $R/convert.log 2>&1; done; log "qwen converted") &
CONV=$!
log "vllm bench"
PYTHONPATH=/tmp/vsite:$PYTHONPATH timeout 480 python3 bench/bench_vllm.py --model /tmp/models/smol.gguf --data $DATA > $R/vllm_bench.json 2> $R/vllm_bench.err
log "vllm bench rc=$?"
wait $CONV
log "phase 2"
Q="timeout 540 python3 experiments/smollm2-decision-recipe/decision_recipes.py --model /tmp/models/q05.gguf --data $DATA --set lr=1e-4 --out /tmp/dr_q05"
VE="E:decision_weight=10,balance=true,attn_implementation=eager"
for k in 0 1 2; do ($Q --folds $k --variant "$VE" --only-train > $R/q05_f$k.out 2> $R/q05_f$k.err; log "q05 fold $k rc=$?") & done
(timeout 540 python3 -m med_llm_ft.cli train --recipe qwen2.5-coder-1.5b-pubmedqa --model /tmp/models/q15.gguf --data $DATA \
   --set eval_test=true --set eval_base=true --set report_to=csv --set output_dir=/tmp/q15_recipe > $R/q15_recipe.json 2> $R/q15_recipe.err
 log "q15 recipe rc=$?"; cp /tmp/q15_recipe/log.csv $R/q15_recipe_log.csv 2>/dev/null) &
(timeout 300 python3 -m med_llm_ft.cli train --model /tmp/models/smol.gguf --data $DATA --split official --dtype float16 --quant 4bit \
   --max_steps 30 --set report_to=csv --set save_steps=0 --output_dir /tmp/fp16chk > $R/fp16_check.json 2> $R/fp16_check.err
 log "fp16 check rc=$?"; cp /tmp/fp16chk/log.csv $R/fp16_check_log.csv 2>/dev/null) &
wait
$Q --folds 0,1,2 --variant "$VE" > $R/q05_report.out 2> $R/q05_report.err
log "q05 report rc=$?"
cp /tmp/dr_q05/results.json $R/q05_results.json 2>/dev/null
log "done"
touch $R/DONE
