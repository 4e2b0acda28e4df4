"""Does a 4-bit QLoRA model trained on the fast path (its unquantized weights in bf16, Liger's kernels) learn as well as one trained on
peft's path (norms, embeddings and LM head cast to fp32, no Liger)? The same recipe, seed, split and batches otherwise.

One path per process; the two can share one GPU:

    python experiments/kbit-bf16-accuracy/kbit_accuracy.py --path fast --data DIR --out experiments/kbit-bf16-accuracy/results/fast.json
    python experiments/kbit-bf16-accuracy/kbit_accuracy.py --path plain --data DIR --out experiments/kbit-bf16-accuracy/results/plain.json
    python experiments/kbit-bf16-accuracy/kbit_accuracy.py --compare experiments/kbit-bf16-accuracy/results/{fast,plain}.json \\
        --out experiments/kbit-bf16-accuracy/results/compare.json

The rule, fixed before the run: the fast path passes if its test accuracy lies within the plain path's 95% bootstrap interval
(1,000 resamples of PubMedQA's 500 official test questions). McNemar's test on the paired predictions is reported beside it.
`--model`, `--limit` and `--max-steps` shrink the run for a check on a CPU.
"""
import argparse, json, platform, sys, tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
PATHS = {'fast': {'kbit_fp32': False, 'liger': 'auto'}, 'plain': {'kbit_fp32': True, 'liger': False}}
RULE = ("the fast path passes if its test accuracy lies within the plain path's 95% bootstrap interval "
        "(1,000 resamples of the test questions); McNemar's test on the paired predictions beside it")


def run(a):
    "Train one path, score the test split by label scoring; the figures and every prediction."
    import torch
    from med_llm_ft import qlora
    from med_llm_ft.config import load_config
    from med_llm_ft.evaluation import bootstrap_ci, classification_metrics, score_labels
    ov = dict(quant='4bit', data=a.data, output_dir=tempfile.mkdtemp(), report_to=[], save_steps=0, **PATHS[a.path])
    ov.update({k: v for k, v in (('model', a.model), ('limit', a.limit), ('max_steps', a.max_steps)) if v is not None})
    cfg = load_config(recipe=a.recipe, overrides=ov)
    res = qlora.train(cfg)
    tr = res.pop('trainer')
    test = qlora.load_splits(cfg)['test']
    pred = score_labels(tr.model, tr.processing_class, test, template=cfg.template, max_len=cfg.max_len)['pred']
    gold = [r.answer for r in test]
    return {'command': 'python ' + ' '.join(sys.argv), 'gpu': torch.cuda.get_device_name() if torch.cuda.is_available() else platform.processor() or 'cpu',
            'recipe': a.recipe, 'path': a.path, 'overrides': ov | {'output_dir': None}, 'liger': res['liger'],
            **{k: res.get(k) for k in ('steps', 'train_loss', 'train_s', 'train_tok_per_s_steady', 'peak_gib', 'eval_loss', 'eval_acc')},
            'test': classification_metrics(gold, pred), 'test_accuracy_ci': bootstrap_ci(gold, pred),
            'ids': [r.id for r in test], 'gold': gold, 'pred': pred}


def compare(fast, plain):
    "The rule applied to two runs' JSONs."
    from med_llm_ft.evaluation import mcnemar
    if fast['ids'] != plain['ids']: sys.exit("kbit_accuracy: the two runs scored different test questions")
    ci, acc = plain['test_accuracy_ci'], fast['test']['accuracy']
    return {'command': 'python ' + ' '.join(sys.argv), 'question': __doc__.split('\n\n')[0].replace('\n', ' '), 'rule': RULE,
            'fast': {k: fast[k] for k in ('liger', 'steps', 'train_loss', 'train_tok_per_s_steady', 'peak_gib')} | {'test': fast['test']},
            'plain': {k: plain[k] for k in ('liger', 'steps', 'train_loss', 'train_tok_per_s_steady', 'peak_gib')} | {'test': plain['test']},
            'plain_accuracy_ci': ci, 'fast_within_plain_ci': ci['low'] <= acc <= ci['high'],
            'agreement': sum(x == y for x, y in zip(fast['pred'], plain['pred'])) / len(fast['pred']),
            'mcnemar_fast_vs_plain': mcnemar(fast['gold'], fast['pred'], plain['pred'])}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--path', choices=sorted(PATHS))
    ap.add_argument('--compare', nargs=2, metavar=('FAST', 'PLAIN'))
    ap.add_argument('--recipe', default='qwen2.5-coder-1.5b-pubmedqa')
    ap.add_argument('--data', default='', help="PubMedQA PQA-L's folder (ori_pqal.json, test_ground_truth.json)")
    ap.add_argument('--model'); ap.add_argument('--limit', type=int); ap.add_argument('--max-steps', type=int)
    ap.add_argument('--out', required=True)
    a = ap.parse_args(argv)
    if bool(a.path) == bool(a.compare): ap.error('give --path or --compare')
    out = compare(*(json.loads(Path(f).read_text()) for f in a.compare)) if a.compare else run(a)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=1, default=str))
    print(json.dumps({k: v for k, v in out.items() if k not in ('ids', 'gold', 'pred')}, indent=1, default=str))


if __name__ == '__main__': main()
