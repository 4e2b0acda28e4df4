#!/usr/bin/env bash
# The second GPU job (one H200): the prompt length. At max_len 512, 94 of the 500 non-test questions lose the
# start of their abstract in training (the long answer shares the budget; the end, with the results, is kept) and 48 test
# prompts are cut when scoring. max_len 1024 cuts none. On folds 0-2, beside the recipes and the ideas of experiments/recipe-per-model/run_small_models.sh
# (their fold scores carried over in .device/base/prev and reused, their settings being the same):
#   SmolLM2: max_len 1024, and six epochs with max_len 1024;  Gemma: max_len 1024, and the plain prompt with max_len 1024.
# Each report selects on the folds only; where a new variant wins, its recipe runs as one command with it (--set), base scored.
set -u
cd "$(dirname "$0")/../.."
source tools/gpu/setup.sh
R=/tmp/res; mkdir -p $R
log() { echo "$(date +%T) $*" | tee -a $R/timeline.txt; }
DATA=${DATA:-/tmp/shared/data/pubmedqa}; EXTRA=${EXTRA:-}; ONE_EXTRA=${ONE_EXTRA:-}; TO=${TO:-1500}
GEM=${GEM:-/tmp/models/gem.gguf}; SMOL=${SMOL:-/tmp/models/smol.gguf}
log "start; $(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null); models: $(ls /tmp/models 2>/dev/null | tr '\n' ' ')"
for f in ${PREV:-.device/base/prev}/dr_*_scores.json; do  # dr_smol_R_fold0_scores.json -> /tmp/dr_smol/R/fold0/scores.json
  [ -f "$f" ] || continue; IFS=_ read -r a m v k _ <<< "$(basename $f)"; mkdir -p /tmp/${a}_$m/$v/$k; cp $f /tmp/${a}_$m/$v/$k/scores.json
done
for m in $GEM $SMOL; do python3 -c "from med_llm_ft.data import resolve_model; print(resolve_model('$m'))" >> $R/convert.log 2>&1 & done; wait
G="timeout $TO python3 experiments/smollm2-decision-recipe/decision_recipes.py --model $GEM --data $DATA --recipe gemma3-270m-pubmedqa --folds 0,1,2 --out /tmp/dr_gem --no-base $EXTRA"
S="timeout $TO python3 experiments/smollm2-decision-recipe/decision_recipes.py --model $SMOL --data $DATA --recipe smollm2-pubmedqa --folds 0,1,2 --out /tmp/dr_smol --no-base $EXTRA"
GV=("ml1024:max_len=1024" "plain_ml1024:template=plain,max_len=1024")
SV=("ml1024:max_len=1024" "ep6_ml1024:epochs=6,max_len=1024")
GOLD=("R:" "plain:template=plain" "nobal:balance=false" "full:method=full,lr=5e-5")
SOLD=("R:" "plain:template=plain" "ep6:epochs=6" "r64:lora_r=64,lora_alpha=128")
for v in "${GV[@]}"; do ($G --variant "$v" --only-train > $R/gem_${v%%:*}.out 2> $R/gem_${v%%:*}.err; log "gem ${v%%:*} rc=$?") & done
for v in "${SV[@]}"; do ($S --variant "$v" --only-train > $R/smol_${v%%:*}.out 2> $R/smol_${v%%:*}.err; log "smol ${v%%:*} rc=$?") & done
wait
winner() { python3 -c "import json; d=json.load(open('$1')); s=d['selected']['variant']; print(s, ' '.join('--set %s=%s' % kv for kv in d['variants'][s]['overrides'].items()))"; }
report() {  # name cmd recipe-cv model out variants...
  local n=$1 cmd=$2 rec=$3 model=$4 out=$5; shift 5
  $cmd $(printf -- '--variant %s ' "$@") > $R/${n}_report.out 2> $R/${n}_report.err; log "$n report rc=$?"; cp $out/results.json $R/${n}_results.json
  read -r w sets <<< "$(winner $out/results.json)"; log "$n selected $w $sets"
  if [ "$w" != R ]; then
    timeout $TO python3 -m med_llm_ft.cli train --recipe $rec --model $model --data $DATA --set eval_base=true $sets --output_dir $out/$w $ONE_EXTRA > $R/${n}_one.json 2> $R/${n}_one.err
    log "$n one command ($rec $sets) rc=$?"; cp $out/$w/metrics.json $R/${n}_one_metrics.json; cp $out/$w/config.yaml $R/${n}_one_config.yaml
  fi
}
report gem "$G" gemma3-270m-pubmedqa-cv3 $GEM /tmp/dr_gem "${GOLD[@]}" "${GV[@]}" &
report smol "$S" smollm2-pubmedqa-cv5 $SMOL /tmp/dr_smol "${SOLD[@]}" "${SV[@]}" &
wait
mkdir -p $R/scores; for f in /tmp/dr_gem/*/fold*/scores.json /tmp/dr_smol/*/fold*/scores.json; do cp "$f" "$R/scores/$(echo ${f#/tmp/} | tr / _)"; done
log "done"; touch $R/DONE
