# GPU serving image for med_llm_ft: vLLM's OpenAI-compatible server with this package's `med-llm-ft serve` in front.
# Build:  docker build -t med-llm-ft-serve .
# Run:    export MED_LLM_FT_API_KEY=sk-...   # clients send 'Authorization: Bearer $MED_LLM_FT_API_KEY'
#         docker run --gpus all --ipc=host -p 8000:8000 -e MED_LLM_FT_API_KEY -v $PWD/outputs:/outputs \
#             -v ~/.cache/huggingface:/root/.cache/huggingface med-llm-ft-serve \
#             --model HuggingFaceTB/SmolLM2-135M-Instruct --adapter /outputs/run/adapter --adapter-name med
# Not built in this project's CI (no Docker engine there): linted with hadolint only. See nbs/04_vllm.ipynb, "Docker".

# vLLM's release image: CUDA, PyTorch and vLLM built to match each other. Keep the tag in step with the vllm pin.
FROM vllm/vllm-openai:v0.22.0

SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# Only what serving needs on top of the image: PEFT (to merge adapters) and this package without its training
# dependencies. The constraints file keeps the image's own torch, vllm and transformers from being replaced.
COPY setup.py settings.ini pyproject.toml README.md MANIFEST.in /opt/med_llm_ft/
COPY med_llm_ft /opt/med_llm_ft/med_llm_ft
RUN python3 -m pip freeze | grep -iE '^(torch|vllm|transformers|tokenizers|numpy)==' > /tmp/keep.txt \
    && python3 -m pip install --no-cache-dir -c /tmp/keep.txt peft==0.21.2 \
    && python3 -m pip install --no-cache-dir --no-deps /opt/med_llm_ft \
    && med-llm-ft --version \
    && python3 -c "import vllm, peft, med_llm_ft.serving; print('vllm', vllm.__version__, 'peft', peft.__version__)"

# The image listens on 0.0.0.0: without an API key anyone who reaches the port uses the model. `med-llm-ft serve` refuses to
# start without one (-e MED_LLM_FT_API_KEY or -e VLLM_API_KEY); -e MED_LLM_FT_REQUIRE_API_KEY=0 serves open on purpose, with a warning.
ENV MED_LLM_FT_REQUIRE_API_KEY=1

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=10s --start-period=600s --retries=3 \
    CMD ["python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=5)"]

# Arguments after the image name are passed to `med-llm-ft serve` (and the flags it does not know, to vLLM).
ENTRYPOINT ["med-llm-ft", "serve", "--host", "0.0.0.0", "--port", "8000"]
CMD ["--model", "HuggingFaceTB/SmolLM2-135M-Instruct"]
