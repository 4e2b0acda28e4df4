"""Training throughput and accuracy, side by side: the baseline recipe against med_llm_ft, in one run on one GPU.

Runs `../shared/bench/baseline_recipe.py` as a subprocess (it prints one JSON line), then `med_llm_ft.qlora.train` on the
same model, the same data (the 500 non-test PubMedQA questions, stratified 90/10, the same 449 training questions) and the
same number of epochs, scores the official 500 test questions with log-likelihood label scoring (as the baseline does),
and prints one JSON line: training tokens/s, peak memory, test accuracy / macro-F1 and MFU for both, and their ratios.

MFU = 6 * N * tokens/s / peak, N = the model's parameters (embeddings included), peak = 989e12 FLOP/s
(H100/H200 SXM dense bf16; --peak-tflops to change). Tokens are unpadded training tokens, as the baseline counts them.

    # GPU, the issue's comparison (SmolLM2-135M, 3 epochs)
    python bench/bench_train.py --model $(python -c "from med_llm_ft.data import packaged_gguf; print(packaged_gguf('smollm2-135m'))") \
        --data ../shared/data/pubmedqa --epochs 3
    # several variants of ours in the same run (each is NAME:key=value,key=value on top of --recipe)
    python bench/bench_train.py --model X.gguf --data ../shared/data/pubmedqa --variant fast: --variant dw5:decision_weight=5
    # CPU smoke test (seconds to minutes)
    python bench/bench_train.py --model TINY_OR_GGUF --data ../shared/data/pubmedqa --limit 8 --epochs 0.1
"""
import argparse, gc, json, os, subprocess, sys, time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # this checkout's med_llm_ft first

PEAK_BF16 = 989e12  # H100 / H200 SXM, dense bf16 tensor-core FLOP/s


def find_baseline(p=None):
    cands = [p] if p else [c / 'shared/bench/baseline_recipe.py' for c in [Path.cwd(), *Path.cwd().parents, HERE.parent, *HERE.parents]]
    f = next((Path(c) for c in cands if c and Path(c).exists()), None)
    if f is None: sys.exit(f"baseline_recipe.py not found (looked for shared/bench/baseline_recipe.py above {Path.cwd()}); pass --baseline")
    return f


def last_json(text):
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith('{'):
            try: return json.loads(line)
            except json.JSONDecodeError: pass
    return None


def baseline_model_args(model):
    "The baseline loads the GGUF itself, except where transformers misreads the GGUF's tokenizer (Gemma): then it gets our conversion."
    m = Path(model)
    if m.suffix != '.gguf': return ['--model', str(m)]
    from med_llm_ft.data import resolve_model, GGUF_SPM_BPE
    conv = resolve_model(str(m))
    if json.loads((Path(conv) / 'config.json').read_text()).get('model_type') in GGUF_SPM_BPE: return ['--model', conv]
    return ['--model', str(m.parent), '--gguf', m.name]


def run_baseline(a, out):
    model_args = baseline_model_args(a.model)
    cmd = [sys.executable, str(find_baseline(a.baseline)), *model_args, '--data', str(a.data), '--bits', str(a.bits),
           '--epochs', str(a.epochs), '--out', str(out / 'baseline')] + (['--limit', str(a.limit)] if a.limit else [])
    print('baseline:', ' '.join(cmd), file=sys.stderr, flush=True)
    t0 = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True)
    res = last_json(p.stdout)
    if p.returncode != 0 or res is None:
        sys.stderr.write(p.stderr[-4000:])
        sys.exit(f"baseline failed (exit {p.returncode})")
    res['wall_s'] = round(time.time() - t0, 1)
    return res


def parse_variant(s):
    name, _, rest = s.partition(':')
    ov = {}
    for kv in filter(None, (x.strip() for x in rest.split(','))):
        if '=' not in kv: sys.exit(f"--variant {s!r}: expected NAME:key=value,key=value")
        k, v = kv.split('=', 1); ov[k.strip()] = v.strip()
    return name or 'ours', ov


def run_ours(a, name, ov, out):
    import torch
    from med_llm_ft.config import load_config
    from med_llm_ft.cli import run as train
    base = dict(model=a.model, data=str(a.data), split='official', epochs=a.epochs, eval_test=True, eval_base=a.base,
                eval_accuracy=False, eval_steps=0, save_steps=0, report_to=[], output_dir=str(out / name), limit=a.limit)
    for s in a.set:
        k, v = s.split('=', 1); base[k] = v
    cfg = load_config(None, {**base, **ov}, a.recipe)
    print(f'ours [{name}]:', json.dumps({k: v for k, v in vars(cfg).items() if v not in (None, '', [], False)}, default=str), file=sys.stderr, flush=True)
    t0 = time.time()
    res = train(cfg)
    trainer = res.pop('trainer')
    res['wall_s'] = round(time.time() - t0, 1)
    res['config'] = {k: getattr(cfg, k) for k in ('quant', 'batch_size', 'grad_accum', 'lr', 'gradient_checkpointing', 'padding_free',
                                                  'packing', 'group_by_length', 'decision_weight', 'explain', 'balance', 'attn_implementation')}
    del trainer; gc.collect()
    if torch.cuda.is_available(): torch.cuda.empty_cache()
    return res


