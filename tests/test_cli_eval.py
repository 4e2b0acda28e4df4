import json
import pytest
from med_llm_ft.data import sample_path, load_records, find_pubmedqa, official_split, subset


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    "A tiny random Llama with SmolLM2's tokenizer, and a LoRA adapter on it with random (non-zero) B matrices."
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM
    from peft import LoraConfig, get_peft_model
    from med_llm_ft.data import load_tokenizer
    d = tmp_path_factory.mktemp('models')
    tok = load_tokenizer(); torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                      num_key_value_heads=2, tie_word_embeddings=True, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                      pad_token_id=tok.pad_token_id)
    LlamaForCausalLM(cfg).save_pretrained(d / 'tiny'); tok.save_pretrained(d / 'tiny')
    peft = get_peft_model(LlamaForCausalLM.from_pretrained(d / 'tiny'),
                          LoraConfig(r=8, lora_alpha=16, target_modules=['q_proj', 'v_proj'], init_lora_weights=False))
    peft.save_pretrained(d / 'lora')
    return d / 'tiny', d / 'lora'


def test_eval_base_vs_ft(cli, tmp_path, tiny):
    model, lora = tiny
    out = tmp_path / 'rep'
    r = cli('eval', '--adapter', lora, '--base-vs-ft', '--limit', 8, '--gen-limit', 2, '--max-new-tokens', 8, '--n-boot', 100, '--out', out)
    assert r.returncode == 0, r.stderr
    assert {'report.md', 'report.json', 'classification.csv', 'generation.csv', 'confusion.png', 'per_class.png',
            'predictions.json', 'predictions_base.json'} <= {p.name for p in out.iterdir()}
    summary = json.loads(r.stdout.splitlines()[0])
    assert [x['n'] for x in summary['results']] == [8, 8] and 'label scoring, base vs fine-tuned' in summary['mcnemar']
    rep = json.loads((out / 'report.json').read_text())
    assert [row['model'] for row in rep['tables']['classification']] == ['tiny (base)', 'tiny + lora']
    for row in rep['tables']['classification']:
        assert row['accuracy_low'] <= row['accuracy'] <= row['accuracy_high']
    g = rep['tables']['generation'][0]
    assert g['n'] == 2 and g['bertscore_layer'] == 6 and 'MiniLM' in g['bertscore_encoder']
    test_ids = {x.id for x in subset(official_split(load_records(sample_path()))['test'], 8)[:8]}
    assert set(json.loads((out / 'predictions.json').read_text())) == test_ids
    md = (out / 'report.md').read_text()
    assert '## Classification' in md and '## Generation' in md and 'McNemar' in md


def test_eval_default_model_scoring_only(cli, tmp_path):
    r = cli('eval', '--limit', 3, '--no-generate', '--max-len', 256, '--n-boot', 50, '--out', tmp_path / 'o')
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout.splitlines()[0])['results']
    assert len(res) == 1 and res[0]['name'].startswith('smollm2-135m') and sum(res[0]['pred_dist'].values()) == 3
    assert not (tmp_path / 'o' / 'predictions_base.json').exists()


def _official_gold():
    return {r.id: r.answer for r in official_split(load_records(sample_path()))['test']}


def test_eval_predictions_file(cli, tmp_path):
    gold = _official_gold()
    f = tmp_path / 'pred.json'
    f.write_text(json.dumps({k: 'yes' for k in gold}))
    r = cli('eval', '--predictions', f)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out['n'] == len(gold) and out['accuracy'] == sum(v == 'yes' for v in gold.values()) / len(gold)


def test_eval_predictions_missing_pmid(cli, tmp_path):
    gold = _official_gold()
    missing = sorted(gold)[0]
    f = tmp_path / 'pred.json'
    f.write_text(json.dumps({k: v for k, v in gold.items() if k != missing}))
    r = cli('eval', '--predictions', f)
    assert r.returncode == 1 and f'missing PMIDs {missing}' in r.stderr and 'pred.json' in r.stderr and 'Traceback' not in r.stderr


def test_eval_predictions_extra_pmid_and_bad_label(cli, tmp_path):
    gold = _official_gold()
    f = tmp_path / 'pred.json'
    f.write_text(json.dumps({**gold, '99999999': 'yes'}))
    r = cli('eval', '--predictions', f)
    assert r.returncode == 1 and 'PMIDs not in the test set 99999999' in r.stderr
    k = sorted(gold)[1]
    f.write_text(json.dumps({**gold, k: 'Yes.'}))
    r = cli('eval', '--predictions', f)
    assert r.returncode == 1 and f'unknown labels for PMIDs {k}' in r.stderr and 'Traceback' not in r.stderr


def test_eval_bad_adapter_and_flags(cli, tmp_path):
    r = cli('eval', '--adapter', tmp_path, '--out', tmp_path / 'o')
    assert r.returncode == 1 and 'not an adapter folder' in r.stderr and 'Traceback' not in r.stderr
    r = cli('eval', '--base-vs-ft', '--out', tmp_path / 'o')
    assert r.returncode == 1 and '--base-vs-ft needs --adapter' in r.stderr
    assert not (tmp_path / 'o').exists()


def test_eval_token_budget_scores_the_same(cli, tmp_path, tiny):
    "--max-batch-tokens forms batches by a token budget (the default on a GPU); the predictions stay those of --batch-size rows."
    model, _ = tiny
    reps = {}
    for mbt in ('0', '3000'):
        r = cli('eval', '--model', model, '--limit', 12, '--no-generate', '--n-boot', 20, '--max-batch-tokens', mbt, '--out', tmp_path / mbt)
        assert r.returncode == 0, r.stderr
        reps[mbt] = ((tmp_path / mbt / 'predictions.json').read_text(), json.loads((tmp_path / mbt / 'report.json').read_text()))
    assert reps['0'][0] == reps['3000'][0]
    assert [x['scoring']['max_batch_tokens'] for x in (reps['0'][1]['results'][0], reps['3000'][1]['results'][0])] == [None, 3000]
    r = cli('eval', '--model', model, '--max-batch-tokens', -5, '--out', tmp_path / 'bad')
    assert r.returncode == 1 and '--max-batch-tokens: must be 0 or a positive number of tokens, got -5' in r.stderr
    assert not (tmp_path / 'bad').exists()


def test_eval_official_scorer_real_pubmedqa(cli, tmp_path):
    pqa = find_pubmedqa()
    if pqa is None: pytest.skip('PubMedQA PQA-L not present (../shared/data/pubmedqa)')
    from sklearn.metrics import accuracy_score, f1_score
    gt = json.loads((pqa / 'test_ground_truth.json').read_text())
    pred = {k: ('yes' if i % 3 else 'no') if i % 7 else 'maybe' for i, k in enumerate(gt)}
    f = tmp_path / 'pred.json'; f.write_text(json.dumps(pred))
    r = cli('eval', '--data', pqa, '--split', 'official', '--predictions', f)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    truth, preds = [gt[k] for k in gt], [pred[k] for k in gt]
    assert out['n'] == 500
    assert out['accuracy'] == accuracy_score(truth, preds) and out['macro_f1'] == f1_score(truth, preds, average='macro')
