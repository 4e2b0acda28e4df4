#!/usr/bin/env bash
# Prepared in session 10, not run yet: SmolLM2's recipe trained a third time (about 13 minutes on one H200; session 10 had 12 left after a
#   failed transfer: its 55 MiB model chunk and the grown working tree no longer fit in one call, now split at 45 MiB, see gpu/setup.sh).
#   smollm2-pubmedqa-distill-aug-cv10 unchanged but for seed=2 (from the committed teacher folder, as its two earlier runs), ten processes of
#   one fold each, then the one command, which reuses them. No copies are scored (tta=0, the recipe's own) to fit the time left.
# Nothing is selected by this run: the recipe stays whatever it scores. It measures the recipe's seed-to-seed spread, reported with
# seed 0 (gpu/session16.sh) and seed 1 (gpu/session17.sh), the test split only reported.
set -u
cd "$(dirname "$0")/.."
source gpu/job.sh
n=s2; out=/tmp/st_$n
S="timeout $TO python3 -m med_llm_ft.cli train --recipe smollm2-pubmedqa-distill-aug-cv10 --model $SMOL --data $DATA --output_dir $out
   --set distill_from=$TEACH --set seed=2 $EXTRA"
P=""; for k in 0 1 2 3 4 5 6 7 8 9; do $S --set folds=$k > $R/st_${n}_$k.out 2> $R/st_${n}_$k.err & P="$P $!"; done; wait $P
log "folds done"
for f in $out/fold*/scores.json; do cp $f $R/scores/st_${n}_$(basename $(dirname $f))_scores.json; done
$S > $R/st_${n}.json 2> $R/st_${n}.err; log "student $n rc=$?"
cp $out/metrics.json $R/st_${n}_metrics.json; cp $out/config.yaml $R/st_${n}_config.yaml
log "done"; touch $R/DONE