def summary(r, n_params, peak, ours=True):
    tps = r.get('train_tok_per_s')
    test = r.get('test') if ours else r.get('ft_test')
    base = r.get('base_test')
    return {'train_tok_per_s': tps, 'train_tok_per_s_steady': r.get('train_tok_per_s_steady'), 'train_tokens': r.get('train_tokens'), 'train_s': r.get('train_s'), 'peak_gib': r.get('peak_gib'),
            'test_acc': (test or {}).get('acc'), 'test_macro_f1': (test or {}).get('macro_f1'), 'test_pred_dist': (test or {}).get('pred_dist'),
            'base_test_acc': (base or {}).get('acc'), 'base_test_macro_f1': (base or {}).get('macro_f1'),
            'mfu': round(6 * n_params * tps / peak, 6) if tps and n_params else None}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--model', required=True, help='.gguf file or model folder (both sides load the same weights)')
    ap.add_argument('--data', required=True, help='PubMedQA folder with ori_pqal.json and test_ground_truth.json')
    ap.add_argument('--epochs', type=float, default=3)
    ap.add_argument('--limit', type=int, default=None, help='smoke runs: this many training and test questions')
    ap.add_argument('--bits', type=int, default=4, help="the baseline's quantization (the issue's comparison uses 4)")
    ap.add_argument('--recipe', default='fast', help='our recipe (med_llm_ft.qlora.RECIPES)')
    ap.add_argument('--set', action='append', default=[], metavar='KEY=VALUE', help='override for every variant of ours')
    ap.add_argument('--variant', action='append', default=[], metavar='NAME:k=v,...', help='one run of ours per --variant (default: one, the recipe)')
    ap.add_argument('--base', action='store_true', help='also score the base model with our prompt (the baseline always does)')
    ap.add_argument('--skip-baseline', action='store_true'); ap.add_argument('--baseline-json', help='reuse a baseline result (its JSON line)')
    ap.add_argument('--baseline', help='path of baseline_recipe.py'); ap.add_argument('--out', default='outputs/bench_train')
    ap.add_argument('--peak-tflops', type=float, default=PEAK_BF16 / 1e12)
    a = ap.parse_args(argv)
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    peak = a.peak_tflops * 1e12
    import torch
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'cpu'

    if a.baseline_json: base = last_json(Path(a.baseline_json).read_text())
    elif a.skip_baseline: base = None
    else:
        base = run_baseline(a, out)
        (out / 'baseline.json').write_text(json.dumps(base))
    ours = {}
    for v in (a.variant or [f'{a.recipe}:']):
        name, ov = parse_variant(v)
        ours[name] = run_ours(a, name, ov, out)
        (out / f'ours_{name}.json').write_text(json.dumps(ours[name], default=str))
    n_params = next(iter(ours.values()))['n_params']
    res = {'device': device, 'model': a.model, 'epochs': a.epochs, 'limit': a.limit, 'n_params': n_params, 'peak_flops': peak,
           'mfu_formula': f'6 * {n_params} * train_tok_per_s / {peak:.4g}',
           'baseline': summary(base, n_params, peak, ours=False) if base else None,
           'ours': {k: {**summary(r, n_params, peak), 'config': r['config']} for k, r in ours.items()}}
    if base:
        b = res['baseline']
        res['ratio'] = {k: {'tok_per_s': round(o['train_tok_per_s'] / b['train_tok_per_s'], 2) if b['train_tok_per_s'] else None,
                            'peak_mem': round(o['peak_gib'] / b['peak_gib'], 2) if o['peak_gib'] and b['peak_gib'] else None,
                            'test_acc_delta': round(o['test_acc'] - b['test_acc'], 4) if None not in (o['test_acc'], b['test_acc']) else None,
                            'test_f1_delta': round(o['test_macro_f1'] - b['test_macro_f1'], 4) if None not in (o['test_macro_f1'], b['test_macro_f1']) else None}
                        for k, o in res['ours'].items()}
    (out / 'bench_train.json').write_text(json.dumps(res, indent=1))
    print(json.dumps(res))
    return res


if __name__ == '__main__': main()
