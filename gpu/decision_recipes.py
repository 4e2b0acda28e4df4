"""Learning the PubMedQA decision: variants chosen on the official CV folds, then the fold ensemble on the test split.

For each variant (TrainConfig overrides on top of --recipe) and each fold k in --folds, train on the other nine official
folds (450 questions) and score fold k (50) by label log-likelihood: the out-of-fold (OOF) scores of all folds are the
dev set. Each variant is judged on its OOF macro-F1 twice: raw, and calibrated by a per-label bias that is cross-fitted
(for each fold, the bias is fitted on the OTHER folds' OOF scores, then applied to this fold). The variant with the best
OOF macro-F1 (raw or calibrated, whichever is higher, and that choice too is made on the OOF scores) is the selection.
The test split is scored by each fold model as it is trained (so nothing needs reloading), but only to report: the
selected variant's fold models are averaged (mean of log-softmax label scores) and, if calibration won, shifted by the
bias fitted on all OOF scores; test accuracy / macro-F1 come with 95% bootstrap intervals and McNemar's test against
the base model. Prints one JSON line and writes results.json under --out.

    python gpu/decision_recipes.py --model /tmp/models/smol.gguf --data .device/base/shared/data/pubmedqa \
        --folds 0,1,2,3,4 --variant plain: --variant dw10:decision_weight=10 --variant dw10_bal:decision_weight=10,balance=true
    python gpu/decision_recipes.py --model tiny --data ../shared/data/pubmedqa --limit 12 --folds 0,1 --set max_steps=2 --variant a:   # CPU check
"""
import argparse, gc, json, sys, time
from pathlib import Path
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from med_llm_ft.evaluation import _log_softmax as log_softmax  # the one fit_label_bias uses
from med_llm_ft.qlora import decision_metrics as metrics  # acc, macro-F1 (evaluation.classification_metrics), predicted counts


def parse_variant(s):
    name, _, rest = s.partition(':')
    ov = dict(kv.split('=', 1) for kv in filter(None, (x.strip() for x in rest.split(','))))
    return name or 'default', ov


def run_fold(a, common, ov, k, out):
    import torch
    from med_llm_ft.qlora import load_config, train, load_splits
    from med_llm_ft.evaluation import score_labels
    cfg = load_config(None, {**common, **ov, 'split': f'cv{k}', 'output_dir': str(out)}, ov.get('recipe') or a.recipe)
    sp = load_splits(cfg)
    res = train(cfg); tr = res.pop('trainer')
    model, tok = tr.model, tr.processing_class
    kw = dict(template=cfg.template, max_len=a.score_max_len, batch_size=a.score_batch_size)
    dev, test = score_labels(model, tok, sp['valid'], **kw), score_labels(model, tok, sp['test'], **kw)
    row = {'fold': k, 'train_s': res['train_s'], 'train_tok_per_s': res['train_tok_per_s'], 'train_loss': res['train_loss'],
           'peak_gib': res.get('peak_gib'), 'dev_ids': dev['ids'], 'dev_gold': [r.answer for r in sp['valid']],
           'dev_scores': dev['raw_scores'].tolist(), 'test_ids': test['ids'], 'test_gold': [r.answer for r in sp['test']],
           'test_scores': test['raw_scores'].tolist(), 'labels': list(dev['labels'])}
    del tr, model, res; gc.collect()
    if torch.cuda.is_available(): torch.cuda.empty_cache()
    return row


