#!/usr/bin/env bash
# The GPU work on the 2xH200 machine, in one unattended job (start it with setsid; the lent machine goes back
# 30 s after a call ends, so there is no time to decide between calls). Results go to /tmp/res; tools/gpu/wait.sh collects them.
#   1. ZeRO-3 QLoRA on 1 GPU (GPU 0) while vLLM and HF generate are compared on GPU 1 (issues 4 and 6)
#   2. ZeRO-3 QLoRA on 2 GPUs (issue 4)
#   3. Qwen2.5-Coder-1.5B on official fold 0: four numerics variants of the dw10_bal recipe at lr 1e-4, two per GPU, to find
#      which one trains without the NaN seen before: fused LM-head loss with sdpa (A), with eager attention (E), the loss from
#      the full fp32 logits (B), and the fused loss without the decision weight (D)
#   4. the first of A, E, B, D that did not diverge, on folds 1 and 2 (one per GPU), then the 3-fold selection and test report
# Prerequisites (earlier calls): .device/base carried once (wheels, shared data), chunks in /tmp/chunks (smol, q15, vllm).
set -u
cd "$(dirname "$0")/../.."
source tools/gpu/setup.sh
export DS_SKIP_CUDA_CHECK=1 NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
R=/tmp/res; mkdir -p $R
log() { echo "$(date +%T) $*" | tee -a $R/timeline.txt; }
DATA=/tmp/shared/data/pubmedqa
log "start; $(nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tr '\n' ';')"
python3 -m pip list 2>/dev/null | grep -iE '^(torch|transformers|peft|trl|accelerate|deepspeed|bitsandbytes|numba|numpy) ' > $R/versions.txt

# the vLLM wheels (one tar in chunks), in their own folder so that only the vLLM benchmark sees them
if [ ! -f /tmp/vsite/.ok ] && [ "$(ls /tmp/chunks/vllm.* 2>/dev/null | wc -l)" -gt 0 ]; then
  mkdir -p /tmp/vw && cat /tmp/chunks/vllm.* | tar -x -C /tmp/vw && \
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/vsite /tmp/vw/slim/*.whl && touch /tmp/vsite/.ok
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/vcond /tmp/vw/conditional/*.whl
  log "vllm wheels installed: $(ls /tmp/vw/slim | wc -l) + conditional"
fi
# convert the GGUF files once (fp32 folders in $MED_LLM_FT_CACHE) before parallel jobs read them
python3 -c "from med_llm_ft.data import resolve_model; print(resolve_model('/tmp/models/smol.gguf'))" > $R/convert.log 2>&1
(python3 -c "from med_llm_ft.data import resolve_model; print(resolve_model('/tmp/models/q15.gguf'))" >> $R/convert.log 2>&1; log "q15 converted") &
CONV=$!

# 1. ZeRO-3 on GPU 0 || vLLM vs HF on GPU 1
log "phase 1"
(CUDA_VISIBLE_DEVICES=0 timeout 420 python3 experiments/zero3-two-gpus-smollm2/zero3_scaling.py --gpus 1 --model /tmp/models/smol.gguf --data $DATA --out /tmp/z3 > $R/z3_g1.jsonl 2> $R/z3_g1.err
 log "zero3 g1 rc=$?") &
Z1=$!
VPATH=/tmp/vsite:$PYTHONPATH
if ! PYTHONPATH=$VPATH timeout 300 python3 -c "import vllm, vllm.entrypoints.llm; print(vllm.__version__)" > $R/vllm_import.log 2>&1; then
  log "vllm import failed without the conditional numpy/numba; with them:"
  VPATH=/tmp/vsite:/tmp/vcond:$PYTHONPATH
  PYTHONPATH=$VPATH timeout 300 python3 -c "import vllm, vllm.entrypoints.llm; print(vllm.__version__)" >> $R/vllm_import.log 2>&1
fi
(export CUDA_VISIBLE_DEVICES=1 PYTHONPATH=$VPATH
 timeout 420 python3 bench/bench_vllm.py --model /tmp/models/smol.gguf --data $DATA > $R/vllm_bench.json 2> $R/vllm_bench.err
 log "vllm bench rc=$?") &
VB=$!
wait $Z1 $VB

# 2. ZeRO-3 on both GPUs
log "phase 2"
timeout 360 python3 experiments/zero3-two-gpus-smollm2/zero3_scaling.py --gpus 2 --model /tmp/models/smol.gguf --data $DATA --out /tmp/z3 > $R/z3_g2.jsonl 2> $R/z3_g2.err
log "zero3 g2 rc=$?"
cp /tmp/z3/summary.md $R/z3_summary.md 2>/dev/null; cp /tmp/z3/g1.log $R/z3_g1.log 2>/dev/null; cp /tmp/z3/g2.log $R/z3_g2.log 2>/dev/null

# 3. Qwen 1.5B numerics probes on fold 0, two per GPU
wait $CONV
log "phase 3"
Q="timeout 600 python3 experiments/smollm2-decision-recipe/decision_recipes.py --model /tmp/models/q15.gguf --data $DATA --set lr=1e-4 --only-train --out /tmp/dr_q15"
declare -A V=([A]="decision_weight=10,balance=true" [E]="decision_weight=10,balance=true,attn_implementation=eager"
              [B]="decision_weight=10,balance=true,fused_loss=false" [D]="balance=true")
run_probe() { CUDA_VISIBLE_DEVICES=$2 $Q --folds 0 --variant "$1:${V[$1]}" > $R/q15_$1_f0.out 2> $R/q15_$1_f0.err; log "probe $1 rc=$?"; }
run_probe A 0 & P1=$!; run_probe E 0 & P2=$!; run_probe B 1 & P3=$!; run_probe D 1 & P4=$!
wait $P1 $P2 $P3 $P4
for v in A E B D; do cp /tmp/dr_q15/$v/fold0/log.csv $R/q15_${v}_f0_log.csv 2>/dev/null; done

# 4. the first variant that trained cleanly: folds 1 and 2, then selection and the test report
CH=""
for v in A E B D; do
  f=/tmp/dr_q15/$v/fold0.json
  if [ -f $f ] && ! grep -q '"diverged"' $f; then CH=$v; break; fi
done
log "phase 4: chosen variant '${CH}'"
if [ -n "$CH" ]; then
  CUDA_VISIBLE_DEVICES=0 $Q --folds 1 --variant "$CH:${V[$CH]}" > $R/q15_${CH}_f1.out 2> $R/q15_${CH}_f1.err & F1=$!
  CUDA_VISIBLE_DEVICES=1 $Q --folds 2 --variant "$CH:${V[$CH]}" > $R/q15_${CH}_f2.out 2> $R/q15_${CH}_f2.err & F2=$!
  wait $F1 $F2
  log "folds 1,2 done"
  CUDA_VISIBLE_DEVICES=0 timeout 300 python3 experiments/smollm2-decision-recipe/decision_recipes.py --model /tmp/models/q15.gguf --data $DATA --set lr=1e-4 --folds 0,1,2 \
      --variant "$CH:${V[$CH]}" --out /tmp/dr_q15 > $R/q15_report.out 2> $R/q15_report.err
  log "report rc=$?"
  cp /tmp/dr_q15/results.json $R/q15_results.json 2>/dev/null
fi
log "done"
touch $R/DONE
