#!/usr/bin/env bash
# The GPU job (one H200), all at once (tokens/s of these are not reported):
#   1. the two small models' recipes as one command each, with the base model scored: smollm2-pubmedqa-cv5 (the five-fold
#      SmolLM2 result of 'Learning the decision') and gemma3-270m-pubmedqa-cv3 (Gemma at lr 4e-4, chosen on folds 0-2)
#   2. beside them, three more ideas per model on folds 0-2, trained into the same output folders: the plain prompt (no chat
#      template; Gemma-3-270m is a base model), and per model two others. Each report then selects on the folds among the
#      recipe (variant R, its folds 0-2 reused from step 1: same settings) and the ideas; the test split is only reported.
set -u
cd "$(dirname "$0")/../.."
source tools/gpu/setup.sh
R=/tmp/res; mkdir -p $R
log() { echo "$(date +%T) $*" | tee -a $R/timeline.txt; }
DATA=${DATA:-/tmp/shared/data/pubmedqa}; EXTRA=${EXTRA:-}; ONE_EXTRA=${ONE_EXTRA:-}; TO=${TO:-1500}
GEM=${GEM:-/tmp/models/gem.gguf}; SMOL=${SMOL:-/tmp/models/smol.gguf}
log "start; $(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null); models: $(ls /tmp/models 2>/dev/null | tr '\n' ' ')"
for m in $GEM $SMOL; do python3 -c "from med_llm_ft.data import resolve_model; print(resolve_model('$m'))" >> $R/convert.log 2>&1 & done; wait
one() {  # name recipe model out: the recipe as one command, with the base model scored
  timeout $TO python3 -m med_llm_ft.cli train --recipe $2 --model $3 --data $DATA --set eval_base=true --output_dir $4 $ONE_EXTRA > $R/$1.json 2> $R/$1.err
  log "$1 rc=$?"; cp $4/metrics.json $R/$1_metrics.json; cp $4/ensemble.json $R/$1_ensemble.json; cp $4/config.yaml $R/$1_config.yaml
}
G="timeout $TO python3 experiments/smollm2-decision-recipe/decision_recipes.py --model $GEM --data $DATA --recipe gemma3-270m-pubmedqa --folds 0,1,2 --out /tmp/dr_gem --no-base $EXTRA"
S="timeout $TO python3 experiments/smollm2-decision-recipe/decision_recipes.py --model $SMOL --data $DATA --recipe smollm2-pubmedqa --folds 0,1,2 --out /tmp/dr_smol --no-base $EXTRA"
GV=("plain:template=plain" "nobal:balance=false" "full:method=full,lr=5e-5")
SV=("plain:template=plain" "ep6:epochs=6" "r64:lora_r=64,lora_alpha=128")
one smol_cv5 smollm2-pubmedqa-cv5 $SMOL /tmp/dr_smol/R &
one gem_cv3 gemma3-270m-pubmedqa-cv3 $GEM /tmp/dr_gem/R &
for v in "${GV[@]}"; do ($G --variant "$v" --only-train > $R/gem_${v%%:*}.out 2> $R/gem_${v%%:*}.err; log "gem ${v%%:*} rc=$?") & done
for v in "${SV[@]}"; do ($S --variant "$v" --only-train > $R/smol_${v%%:*}.out 2> $R/smol_${v%%:*}.err; log "smol ${v%%:*} rc=$?") & done
wait
($G --variant R: $(printf -- '--variant %s ' "${GV[@]}") > $R/gem_report.out 2> $R/gem_report.err; log "gem report rc=$?"; cp /tmp/dr_gem/results.json $R/gem_results.json) &
($S --variant R: $(printf -- '--variant %s ' "${SV[@]}") > $R/smol_report.out 2> $R/smol_report.err; log "smol report rc=$?"; cp /tmp/dr_smol/results.json $R/smol_results.json) &
wait
mkdir -p $R/scores; for f in /tmp/dr_gem/*/fold*/scores.json /tmp/dr_smol/*/fold*/scores.json; do cp "$f" "$R/scores/$(echo ${f#/tmp/} | tr / _)"; done
for f in /tmp/dr_gem/*/fold*/log.csv /tmp/dr_smol/*/fold*/log.csv; do cp "$f" "$R/scores/$(echo ${f#/tmp/} | tr / _)"; done
log "done"; touch $R/DONE
