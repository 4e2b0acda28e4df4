#!/usr/bin/env bash
# The GPU job, second machine (one H200; the first, two H200s, was handed back mid-run and its results lost):
#   1. alone on the GPU, the timed comparison of issue 3: bench/bench_train.py, the baseline recipe against the named recipe
#      qwen2.5-coder-1.5b-pubmedqa on Qwen2.5-Coder-1.5B, same data and epochs
#   2. then together (tokens/s of these are not reported): the three-fold ensemble recipe as one command
#      (med-llm-ft train --recipe qwen2.5-coder-1.5b-pubmedqa-cv3), and Gemma-3-270m against the baseline recipe
set -u
cd "$(dirname "$0")/../.."
source tools/gpu/setup.sh
R=/tmp/res; mkdir -p $R
log() { echo "$(date +%T) $*" | tee -a $R/timeline.txt; }
DATA=/tmp/shared/data/pubmedqa; B=/tmp/shared/bench/baseline_recipe.py
log "start; $(nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tr '\n' ' '); models: $(ls /tmp/models | tr '\n' ' ')"
for m in q15 gem; do python3 -c "from med_llm_ft.data import resolve_model; print(resolve_model('/tmp/models/$m.gguf'))" > $R/convert_$m.log 2>&1 & done
wait; log "converted: $(tail -qn1 $R/convert_*.log | tr '\n' ' ')"
timeout 900 python3 bench/bench_train.py --baseline $B --model /tmp/models/q15.gguf --data $DATA --recipe qwen2.5-coder-1.5b-pubmedqa --base \
  --out /tmp/bt_q15 > $R/bench_train_q15.json 2> $R/bench_train_q15.err
log "bench q15 rc=$?"; cp /tmp/bt_q15/bench_train.json $R/bench_train_q15_full.json 2>/dev/null
(timeout 900 python3 -m med_llm_ft.cli train --recipe qwen2.5-coder-1.5b-pubmedqa-cv3 --model /tmp/models/q15.gguf --data $DATA \
   --set eval_base=true --output_dir /tmp/q15_cv3 > $R/q15_cv3.json 2> $R/q15_cv3.err
 log "q15 cv3 rc=$?"; cp /tmp/q15_cv3/ensemble.json $R/q15_cv3_ensemble.json; mkdir -p $R/scores; for k in 0 1 2; do cp /tmp/q15_cv3/fold$k/scores.json $R/scores/q15_cv3_fold$k.json; cp /tmp/q15_cv3/fold$k/log.csv $R/scores/q15_cv3_fold${k}_log.csv; done) &
(timeout 900 python3 bench/bench_train.py --baseline $B --model /tmp/models/gem.gguf --data $DATA --base \
   --variant E:decision_weight=10,balance=true,lr=1e-4,attn_implementation=eager --out /tmp/bt_gem > $R/bench_train_gem.json 2> $R/bench_train_gem.err
 log "gem bench rc=$?"; cp /tmp/bt_gem/bench_train.json $R/bench_train_gem_full.json) &
wait
log "done"
touch $R/DONE
