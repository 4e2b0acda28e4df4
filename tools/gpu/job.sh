#!/usr/bin/env bash
# The start of a GPU job script (source it after `cd` to the repository root): the machine set up, the results folder $R with a
# timeline (log), the SmolLM2 model converted once before processes share it, and the GPU sampled every 15 s until $R/DONE.
#   DATA, SMOL, TEACH, TO (seconds per command) and EXTRA (more --set arguments) can be set from outside, e.g. for a CPU dry run:
#   SMOL=/tmp/tiny DATA=../shared/data/pubmedqa EXTRA="--set max_steps=1 --set batch_size=2 --set limit=24" bash experiments/QUESTION/run.sh
source tools/gpu/setup.sh
export PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True OMP_NUM_THREADS=1
R=/tmp/res; mkdir -p $R/scores
log() { echo "$(date +%T) $*" | tee -a $R/timeline.txt; }
DATA=${DATA:-/tmp/shared/data/pubmedqa}; TO=${TO:-1500}; EXTRA=${EXTRA:-}
SMOL=${SMOL:-/tmp/models/smol.gguf}; TEACH=${TEACH:-$experiments/perturbed-copies/results/augment_h200/teacher}
log "start; $(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null); models: $(ls /tmp/models 2>/dev/null | tr '\n' ' ')"
python3 -c "from med_llm_ft.data import resolve_model; print(resolve_model('$SMOL'))" >> $R/convert.log 2>&1
( while [ ! -f $R/DONE ]; do nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader >> $R/gpu.csv 2>/dev/null; sleep 15; done ) &
# student NAME --set k=v ...: SmolLM2's recipe from the teacher $TEACH with these changes, its ten folds as ten processes at once (one fold
# each, into /tmp/st_NAME), then the one command, which reuses them; fold scores, output, metrics and config copied into $R as st_NAME*.
student() {
  local n=$1; shift; local out=/tmp/st_$n k f P=""
  local S="timeout $TO python3 -m med_llm_ft.cli train --recipe smollm2-pubmedqa-distill-aug-cv10 --model $SMOL --data $DATA --output_dir $out --set distill_from=$TEACH $* $EXTRA"
  for k in 0 1 2 3 4 5 6 7 8 9; do $S --set folds=$k > $R/st_${n}_$k.out 2> $R/st_${n}_$k.err & P="$P $!"; done; wait $P
  log "folds $n done"
  for f in $out/fold*/scores.json; do cp $f $R/scores/st_${n}_$(basename $(dirname $f))_scores.json; done
  $S > $R/st_${n}.json 2> $R/st_${n}.err; log "student $n rc=$?"
  cp $out/metrics.json $R/st_${n}_metrics.json; cp $out/config.yaml $R/st_${n}_config.yaml
}
