import json, subprocess, sys
import pytest
from conftest import ROOT


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    "A tiny random Llama with the packaged SmolLM2 tokenizer, as a model folder."
    from med_llm_ft.models import make_tiny_model
    return make_tiny_model(tmp_path_factory.mktemp('models') / 'tiny-llama')


SMALL = ['--max_len', '128', '--batch_size', '2', '--save_steps', '0', '--eval_accuracy', 'false']


def test_train_writes_adapter_and_metrics(cli, tiny, tmp_path):
    out = tmp_path / 'run'
    r = cli('train', '--model', tiny, '--quant', '4bit', '--max_steps', '2', *SMALL, '--set', 'lora_r=4', '--output_dir', out)
    assert r.returncode == 0, r.stderr[-3000:]
    assert (out / 'adapter' / 'adapter_config.json').exists() and (out / 'adapter' / 'adapter_model.safetensors').exists()
    m = json.loads((out / 'metrics.json').read_text())
    assert m['steps'] == 2 and m['n_train'] == 36 and m['train_tokens'] > 0 and m['eval_loss'] > 0
    assert json.loads(r.stdout.strip().splitlines()[-1])['steps'] == 2
    assert {'config.yaml', 'log.csv', 'loss_curve.png'} <= {p.name for p in out.iterdir()}
    assert 'lora_r: 4' in (out / 'config.yaml').read_text()
    # the saved adapter evaluates without training again
    r2 = cli('train', '--config', out / 'config.yaml', '--eval_only')
    assert r2.returncode == 0, r2.stderr[-3000:]
    ev = json.loads((out / 'eval_metrics.json').read_text())
    assert abs(ev['eval_loss'] - m['eval_loss']) < 1e-3 and 0 <= ev['valid']['acc'] <= 1


def test_unknown_yaml_key(cli, tmp_path):
    (tmp_path / 'c.yaml').write_text('lora_r: 8\nlearning_rate: 1e-4\n')
    r = cli('train', '--config', tmp_path / 'c.yaml', '--output_dir', tmp_path / 'out')
    assert r.returncode == 1
    assert "unknown key 'learning_rate'" in r.stderr and 'c.yaml' in r.stderr and 'Traceback' not in r.stderr
    assert not (tmp_path / 'out').exists()


def test_target_module_matching_nothing(cli, tiny, tmp_path):
    r = cli('train', '--model', tiny, '--quant', 'none', '--target_modules', 'Wqkv,out_proj', '--max_steps', '1', *SMALL,
            '--output_dir', tmp_path / 'out')
    assert r.returncode == 1, r.stderr[-2000:]
    assert "'Wqkv', 'out_proj' match no module of LlamaForCausalLM" in r.stderr and 'q_proj' in r.stderr
    assert 'Traceback' not in r.stderr and not (tmp_path / 'out' / 'adapter').exists()


def test_full_finetune_of_4bit_model(cli, tmp_path):
    r = cli('train', '--set', 'quant=4bit', '--set', 'method=full', '--output_dir', tmp_path / 'out')
    assert r.returncode == 1 and "method='full' with quant='4bit'" in r.stderr and 'Traceback' not in r.stderr


def test_bad_value_and_recipe(cli, tmp_path):
    r = cli('train', '--lr', 'fast', '--output_dir', tmp_path / 'out')
    assert r.returncode == 1 and 'lr: expected a number' in r.stderr
    r = cli('train', '--recipe', 'nope')
    assert r.returncode == 1 and "unknown recipe 'nope'" in r.stderr and 'llama3-pubmedqa' in r.stderr
    r = cli('train', '--list-recipes')
    rows = dict(l.split(None, 1) for l in r.stdout.strip().splitlines())  # one line per recipe: name, description
    assert r.returncode == 0 and rows['phi2-medreason'].startswith('Phi-2 on MedReason') and 'llama3-pubmedqa' in rows


def test_decision_recipe_runs_on_cpu(cli, tmp_path):
    "The recipe chosen on the GPU folds stays runnable on CPU: a few steps on the packaged sample."
    from med_llm_ft.models import make_tiny_model
    tiny = make_tiny_model(tmp_path / 'tiny')
    r = cli('train', '--recipe', 'smollm2-pubmedqa', '--model', tiny, '--data', '', '--split', 'stratified', '--max-steps', '2',
            '--batch-size', '4', '--set', 'max_len=256', '--eval_accuracy', 'false', '--output_dir', tmp_path / 'run')
    assert r.returncode == 0, r.stderr[-2000:]
    m = json.loads((tmp_path / 'run' / 'metrics.json').read_text())
    assert m['steps'] == 2 and (tmp_path / 'run' / 'adapter' / 'adapter_config.json').exists()
    cfg = (tmp_path / 'run' / 'config.yaml').read_text()
    assert 'decision_weight: 10.0' in cfg and 'balance: true' in cfg


