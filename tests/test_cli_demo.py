import json


def test_demo_end_to_end(cli, tmp_path):
    "The README's first command: prepare, a short QLoRA fine-tune, evaluation and a report, on CPU."
    out = tmp_path / 'demo'
    r = cli('demo', '--out', out, '--max-steps', 2, '--gen-limit', 1, timeout=1800)
    assert r.returncode == 0, r.stderr[-3000:]
    res = json.loads((out / 'demo.json').read_text())
    assert res['train']['steps'] == 2
    c = res['compared']  # what was compared: the held-out questions, never trained on
    held = {json.loads(l)['id'] for l in (out / 'data' / 'valid.jsonl').read_text().splitlines() if l.strip()}
    trained = {json.loads(l)['id'] for l in (out / 'data' / 'train.jsonl').read_text().splitlines() if l.strip()}
    assert c['n'] == len(c['ids']) == 13 and set(c['ids']) == held and not held & trained, c
    assert res['verdict'].startswith('fine-tuned '), res['verdict']
    for f in ('data/train.jsonl', 'train/adapter/adapter_config.json', 'report/report.md', 'report/confusion.png', 'report/predictions.json'):
        assert (out / f).exists(), f
    md = (out / 'report' / 'report.md').read_text()
    assert '## Classification' in md and '## Generation' in md and 'Fine-tuned minus base' in md and 'McNemar' in md
