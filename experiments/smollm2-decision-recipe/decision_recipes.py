"""Learning the PubMedQA decision: variants chosen on the official CV folds, then the fold ensemble on the test split.

Each variant (TrainConfig overrides on top of --recipe) is one `med_llm_ft.qlora.train_folds` run over --folds: for each
fold k, train on the other nine official folds (450 questions) and score fold k (50) and the test split by label
log-likelihood. The out-of-fold (OOF) scores of all folds are the dev set; train_folds reports the OOF metrics raw and with
a cross-fitted per-label bias, and keeps the bias only if it raised the OOF macro-F1. The variant with the best OOF
macro-F1 is the selection. The test split is only reported: the selected variant's fold models averaged (and shifted by
its bias), with 95% bootstrap intervals and McNemar's test against the base model. Prints one JSON line and writes
results.json under --out; the selected variant run alone is `med-llm-ft train --recipe R --folds ... --set KEY=VALUE ...`.

    python experiments/smollm2-decision-recipe/decision_recipes.py --model /tmp/models/smol.gguf --data .device/base/shared/data/pubmedqa \
        --folds 0,1,2,3,4 --variant plain: --variant dw10:decision_weight=10 --variant dw10_bal:decision_weight=10,balance=true
    # folds of one variant in parallel jobs, then the report (every fold is cached in OUT/VARIANT/foldK/scores.json):
    python experiments/smollm2-decision-recipe/decision_recipes.py ... --folds 3 --variant a:lr=1e-4 --only-train
    python experiments/smollm2-decision-recipe/decision_recipes.py --model tiny --data ../shared/data/pubmedqa --limit 12 --folds 0,1 --set max_steps=2 --variant a:   # CPU check
"""
import argparse, dataclasses, json, sys, time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def parse_variant(s):
    name, _, rest = s.partition(':')
    ov = dict(kv.split('=', 1) for kv in filter(None, (x.strip() for x in rest.split(','))))
    return name or 'default', ov


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--model', required=True); ap.add_argument('--data', required=True)
    ap.add_argument('--recipe', default='fast'); ap.add_argument('--variant', action='append', default=[])
    ap.add_argument('--set', action='append', default=[], metavar='KEY=VALUE')
    ap.add_argument('--folds', default='0,1,2,3,4'); ap.add_argument('--limit', type=int, default=None)
    ap.add_argument('--only-train', action='store_true', help='train and cache the folds; select and report in a later call')
    ap.add_argument('--no-base', action='store_true'); ap.add_argument('--out', default='outputs/decision_recipes')
    a = ap.parse_args(argv)
    import torch
    from med_llm_ft.data import ConfigError
    from med_llm_ft.config import load_config
    from med_llm_ft.ensembles import train_folds, _fold
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    if a.model == 'tiny':  # CPU check: a tiny random Llama
        from med_llm_ft.models import make_tiny_model
        a.model = str(out / 'tiny') if (out / 'tiny/config.json').exists() else make_tiny_model(out / 'tiny')
    common = dict(model=a.model, data=str(a.data), limit=a.limit, save_steps=0, eval_steps=0, eval_accuracy=False, report_to=['csv'])
    for s in a.set: k, v = s.split('=', 1); common[k] = v
    variants = dict(parse_variant(v) for v in a.variant) or {'default': {}}
    folds = [int(x) for x in a.folds.split(',')]
    t0, res = time.time(), {'model': a.model, 'recipe': a.recipe, 'folds': folds, 'common': {k: v for k, v in common.items() if k != 'data'},
                            'device': torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'cpu', 'variants': {}}
    runs, diverged = {}, {}
    for name, ov in variants.items():
        cfg = load_config(None, {**common, **ov, 'output_dir': str(out / name)}, a.recipe)
        try:
            if a.only_train:  # fold by fold, so parallel jobs can each take some (a fold trained with other settings is refused here)
                for k in folds: _fold(cfg, k, out / name)
                continue
            runs[name] = train_folds(dataclasses.replace(cfg, folds=a.folds, eval_base=False))
        except ConfigError as e:  # training diverged (NaN): recorded, and the variant is out of the selection
            if 'diverged' not in str(e): raise
            diverged[name] = {'overrides': ov, 'diverged': str(e)}
            print(json.dumps({'variant': name, **diverged[name]}), flush=True); continue
        r = runs[name]
        res['variants'][name] = {'overrides': ov, **r['oof'], 'use_bias': r['use_bias'], 'train_tok_per_s': r['train_tok_per_s'], 'train_s': r['train_s']}
        print(json.dumps({'variant': name, **res['variants'][name]}), flush=True)
    res['diverged'] = diverged
    if a.only_train: return
    if not runs:  # nothing to select: every variant diverged
        (out / 'results.json').write_text(json.dumps(res, indent=1, default=str))
        print(json.dumps({'model': a.model, 'device': res['device'], 'selected': None, 'diverged': list(diverged)}), flush=True)
        return
    def oof_f1(n): v = res['variants'][n]; return (v['calibrated' if v['use_bias'] else 'raw']['macro_f1'], v['calibrated' if v['use_bias'] else 'raw']['acc'])
    best = max(runs, key=oof_f1)  # selection on the folds only
    res['selected'] = {'variant': best, 'calibrated': runs[best]['use_bias']}
    if not a.no_base:  # every fold is cached: this only scores the base model
        cfg = load_config(None, {**common, **variants[best], 'output_dir': str(out / best)}, a.recipe)
        runs[best] = train_folds(dataclasses.replace(cfg, folds=a.folds, eval_base=True))
    r = runs[best]
    if 'test' in r:
        res['test'] = {'ensemble': {**r['test'], 'n_models': len(r['folds']), 'bias': r['bias']}, 'fold0_raw': r['test_one_model']}
        if 'base_test' in r: res['test'].update(base=r['base_test'], mcnemar_base_vs_ensemble=r['mcnemar_base_vs_ensemble'])
    res['command'] = (f"med-llm-ft train --recipe {a.recipe} --model {a.model} --data {a.data} --folds {a.folds} "
                      + ' '.join(f'--set {k}={v}' for k, v in {**{k: v for k, v in common.items() if k not in ('model', 'data')}, **variants[best]}.items() if v is not None))
    res['wall_s'] = round(time.time() - t0, 1)
    (out / 'results.json').write_text(json.dumps(res, indent=1, default=str))
    print(json.dumps({k: res.get(k) for k in ('model', 'device', 'selected', 'test', 'wall_s')}, default=str), flush=True)


if __name__ == '__main__': main()