def oof_summary(folds, labels):
    from med_llm_ft.evaluation import fit_label_bias
    gold = sum((f['dev_gold'] for f in folds), [])
    S = np.concatenate([log_softmax(f['dev_scores']) for f in folds])
    raw = [labels[j] for j in S.argmax(1)]
    cal = []
    for i, f in enumerate(folds):  # cross-fitted: this fold's bias comes from the other folds
        others = [g for j, g in enumerate(folds) if j != i] or [f]
        b = fit_label_bias(np.concatenate([log_softmax(g['dev_scores']) for g in others]), sum((g['dev_gold'] for g in others), []), labels)
        cal += [labels[j] for j in (log_softmax(f['dev_scores']) + b).argmax(1)]
    return {'raw': metrics(gold, raw, labels), 'calibrated': metrics(gold, cal, labels),
            'bias_all': fit_label_bias(S, gold, labels).round(3).tolist()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--model', required=True); ap.add_argument('--data', required=True)
    ap.add_argument('--recipe', default='fast'); ap.add_argument('--variant', action='append', default=[])
    ap.add_argument('--set', action='append', default=[], metavar='KEY=VALUE')
    ap.add_argument('--folds', default='0,1,2,3,4'); ap.add_argument('--limit', type=int, default=None)
    ap.add_argument('--score-max-len', type=int, default=512); ap.add_argument('--score-batch-size', type=int, default=32)
    ap.add_argument('--only-train', action='store_true', help='train and cache the variants; select and report in a later call')
    ap.add_argument('--no-base', action='store_true'); ap.add_argument('--out', default='outputs/decision_recipes')
    a = ap.parse_args(argv)
    import torch
    from med_llm_ft.evaluation import score_labels, bootstrap_ci, mcnemar, load_model as eval_load_model
    from med_llm_ft.qlora import load_config, load_splits, ConfigError
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    if a.model == 'tiny':  # CPU check: a tiny random Llama
        from med_llm_ft.qlora import make_tiny_model
        a.model = str(out / 'tiny') if (out / 'tiny/config.json').exists() else make_tiny_model(out / 'tiny')
    common = dict(model=a.model, data=str(a.data), limit=a.limit, save_steps=0, eval_steps=0, eval_accuracy=False, report_to=['csv'])
    for s in a.set: k, v = s.split('=', 1); common[k] = v
    variants = dict(parse_variant(v) for v in a.variant) or {'default': {}}
    folds = [int(x) for x in a.folds.split(',')]
    t0, res = time.time(), {'model': a.model, 'recipe': a.recipe, 'folds': folds, 'common': {k: v for k, v in common.items() if k != 'data'},
                            'device': torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'cpu', 'variants': {}}
    runs, diverged = {}, {}
    for name, ov in variants.items():
        runs[name] = []
        for k in folds:  # a fold trained by an earlier call or a parallel job (time-boxed jobs) is reused
            cache = out / name / f'fold{k}.json'
            if not cache.exists():
                cache.parent.mkdir(parents=True, exist_ok=True)
                try: row = run_fold(a, common, ov, k, out / name / f'fold{k}')
                except ConfigError as e:  # training diverged (NaN): recorded, and the variant is out of the selection
                    if 'diverged' not in str(e): raise
                    row = {'fold': k, 'diverged': str(e)}
                cache.write_text(json.dumps(row))
            runs[name].append(json.loads(cache.read_text()))
        bad = [f for f in runs[name] if 'diverged' in f]
        if bad:
            diverged[name] = {'overrides': ov, 'diverged': bad}
            print(json.dumps({'variant': name, **diverged[name]}), flush=True)
            del runs[name]; continue
        if a.only_train: continue
        labels = runs[name][0]['labels']
        s = oof_summary(runs[name], labels)
        res['variants'][name] = {'overrides': ov, **s, 'train_tok_per_s': round(float(np.mean([f['train_tok_per_s'] for f in runs[name]])), 1),
                                 'train_s': round(sum(f['train_s'] for f in runs[name]), 1)}
        print(json.dumps({'variant': name, **res['variants'][name]}), flush=True)
    res['diverged'] = diverged
    if a.only_train: return
    if not res['variants']:  # nothing to select: every variant diverged
        (out / 'results.json').write_text(json.dumps(res, indent=1, default=str))
        print(json.dumps({'model': a.model, 'device': res['device'], 'selected': None, 'diverged': list(diverged)}), flush=True)
        return
    # selection on the folds only
    cand = [(v['raw']['macro_f1'], v['raw']['acc'], n, False) for n, v in res['variants'].items()] + \
           [(v['calibrated']['macro_f1'], v['calibrated']['acc'], n, True) for n, v in res['variants'].items()]
    _, _, best, use_cal = max(cand)
    res['selected'] = {'variant': best, 'calibrated': use_cal}
    fs = runs[best]; labels = fs[0]['labels']; gold = fs[0]['test_gold']
    S = np.mean([log_softmax(f['test_scores']) for f in fs], 0)
    bias = np.array(res['variants'][best]['bias_all']) if use_cal else np.zeros(len(labels))
    ens = [labels[j] for j in (S + bias).argmax(1)]
    single = [labels[j] for j in log_softmax(fs[0]['test_scores']).argmax(1)]
    res['test'] = {'ensemble': {**metrics(gold, ens, labels), 'n_models': len(fs), 'bias': bias.round(3).tolist(),
                                'ci_acc': bootstrap_ci(gold, ens, 'accuracy', seed=0), 'ci_macro_f1': bootstrap_ci(gold, ens, 'macro_f1', seed=0)},
                   'fold0_raw': metrics(gold, single, labels)}
    if not a.no_base:
        cfg = load_config(None, {**common, 'split': 'cv0'}, a.recipe)
        sp = load_splits(cfg)
        model, tok = eval_load_model(a.model)
        base = score_labels(model, tok, sp['test'], template=cfg.template, max_len=a.score_max_len, batch_size=a.score_batch_size)
        res['test']['base'] = {**metrics(gold, base['pred'], labels), 'ci_macro_f1': bootstrap_ci(gold, base['pred'], 'macro_f1', seed=0)}
        res['test']['mcnemar_base_vs_ensemble'] = mcnemar(gold, base['pred'], ens)
        del model; gc.collect()
    res['wall_s'] = round(time.time() - t0, 1)
    (out / 'results.json').write_text(json.dumps(res, indent=1, default=str))
    print(json.dumps({k: res[k] for k in ('model', 'device', 'selected', 'test', 'wall_s')}, default=str), flush=True)


if __name__ == '__main__': main()
