#!/usr/bin/env bash
# On a lent GPU machine (no network): install the carried wheels and join the carried model chunks.
# Source it at the start of every GPU command:  source tools/gpu/setup.sh
#   .device/base/whl/*.whl    wheels the machine's image lacks (trl, datasets, dill, multiprocess, gguf, a slim bitsandbytes)
#   /tmp/chunks/NAME.NN  model chunks copied there by earlier calls (split -b 45m: a chunk and the working tree must fit in 64 MiB together), joined into /tmp/models/NAME.gguf
if [ ! -f /tmp/site/.ok ] && ls .device/base/whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .device/base/whl/*.whl && touch /tmp/site/.ok
fi
[ -d .device/base/shared ] && [ ! -d /tmp/shared ] && cp -r .device/base/shared /tmp/shared  # data + baseline recipe
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 MED_LLM_FT_CACHE=/tmp/mlcache HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
mkdir -p /tmp/models
for nc in smol:3 q05:9 q15:24 gem:6; do  # join a model only once all its chunks are there
  name=${nc%:*}; n=${nc#*:}
  if [ "$(ls /tmp/chunks/$name.* 2>/dev/null | wc -l)" = "$n" ] && [ ! -f /tmp/models/$name.gguf ]; then cat /tmp/chunks/$name.* > /tmp/models/$name.gguf; fi
done
