"Fold ensembles from the command line, and experiments/smollm2-decision-recipe/decision_recipes.py (variant selection on the folds) on a tiny model on CPU."
import json, subprocess, sys
import pytest
from conftest import ROOT


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    from med_llm_ft.models import make_tiny_model
    return make_tiny_model(tmp_path_factory.mktemp('models') / 'tiny-llama')


SMALL = ['--quant', 'none', '--gradient_checkpointing', 'false', '--max_len', '128', '--batch_size', '2', '--save_steps', '0',
         '--eval_accuracy', 'false', '--report_to', 'csv', '--max_steps', '1']


def test_folds_train_resume_and_eval_only(cli, tiny, tmp_path):
    out = tmp_path / 'cv'
    r = cli('train', '--model', tiny, *SMALL, '--folds', '0,1', '--output_dir', out)
    assert r.returncode == 0, r.stderr[-3000:]
    m = json.loads(r.stdout.strip().splitlines()[-1])
    assert m['folds'] == [0, 1] and set(m['test']) >= {'acc', 'macro_f1', 'ci_acc', 'ci_macro_f1'}
    ens = json.loads((out / 'ensemble.json').read_text())
    assert ens['labels'] == ['yes', 'no', 'maybe'] and len(ens['saved']) == 2 and ens['bias'] == m['bias']
    # a run that stopped after fold 0: the same command trains fold 1 only
    f0 = (out / 'fold0' / 'scores.json').stat().st_mtime_ns
    (out / 'fold1' / 'scores.json').unlink()
    r2 = cli('train', '--model', tiny, *SMALL, '--folds', '0,1', '--output_dir', out)
    assert r2.returncode == 0, r2.stderr[-3000:]
    assert (out / 'fold0' / 'scores.json').stat().st_mtime_ns == f0 and (out / 'fold1' / 'scores.json').exists()
    r3 = cli('train', '--config', out / 'config.yaml', '--eval_only')
    assert r3.returncode == 0, r3.stderr[-3000:]
    assert json.loads(r3.stdout.strip().splitlines()[-1])['test'] == {k: json.loads(r2.stdout.strip().splitlines()[-1])['test'][k]
                                                                      for k in ('acc', 'macro_f1', 'pred_dist')}


@pytest.mark.parametrize('folds,msg', [('3,3', 'distinct'), ('0,12', '0..9'), ('a,b', 'not a list of fold numbers')])
def test_bad_folds_name_the_key(cli, tiny, tmp_path, folds, msg):
    r = cli('train', '--model', tiny, *SMALL, '--folds', folds, '--output_dir', tmp_path / 'x')
    assert r.returncode != 0 and 'folds' in r.stderr and msg in r.stderr, r.stderr[-2000:]
    assert not (tmp_path / 'x').exists()  # nothing half-written


def test_decision_recipes_selects_on_the_folds(tiny, tmp_path):
    cmd = [sys.executable, str(ROOT / 'experiments/smollm2-decision-recipe/decision_recipes.py'), '--model', tiny, '--data', '', '--folds', '0,1', '--set', 'max_steps=1',
           '--set', 'max_len=128', '--set', 'batch_size=2', '--variant', 'a:lr=1e-3', '--variant', 'b:lr=1e-3,explain=false', '--out', str(tmp_path)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    res = json.loads((tmp_path / 'results.json').read_text())
    oof = {n: v['calibrated' if v['use_bias'] else 'raw']['macro_f1'] for n, v in res['variants'].items()}
    assert set(oof) == {'a', 'b'} and res['selected']['variant'] == max(oof, key=lambda n: (oof[n], res['variants'][n]['calibrated' if res['variants'][n]['use_bias'] else 'raw']['acc']))
    assert res['test']['ensemble']['n_models'] == 2 and 'mcnemar_base_vs_ensemble' in res['test']
    assert f"--folds 0,1" in res['command'] and 'med-llm-ft train' in res['command']


def test_decision_recipes_refuses_folds_trained_otherwise(tiny, tmp_path):
    cmd = [sys.executable, str(ROOT / 'experiments/smollm2-decision-recipe/decision_recipes.py'), '--model', tiny, '--data', '', '--folds', '0,1', '--set', 'max_steps=1',
           '--set', 'max_len=128', '--set', 'batch_size=2', '--out', str(tmp_path), '--only-train']
    r = subprocess.run(cmd + ['--variant', 'a:lr=1e-3'], capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    f = tmp_path / 'a' / 'fold0' / 'scores.json'; t = f.stat().st_mtime_ns
    r2 = subprocess.run(cmd + ['--variant', 'a:lr=2e-3'], capture_output=True, text=True, timeout=900)  # same folder, another lr
    assert r2.returncode != 0 and 'this fold was trained with other settings (lr: 0.001 there, 0.002 now)' in r2.stderr, r2.stderr[-2000:]
    assert f.stat().st_mtime_ns == t  # left as it was
