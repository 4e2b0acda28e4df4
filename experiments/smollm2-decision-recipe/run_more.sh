#!/usr/bin/env bash
# The last GPU job (one H200, the device time left): fold variants on official folds 0-2 for the two small
# models, all at once (their tokens/s are not reported), then the reports (selection on the folds, ensemble on the test split):
#   Gemma-3-270m: the Qwen recipe at lr 1e-4 and at 4e-4;  SmolLM2-135M: the smollm2-pubmedqa recipe with full fine-tuning,
#   and with the decision alone as the target. The base models' test scores come from bench_train (--no-base here).
set -u
cd "$(dirname "$0")/../.."
source tools/gpu/setup.sh
R=/tmp/res; mkdir -p $R
log() { echo "$(date +%T) $*" | tee -a $R/timeline.txt; }
DATA=/tmp/shared/data/pubmedqa; EXTRA=${EXTRA:-}
GEM=${GEM:-/tmp/models/gem.gguf}; SMOL=${SMOL:-/tmp/models/smol.gguf}
log "start; $(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null); models: $(ls /tmp/models 2>/dev/null | tr '\n' ' ')"
for m in $GEM $SMOL; do python3 -c "from med_llm_ft.data import resolve_model; print(resolve_model('$m'))" >> $R/convert.log 2>&1 & done; wait
G="python3 experiments/smollm2-decision-recipe/decision_recipes.py --model $GEM --data $DATA --folds 0,1,2 --out /tmp/dr_gem --no-base $EXTRA"
GV1="E1:decision_weight=10,balance=true,lr=1e-4,attn_implementation=eager"; GV4="E4:decision_weight=10,balance=true,lr=4e-4,attn_implementation=eager"
S="python3 experiments/smollm2-decision-recipe/decision_recipes.py --model $SMOL --data $DATA --recipe smollm2-pubmedqa --folds 0,1,2 --out /tmp/dr_smol --no-base $EXTRA"
SV1="full:method=full,lr=5e-5"; SV2="decision_only:explain=false"
($G --variant "$GV1" --only-train > $R/gem_E1.out 2> $R/gem_E1.err; log "gem E1 rc=$?") &
($G --variant "$GV4" --only-train > $R/gem_E4.out 2> $R/gem_E4.err; log "gem E4 rc=$?") &
($S --variant "$SV1" --only-train > $R/smol_full.out 2> $R/smol_full.err; log "smol full rc=$?") &
($S --variant "$SV2" --only-train > $R/smol_dec.out 2> $R/smol_dec.err; log "smol decision_only rc=$?") &
wait
($G --variant "$GV1" --variant "$GV4" > $R/gem_report.out 2> $R/gem_report.err; log "gem report rc=$?"; cp /tmp/dr_gem/results.json $R/gem_results.json) &
($S --variant "$SV1" --variant "$SV2" > $R/smol_report.out 2> $R/smol_report.err; log "smol report rc=$?"; cp /tmp/dr_smol/results.json $R/smol_results.json) &
wait
mkdir -p $R/scores; for f in /tmp/dr_gem/*/fold*/scores.json /tmp/dr_smol/*/fold*/scores.json; do cp "$f" "$R/scores/$(echo ${f#/tmp/} | tr / _)"; done
log "done"; touch $R/DONE
