#!/usr/bin/env bash
# After experiments/smollm2-seeds/run.sh: SmolLM2's recipe trained a fourth time (seed=3; otherwise as experiments/smollm2-seeds/run.sh), a measurement only.
# Nothing is selected by this run and nothing is judged by it: run.sh's rule was applied before this run was written (the seed
#   ensemble was not adopted; the goal judged on seeds 0, 1 and 2). Seed 3's figures add a fourth point to the recipe's seed-to-seed spread.
set -u
cd "$(dirname "$0")/../.."
source tools/gpu/job.sh
n=s3; out=/tmp/st_$n
S="timeout $TO python3 -m med_llm_ft.cli train --recipe smollm2-pubmedqa-distill-aug-cv10 --model $SMOL --data $DATA --output_dir $out
   --set distill_from=$TEACH --set seed=3 $EXTRA"
P=""; for k in 0 1 2 3 4 5 6 7 8 9; do $S --set folds=$k > $R/st_${n}_$k.out 2> $R/st_${n}_$k.err & P="$P $!"; done; wait $P
log "folds done"
for f in $out/fold*/scores.json; do cp $f $R/scores/st_${n}_$(basename $(dirname $f))_scores.json; done
$S > $R/st_${n}.json 2> $R/st_${n}.err; log "student $n rc=$?"
cp $out/metrics.json $R/st_${n}_metrics.json; cp $out/config.yaml $R/st_${n}_config.yaml
log "done"; touch $R/DONE