def test_distill_recipe_runs_on_cpu(cli, tiny, tmp_path):
    "The distilled recipe as one command: its teacher recipe trains first (tiny, through teacher_set), then the student learns from it."
    cfg = tmp_path / 'distill.yaml'
    cfg.write_text(f"recipe: smollm2-pubmedqa-distill\nteacher_set: {{model: {tiny}, max_steps: 1, batch_size: 2, max_len: 256, eval_accuracy: false, "
                   "report_to: none, folds: '0,1,2,3,4,5,6,9'}\n")  # the packaged sample leaves folds 7 and 8 empty
    out = tmp_path / 'run'
    r = cli('train', '--config', cfg, '--model', tiny, '--data', '', '--max-steps', '2', '--batch-size', '4', '--set', 'max_len=256',
            '--eval_accuracy', 'false', '--output_dir', out)
    assert r.returncode == 0, r.stderr[-2000:]
    assert json.loads((out / 'metrics.json').read_text())['steps'] == 2 and (out / 'adapter' / 'adapter_config.json').exists()
    assert json.loads((out / 'teacher' / 'metrics.json').read_text())['folds'] == [0, 1, 2, 3, 4, 5, 6, 9]
    saved = (out / 'config.yaml').read_text()
    assert f"distill_from: {out / 'teacher'}" in saved and 'distill_alpha: 1.0' in saved and 'distill_temp: 2.0' in saved and 'decision_weight: 10.0' in saved
    r = cli('train', '--config', cfg, '--model', tiny, '--data', '', '--set', 'distill_alpha=1.5', '--output_dir', tmp_path / 'bad')
    assert r.returncode == 1 and 'distill_alpha: must be in [0, 1], got 1.5' in r.stderr and not (tmp_path / 'bad').exists()


# A teacher folder as `train --folds` writes one: a tiny random Llama trained one step per official fold on the PubMedQA files, each
# fold model's label scores for its held-out questions and eight perturbed copies of each (tests/fixtures/tiny_teacher/README.md).
TINY_TEACHER = ROOT / 'tests/fixtures/tiny_teacher'


@pytest.mark.parametrize('recipe,bias_metric,saved,copies', [
    ('smollm2-pubmedqa-distill-cv10', 'macro_f1', ['epochs: 6', 'distill_temp: 2.0', 'augment: 0'], 0),
    ('smollm2-pubmedqa-distill-aug-cv10', 'accuracy', ['epochs: 2', 'distill_temp: 2.0', 'augment: 8'], 8)])
def test_distill_recipes_from_a_teacher_folder(cli, tiny, tmp_path, recipe, bias_metric, saved, copies):
    "SmolLM2's ten-fold recipes on the PubMedQA files, taught by a teacher folder of fold scores (with its copies' scores where the recipe learns copies)."
    from med_llm_ft.data import find_pubmedqa
    from med_llm_ft.config import load_config
    from med_llm_ft.qlora import load_splits
    pq = find_pubmedqa()
    if pq is None: pytest.skip('no PubMedQA files here (../shared/data/pubmedqa or $PUBMEDQA_DIR)')
    teacher, out = TINY_TEACHER, tmp_path / 'run'
    r = cli('train', '--recipe', recipe, '--model', tiny, '--data', pq, '--set', f'distill_from={teacher}',
            '--set', 'folds=0,1', '--set', 'limit=24', '--max-steps', '1', '--batch-size', '2', '--set', 'max_len=256',
            '--eval_accuracy', 'false', '--output_dir', out)
    assert r.returncode == 0, r.stderr[-2000:]
    m = json.loads((out / 'metrics.json').read_text())
    assert m['folds'] == [0, 1] and m['bias_metric'] == bias_metric and m['tta'] == 0 and sum(m['test']['pred_dist'].values()) == 24
    cfg = (out / 'config.yaml').read_text()
    assert f'distill_from: {teacher}' in cfg and all(s in cfg for s in saved), cfg
    plain = load_config(recipe=recipe, overrides={'data': str(pq), 'split': 'cv0', 'folds': None, 'limit': 24, 'augment': 0})
    assert json.loads((out / 'fold0/metrics.json').read_text())['n_train'] == (1 + copies) * len(load_splits(plain)['train'])  # each question and its copies
    assert not (out / 'teacher').exists()  # nothing trained for the teacher


def test_bench_distill_memory_both_ways_agree():
    "The memory benchmark of the teacher's term runs, and its two ways (hidden states at the decision tokens, full logits) give the same losses."
    r = subprocess.run([sys.executable, str(ROOT / 'bench/bench_distill_memory.py'), '--vocab', '49152', '--batch-size', '2', '--max-len', '128',
                        '--steps', '1'], capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out['fused']['fused_loss'] and not out['logits']['fused_loss'] and out['same_losses'], out
