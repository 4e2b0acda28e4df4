"`bench/bench_scale.py --shape tiny` on CPU: the baseline recipe and ours (at its batch size) on the same batches, one JSON with every field the 8B runs have."
import json, subprocess, sys
from conftest import ROOT


def test_bench_scale_tiny(tmp_path):
    out = tmp_path / 'scale_tiny.json'
    r = subprocess.run([sys.executable, str(ROOT / 'bench' / 'bench_scale.py'), '--shape', 'tiny', '--steps', '3', '--skip', '1',
                        '--runs', 'baseline,ours-bs4', '--workdir', str(tmp_path / 'w'), '--out', str(out)],
                       capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-3000:]
    res = json.loads(out.read_text())
    assert res['shape'] == 'tiny' and res['gpu'] == 'cpu' and 'bench_scale.py' in res['command']
    for name in ('baseline', 'ours-bs4'):
        run = res['runs'][name]
        assert 'error' not in run, run.get('stderr_tail')
        assert run['tokens_per_s'] > 0 and len(run['losses']) == 3 and all(9 < x < 12 for x in run['losses'])  # random weights: ~ln(49152)
    ours = res['runs']['ours-bs4']  # the recipe at the baseline's batch size: the same batches, the same loss curve
    assert ours['same_batches'] and ours['max_loss_diff_vs_baseline'] < 0.05


def test_bench_scale_unknown_shape(tmp_path):
    r = subprocess.run([sys.executable, str(ROOT / 'bench' / 'bench_scale.py'), '--shape', 'gpt5', '--workdir', str(tmp_path)],
                       capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert r.returncode != 0 and "shape 'gpt5' is not known" in r.stderr
