#!/usr/bin/env bash
# How many fold processes to run at once on one GPU (one H200, the device time left after experiments/perturbed-copies-two-epochs/run.sh).
#   The ten-fold recipes train their folds in parallel processes on one GPU (five processes of two folds in the scripts of experiments/distillation-ten-folds to experiments/perturbed-copies-two-epochs).
#   Here the student of smollm2-pubmedqa-distill-aug-cv10 (committed teacher folder, no teacher trained) runs as 1, 5 and 10 processes
#   at once, each its own output folder with folds 0,1 and max_steps=$STEPS; each process is stopped once its fold 0 is saved.
#   From each fold0/scores.json: train_s and train_tokens. Aggregate tokens/s = the processes' tokens / the longest train_s.
set -u
cd "$(dirname "$0")/../.."
source tools/gpu/setup.sh
export PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True OMP_NUM_THREADS=1
R=/tmp/res; mkdir -p $R
log() { echo "$(date +%T) $*" | tee -a $R/timeline.txt; }
DATA=${DATA:-/tmp/shared/data/pubmedqa}; STEPS=${STEPS:-60}; NS=${NS:-1 5 10}; EXTRA=${EXTRA:-}
SMOL=${SMOL:-/tmp/models/smol.gguf}; TEACH=${TEACH:-$experiments/perturbed-copies/results/augment_h200/teacher}
log "start; $(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null); models: $(ls /tmp/models 2>/dev/null | tr '\n' ' ')"
python3 -c "from med_llm_ft.data import resolve_model; print(resolve_model('$SMOL'))" >> $R/convert.log 2>&1
( while [ ! -f $R/DONE ]; do nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader >> $R/gpu.csv 2>/dev/null; sleep 5; done ) &
for n in $NS; do
  P=""; for i in $(seq 1 $n); do
    timeout 600 python3 -m med_llm_ft.cli train --recipe smollm2-pubmedqa-distill-aug-cv10 --model $SMOL --data $DATA --output_dir /tmp/pb_${n}_$i \
      --set distill_from=$TEACH --set folds=0,1 --set max_steps=$STEPS $EXTRA > $R/pb_${n}_$i.out 2> $R/pb_${n}_$i.err & P="$P $!"
  done
  while [ "$(ls /tmp/pb_${n}_*/fold0/scores.json 2>/dev/null | wc -l)" -lt $n ] && [ -n "$(jobs -pr)" ]; do sleep 2; done
  kill $P 2>/dev/null; wait $P 2>/dev/null
  python3 - $n >> $R/procs.jsonl <<'PY'
import json, sys, glob
n = int(sys.argv[1]); rows = [json.load(open(f)) for f in sorted(glob.glob(f'/tmp/pb_{n}_*/fold0/scores.json'))]
tok, secs = sum(r['train_tokens'] for r in rows), max(r['train_s'] for r in rows)
print(json.dumps({'processes': n, 'finished': len(rows), 'steps': rows[0]['settings']['max_steps'], 'train_tokens': tok, 'longest_train_s': secs,
                  'aggregate_tok_per_s': round(tok / secs, 1), 'per_process_tok_per_s': [r['train_tok_per_s'] for r in rows],
                  'peak_gib_per_process': max(r['peak_gib'] or 0 for r in rows)}))
PY
  log "n=$n: $(tail -1 $R/procs.jsonl | cut -c1-160)"
done
log "done"; touch $R/DONE
