#!/usr/bin/env bash
# Prepared and dry-run on CPU first, then run: SmolLM2's recipe trained a third time (about 13 minutes on one H200).
#   smollm2-pubmedqa-distill-aug-cv10 unchanged but for seed=2 (from the committed teacher folder, as its two earlier runs), ten processes of
#   one fold each, then the one command, which reuses them. No copies are scored (tta=0, the recipe's own).
# It measures the recipe's seed-to-seed spread, with seed 0 (experiments/perturbed-copies-two-epochs/run.sh) and seed 1 (experiments/macro-f1-floor/run.sh); the test split only reported.
#
# Rule, fixed before this run (the test figures of seeds 0 and 1 have been seen; those of seed 2 and of every ensemble of
# seeds have not):
#   Candidate: the seed ensemble `seeds=3`: the recipe's ten folds trained with seeds 0, 1 and 2 (experiments/perturbed-copies-two-epochs/results/augment_e2_h200/aug8e2,
#   experiments/macro-f1-floor/results/floor_h200/seed1, this run; the same settings but the seed), each fold's label log-probabilities the mean of its three
#   models' (log-softmax), then the recipe's own combination: tta=0, label bias chosen for accuracy, cross-fitted on the folds.
#   It becomes the recipe for SmolLM2 (a named recipe with seeds=3) if its out-of-fold accuracy >= 0.65 and macro-F1 >= 0.45 (the goal's
#   levels, on the held-out folds) and neither is below the mean of the three single seeds' out-of-fold figures. Otherwise the recipe stays.
#   Judging #8's SmolLM2 goal (0.65 / 0.45 on the test split): if adopted, on the ensemble's test figures (one measurement of three seeds
#   averaged); if not, on the single seeds: met only if all three meet both levels.
#   Reported only: seed 2 alone, the three two-seed ensembles.
set -u
cd "$(dirname "$0")/../.."
source tools/gpu/job.sh
n=s2; out=/tmp/st_$n
S="timeout $TO python3 -m med_llm_ft.cli train --recipe smollm2-pubmedqa-distill-aug-cv10 --model $SMOL --data $DATA --output_dir $out
   --set distill_from=$TEACH --set seed=2 $EXTRA"
P=""; for k in 0 1 2 3 4 5 6 7 8 9; do $S --set folds=$k > $R/st_${n}_$k.out 2> $R/st_${n}_$k.err & P="$P $!"; done; wait $P
log "folds done"
for f in $out/fold*/scores.json; do cp $f $R/scores/st_${n}_$(basename $(dirname $f))_scores.json; done
$S > $R/st_${n}.json 2> $R/st_${n}.err; log "student $n rc=$?"
cp $out/metrics.json $R/st_${n}_metrics.json; cp $out/config.yaml $R/st_${n}_config.yaml
log "done"; touch $R/DONE
