import json, shutil
import pytest


@pytest.fixture(scope='module')
def run(tmp_path_factory):
    "A two-step LoRA run on a tiny random Llama (unquantized, so the merged model must match base + adapter)."
    from med_llm_ft.models import make_tiny_model
    from conftest import run_cli
    tmp = tmp_path_factory.mktemp('export')
    tiny = make_tiny_model(tmp / 'tiny-llama')
    out = tmp / 'run'
    r = run_cli('train', '--model', tiny, '--quant', 'none', '--max-steps', '2', '--max_len', '128', '--batch-size', '2', '--save_steps', '0',
                '--eval-accuracy', 'false', '--logging-steps', '1', '--lr', '1e-2', '--report-to', 'csv', '--output-dir', out)
    assert r.returncode == 0, r.stderr[-3000:]
    return tiny, out, r


def test_progress_lines_and_records(run, cli, tmp_path):
    tiny, out, r = run
    lines = [l for l in r.stderr.splitlines() if l.startswith('step ')]  # not a terminal: one plain line per logging step
    assert [l.split(' | ')[0] for l in lines] == ['step 1/2 (50%)', 'step 2/2 (100%)'], r.stderr[-2000:]
    prov = json.loads((out / 'metrics.json').read_text())['provenance']
    assert prov['argv'][1:3] == ['train', '--model'] and prov['seed'] == 0 and {'torch', 'peft', 'trl', 'med_llm_ft'} <= set(prov['packages'])
    assert 'provenance:' in (out / 'config.yaml').read_text()
    q = cli('train', '--config', out / 'config.yaml', '--output-dir', tmp_path / 'q', '--quiet')  # the run's own config.yaml reads back
    assert q.returncode == 0, q.stderr[-3000:]
    assert not [l for l in q.stderr.splitlines() if l.startswith('step ')] and json.loads(q.stdout.strip().splitlines()[-1])['steps'] == 2


def test_export_merged_and_adapter(run, cli, tmp_path):
    import torch
    from transformers import AutoModelForCausalLM
    from med_llm_ft.models import load_adapter
    tiny, out, _ = run
    m, tok = load_adapter(out / 'adapter')
    ids = torch.tensor([tok('Is aspirin useful? Final decision: yes')['input_ids']])
    with torch.no_grad(): want = m(input_ids=ids).logits
    r = cli('export', '--adapter', out / 'adapter', '--out', tmp_path / 'merged', '--dtype', 'float32')
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'README.md' in json.loads(r.stdout.strip().splitlines()[-1])['files']
    with torch.no_grad(): got = AutoModelForCausalLM.from_pretrained(tmp_path / 'merged').eval()(input_ids=ids).logits
    assert (got - want).abs().max() < 1e-4
    card = (tmp_path / 'merged' / 'README.md').read_text()
    assert 'eval_loss' in card and 'trained with: med_llm_ft' in card
    r = cli('export', '--adapter', out / 'adapter', '--out', tmp_path / 'a', '--format', 'adapter')
    assert r.returncode == 0, r.stderr[-3000:]
    far = tmp_path / 'elsewhere' / 'adapter'; shutil.copytree(tmp_path / 'a', far); shutil.rmtree(tmp_path / 'a')
    with torch.no_grad(): got2 = load_adapter(far)[0](input_ids=ids).logits
    assert torch.equal(got2, want)
    bad = cli('export', '--adapter', tiny, '--out', tmp_path / 'nope')
    assert bad.returncode == 1 and 'not an adapter folder' in bad.stderr and not (tmp_path / 'nope').exists()
