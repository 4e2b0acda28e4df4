#!/usr/bin/env bash
# Wait up to $1 seconds for the GPU job to finish (/tmp/res/DONE), then pack /tmp/res into $OUT/res.tgz and show the timeline.
end=$((SECONDS + ${1:-560}))
while [ ! -f /tmp/res/DONE ] && [ $SECONDS -lt $end ]; do sleep 5; done
tar -czf "$OUT/res.tgz" -C /tmp res 2>/dev/null
cat /tmp/res/timeline.txt 2>/dev/null
nvidia-smi --query-gpu=index,utilization.gpu,memory.used --format=csv,noheader
for f in /tmp/res/*.json /tmp/res/*.jsonl; do [ -s "$f" ] && { echo "== $f"; tail -c 1500 "$f"; echo; }; done
