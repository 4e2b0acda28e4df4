import os, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
if 'PUBMEDQA_DIR' not in os.environ and (ROOT.parent / 'shared/data/pubmedqa/ori_pqal.json').exists():  # the real PQA-L beside the checkout
    os.environ['PUBMEDQA_DIR'] = str(ROOT.parent / 'shared/data/pubmedqa')

def run_cli(*args, cwd=None, timeout=900):
    "Run the installed console script; return the CompletedProcess."
    return subprocess.run([sys.executable, '-m', 'med_llm_ft.cli', *map(str, args)], capture_output=True, text=True,
                          cwd=cwd or ROOT, timeout=timeout)

@pytest.fixture
def cli(): return run_cli
