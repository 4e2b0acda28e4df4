#!/usr/bin/env bash
# The GPU job (one H200): SmolLM2's recipe trained afresh (seed 1), its label bias fitted for accuracy under a macro-F1 floor.
#   The recipe smollm2-pubmedqa-distill-aug-cv10 (seed 0, bias_metric=accuracy) met the accuracy goal and missed macro-F1 by 0.002
#   (0.656 / 0.448): its bias bought accuracy by never answering "maybe" (out-of-fold macro-F1 0.461). Fitting that bias again on those
#   folds, with the goal in mind, would be a choice made after seeing their test split, so the objective is tried on new folds:
#   s1: the recipe with seed=1 (another LoRA initialisation and data order; the same folds, copies and committed teacher), tta=8 scored,
#       ten processes of one fold each, then the one command (folds reused) for each candidate and each reported-only objective.
#   The floor: bias_min_macro_f1=0.47, 0.02 above the goal of 0.45, as written in the closing note of experiments/perturbed-copies-two-epochs before this run.
# Selection, fixed before the run (the test split is only reported):
#   Candidates: A = s1 with tta=0, B = s1 with tta=8, each with bias_metric=accuracy and bias_min_macro_f1=0.47. Of those whose out-of-fold
#   macro-F1 is at least 0.47, the one with the higher out-of-fold accuracy counts (a tie goes to A). It becomes the recipe
#   smollm2-pubmedqa-distill-aug-cv10 (seed 1, bias_min_macro_f1 0.47, its tta) only if its out-of-fold accuracy is at least 0.66.
#   If neither reaches the floor, or the accuracy is lower, the recipe stays as it is and the run is only reported.
#   Reported only: the same folds with bias_metric=macro_f1, and with accuracy without the floor.
set -u
cd "$(dirname "$0")/../.."
source tools/gpu/setup.sh
export PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True OMP_NUM_THREADS=1
R=/tmp/res; mkdir -p $R/scores
log() { echo "$(date +%T) $*" | tee -a $R/timeline.txt; }
DATA=${DATA:-/tmp/shared/data/pubmedqa}; TO=${TO:-1500}; EXTRA=${EXTRA:-}
SMOL=${SMOL:-/tmp/models/smol.gguf}; TEACH=${TEACH:-$experiments/perturbed-copies/results/augment_h200/teacher}
log "start; $(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null); models: $(ls /tmp/models 2>/dev/null | tr '\n' ' ')"
python3 -c "from med_llm_ft.data import resolve_model; print(resolve_model('$SMOL'))" >> $R/convert.log 2>&1
( while [ ! -f $R/DONE ]; do nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader >> $R/gpu.csv 2>/dev/null; sleep 15; done ) &
n=s1; out=/tmp/st_$n
S="timeout $TO python3 -m med_llm_ft.cli train --recipe smollm2-pubmedqa-distill-aug-cv10 --model $SMOL --data $DATA --output_dir $out
   --set distill_from=$TEACH --set seed=1 $EXTRA"
P=""; for k in 0 1 2 3 4 5 6 7 8 9; do $S --set tta=8 --set folds=$k > $R/st_${n}_$k.out 2> $R/st_${n}_$k.err & P="$P $!"; done; wait $P
log "folds done"
combine() {  # name, then --set arguments
  local v=$1; shift
  $S "$@" > $R/st_${n}_$v.json 2> $R/st_${n}_$v.err; log "student $n $v rc=$?"
  cp $out/metrics.json $R/st_${n}_${v}_metrics.json
}
for t in 0 8; do
  combine t${t}_floor --set tta=$t --set bias_min_macro_f1=0.47  # the candidates (the recipe's bias_metric is accuracy)
  combine t${t}_accuracy --set tta=$t
  combine t${t}_macro_f1 --set tta=$t --set bias_metric=macro_f1
done
cp $out/config.yaml $R/st_${n}_config.yaml
for f in $out/fold*/scores.json; do cp $f $R/scores/st_${n}_$(basename $(dirname $f))_scores.json; done
log "done"; touch $R/DONE
