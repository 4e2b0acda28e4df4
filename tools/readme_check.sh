#!/usr/bin/env bash
# The README's first command, run as a new user runs it: a copy of this checkout (the files git knows, as they are on
# disk) in a temporary folder, a fresh virtual environment without this machine's packages (`python3 -m venv`, no
# --system-site-packages: everything comes from the package index, torch included), then exactly the README's first
# command: the one line of README.md's first code block, read from README.md here, so the two cannot drift apart.
# Passes when the command exits 0, the demo's report says what it compared, and JupyterLab (which the same command
# installs) starts and offers a Python kernel.
# MED_LLM_FT_README_CHECK_DIR keeps the copy, the venv and the outputs in that folder (default: a temporary one, removed).
set -euo pipefail
cd "$(dirname "$0")/.."
cmd=$(awk '/^```/ {if (b) exit; b=1; next} b {print}' README.md)
[ "$(printf '%s\n' "$cmd" | grep -c .)" -eq 1 ] && [[ "$cmd" == *"med-llm-ft demo"* ]] ||
  { echo "readme_check: README.md's first code block must be one command line that runs the demo, found: '$cmd'"; exit 1; }
if [ -n "${MED_LLM_FT_README_CHECK_DIR:-}" ]; then work="$MED_LLM_FT_README_CHECK_DIR"; rm -rf "$work"; mkdir -p "$work"
else work=$(mktemp -d); trap 'rm -rf "$work"' EXIT; fi
mkdir "$work/src"
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do if [ -e "$f" ]; then printf '%s\0' "$f"; fi; done \
  | tar --null -T - -cf - | tar -xf - -C "$work/src"
python3 -m venv "$work/venv"
echo "readme_check: in $work/src, a fresh venv ($work/venv), running: $cmd"
t0=$(date +%s)
# a new user's shell: the venv first on PATH, nothing inherited that would point Python at this checkout's packages
(cd "$work/src" && env -u PYTHONPATH -u PYTHONHOME -u PIP_USER VIRTUAL_ENV="$work/venv" PATH="$work/venv/bin:$PATH" \
   bash -euo pipefail -c "$cmd") || { echo "readme_check: FAILED: the README's first command exited $? after $(( $(date +%s) - t0 )) s"; exit 1; }
t1=$(date +%s)
py="$work/venv/bin/python"
env -u PYTHONPATH "$py" - "$work/src/outputs/demo" <<'EOF'
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
for f in ('demo.json', 'report/report.md', 'report/report.json', 'report/confusion.png'):
    assert (out / f).exists(), f"readme_check: the demo wrote no {out / f}"
res = json.loads((out / 'demo.json').read_text())
c = res['compared']
assert c['base'] and c['fine_tuned'] and c['n'] > 0 and len(c['ids']) == c['n'], f"readme_check: demo.json says too little of what it compared: {c}"
md = (out / 'report' / 'report.md').read_text()
for s in ('base', 'Fine-tuned minus base', 'McNemar'): assert s in md, f"readme_check: report.md lacks {s!r}"
print(f"readme_check: the demo compared {c['base']} with {c['fine_tuned']} on {c['n']} held-out questions: {res['verdict']}")
EOF
# JupyterLab from the same install: start it on a free port, ask for its kernels, stop it
port=$(env -u PYTHONPATH "$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
root=(); [ "$(id -u)" = 0 ] && root=(--allow-root)  # CI's machine runs as root, which jupyter refuses without this
(cd "$work/src" && exec env -u PYTHONPATH PATH="$work/venv/bin:$PATH" jupyter lab --no-browser --port "$port" --ServerApp.token=check \
   --ServerApp.root_dir=nbs "${root[@]}" > "$work/jupyter.log" 2>&1) & jpid=$!
ok=
for _ in $(seq 60); do
  if curl -fs "http://127.0.0.1:$port/api/kernelspecs?token=check" | grep -q '"python3"'; then ok=1; break; fi; sleep 1
done
kill "$jpid" 2>/dev/null; wait "$jpid" 2>/dev/null || true
[ -n "$ok" ] || { echo "readme_check: FAILED: jupyter lab did not answer with a python3 kernel"; tail -20 "$work/jupyter.log"; exit 1; }
echo "readme_check: jupyter lab $(env -u PYTHONPATH "$work/venv/bin/jupyter" lab --version) serves nbs/ with a python3 kernel"
echo "readme_check: passed; the README's first command took $(( t1 - t0 )) s (install and demo), the whole check $(( $(date +%s) - t0 + 0 )) s after the venv"
