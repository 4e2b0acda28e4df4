"""The same QLoRA job under DeepSpeed ZeRO-3 on 1 and on N GPUs (the `deepspeed` launcher): per-GPU peak memory, tokens/s,
scaling efficiency, and the test accuracy of each saved adapter, reloaded in a fresh process and scored on its own.

    python experiments/zero3-two-gpus-smollm2/zero3_scaling.py --gpus 1,2                      # SmolLM2-135M-Instruct in 4 bits, PubMedQA non-test 500, test 500
    python experiments/zero3-two-gpus-smollm2/zero3_scaling.py --gpus 1 && python experiments/zero3-two-gpus-smollm2/zero3_scaling.py --gpus 2    # the same, one run per command
    python experiments/zero3-two-gpus-smollm2/zero3_scaling.py --tiny --gpus 1,2               # CPU check: tiny Llama, packaged sample, 2 processes over gloo

Every run uses the same global batch (per-GPU batch = global / GPUs), so both runs take the same optimizer steps on the same
data. Prints one JSON line per run (`out/gN/run.json`) and, once runs with 1 and N GPUs exist in `--out`, a summary line with
the speed-up and the scaling efficiency (tokens/s on N GPUs / (N x tokens/s on 1)).
The script launches itself (`--worker`) on every rank; the worker calls `med_llm_ft.qlora.train`.
"""
import argparse, dataclasses, json, os, shlex, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def worker(argv):
    "One rank: train as the --set overrides say, then write this rank's figures to OUT/rank{R}.json."
    import torch
    from med_llm_ft.config import load_config
    from med_llm_ft.cli import run as train
    ap = argparse.ArgumentParser()
    ap.add_argument('--deepspeed'); ap.add_argument('--set', nargs='*', default=[]); ap.add_argument('--worker', action='store_true')
    a = ap.parse_args(argv)
    ov = dict(s.split('=', 1) for s in a.set)
    ov['deepspeed'] = a.deepspeed
    res = train(load_config(None, ov))
    tr = res.pop('trainer')
    rank = int(os.environ.get('RANK', 0))
    gpu = torch.cuda.is_available()
    toks = [h['num_tokens'] for h in tr.state.log_history if 'num_tokens' in h]
    out = {'rank': rank, 'world_size': tr.args.world_size, 'train_s': res['train_s'], 'steps': res['steps'],
           'train_loss': res['train_loss'], 'num_tokens': float(toks[-1]) if toks else None, 'train_tokens': res.get('train_tokens'),
           'peak_gib': round(torch.cuda.max_memory_allocated() / 2**30, 3) if gpu else None,
           'reserved_gib': round(torch.cuda.max_memory_reserved() / 2**30, 3) if gpu else None,
           'device': torch.cuda.get_device_name() if gpu else 'cpu', 'eval_loss': res.get('eval_loss')}
    (Path(ov['output_dir']) / f'rank{rank}.json').write_text(json.dumps(out))


def score(run_dir, cfg_over:dict):
    "Reload the saved adapter in this (non-distributed) process, check it is complete, and score it on the test split."
    import torch
    from med_llm_ft.models import load_adapter
    from med_llm_ft.config import load_config
    from med_llm_ft.qlora import load_splits, evaluate_records
    from med_llm_ft.zero3 import check_adapter
    ad = Path(run_dir) / 'adapter'
    info = check_adapter(ad, None)
    cfg = load_config(Path(run_dir) / 'config.yaml')  # the run's own config (written by train); load_adapter rebuilds the base from it
    cfg = dataclasses.replace(cfg, deepspeed=None, eval_batch_size=16, **cfg_over)  # one scoring batch size for every run
    model, tok = load_adapter(ad)
    model.eval()
    recs = load_splits(cfg)['test'] or load_splits(cfg)['valid']
    t0 = time.time()
    m = evaluate_records(model, tok, recs, cfg)
    del model
    if torch.cuda.is_available(): torch.cuda.empty_cache()
    return {'n': len(recs), **{k: m.get(k) for k in ('acc', 'macro_f1', 'pred_dist') if k in m}, 'score_s': round(time.time() - t0, 1)}, info


def versions():
    import importlib.metadata as md
    return {p: md.version(p) for p in ('torch', 'transformers', 'peft', 'trl', 'accelerate', 'deepspeed', 'bitsandbytes')}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--gpus', default='1,2', help='comma-separated process counts to run')
    ap.add_argument('--model', default='smollm2-135m', help='packaged alias, .gguf file, folder or hub id')
    ap.add_argument('--data', default=None, help='PubMedQA folder (default: find_pubmedqa())')
    ap.add_argument('--quant', default='4bit'); ap.add_argument('--global_batch', type=int, default=8)
    ap.add_argument('--epochs', type=float, default=2); ap.add_argument('--lr', type=float, default=2e-4)
    ap.add_argument('--max_len', type=int, default=512); ap.add_argument('--max_steps', type=int, default=-1)
    ap.add_argument('--offload_optimizer', default='true', choices=('true', 'false'))
    ap.add_argument('--set', nargs='*', default=[], help='more TrainConfig overrides KEY=VALUE')
    ap.add_argument('--tiny', action='store_true', help='CPU check: tiny random Llama, packaged sample, few steps')
    ap.add_argument('--out', default='outputs/zero3_scaling')
    ap.add_argument('--timeout', type=int, default=1800)
    a = ap.parse_args()
    import inspect, torch
    from med_llm_ft import qlora
    from med_llm_ft.zero3 import write_zero3, launch_command, launcher_argv, extensions_dir, ds_precision
    from med_llm_ft.models import free_port
    if 'prepare_zero3' not in inspect.getsource(qlora.train):
        sys.exit('med_llm_ft.qlora.train does not call med_llm_ft.zero3.prepare_zero3: this checkout lacks the ZeRO-3 hooks')
    out = Path(a.out).resolve(); out.mkdir(parents=True, exist_ok=True)
    gpu = torch.cuda.is_available()
    over = dict(quant=a.quant, lr=a.lr, epochs=a.epochs, max_steps=a.max_steps, max_len=a.max_len, target_modules='all-linear',
                gradient_checkpointing='false', eval_accuracy='false', save_steps=0, logging_steps=5, report_to='csv', seed=0)
    if a.tiny:
        from med_llm_ft.models import make_tiny_model
        model = str(out / 'tiny') if (out / 'tiny/config.json').exists() else make_tiny_model(out / 'tiny')
        over.update(model=model, split='stratified', max_len=128, max_steps=a.max_steps if a.max_steps > 0 else 4, logging_steps=1)
    else:
        from med_llm_ft.data import find_pubmedqa, resolve_model
        data = a.data or find_pubmedqa()
        if not data: sys.exit('no PubMedQA folder: pass --data DIR (with ori_pqal.json and test_ground_truth.json)')
        over.update(model=resolve_model(a.model), data=str(data), split='official')  # convert a GGUF once, before the ranks start
    over.update(dict(s.split('=', 1) for s in a.set))
    ds = write_zero3(out / 'deepspeed_z3.json', offload_optimizer=a.offload_optimizer == 'true')
    env = {**os.environ, 'TORCH_EXTENSIONS_DIR': str(extensions_dir()), 'TOKENIZERS_PARALLELISM': 'false',
           'PYTHONPATH': os.pathsep.join([str(ROOT), os.environ.get('PYTHONPATH', '')]).rstrip(os.pathsep)}
    if not gpu: env.setdefault('OMP_NUM_THREADS', '1')
    for n in [int(x) for x in a.gpus.split(',')]:
        if a.global_batch % n: sys.exit(f'--global_batch {a.global_batch} does not divide over {n} GPUs')
        if gpu and n > torch.cuda.device_count(): sys.exit(f'{n} GPUs asked, {torch.cuda.device_count()} visible')
        run_dir = out / f'g{n}'
        kv = {**over, 'batch_size': a.global_batch // n, 'output_dir': str(run_dir)}
        cmd = launch_command(ds, 'deepspeed', n, master_port=free_port(), entry=[str(Path(__file__).resolve())],
                             train_args=['--worker', '--set', *[f'{k}={v}' for k, v in kv.items()]])
        for f in run_dir.glob('rank*.json'): f.unlink()
        t0 = time.time()
        r = subprocess.run(launcher_argv(cmd), env=env, capture_output=True, text=True, timeout=a.timeout)
        wall = round(time.time() - t0, 1)
        (out / f'g{n}.log').write_text(r.stdout + '\n' + r.stderr)
        ranks = [json.loads(f.read_text()) for f in sorted(run_dir.glob('rank*.json'))]
        if r.returncode != 0 or len(ranks) != n or any(x['world_size'] != n for x in ranks):
            print(json.dumps({'gpus': n, 'error': f'exit code {r.returncode}, {len(ranks)} of {n} ranks reported', 'log': str(out / f'g{n}.log'),
                              'tail': (r.stdout + r.stderr)[-3000:]}), flush=True)
            continue
        secs = max(x['train_s'] for x in ranks)
        tokens = ranks[0]['num_tokens'] or ranks[0]['train_tokens']
        test, info = score(run_dir, {})
        row = {'gpus': n, 'device': ranks[0]['device'], 'world_size': ranks[0]['world_size'], 'model': str(a.model if not a.tiny else 'tiny-llama'),
               'quant': a.quant, 'precision': ds_precision(ds), 'offload_optimizer': a.offload_optimizer == 'true',
               'global_batch': a.global_batch, 'per_gpu_batch': a.global_batch // n, 'steps': ranks[0]['steps'],
               'train_s': secs, 'train_tokens': tokens, 'tok_per_s': round(tokens / secs, 1), 'train_loss': ranks[0]['train_loss'],
               'eval_loss': ranks[0]['eval_loss'], 'peak_gib_per_gpu': [x['peak_gib'] for x in ranks],
               'reserved_gib_per_gpu': [x['reserved_gib'] for x in ranks], 'test': test,
               'adapter': {k: info[k] for k in ('tensors', 'params', 'bytes')}, 'wall_s': wall, 'command': cmd}
        (run_dir / 'run.json').write_text(json.dumps(row))
        print(json.dumps(row), flush=True)
    runs = {int(p.parent.name[1:]): json.loads(p.read_text()) for p in out.glob('g*/run.json')}
    if 1 in runs and len(runs) > 1:
        n = max(runs)
        one, many = runs[1], runs[n]
        rows = [f"| {k} GPU{'s' if k > 1 else ''} | {r['per_gpu_batch']} | {r['steps']} | {r['train_s']} | {r['tok_per_s']:,.0f} | "
                f"{' / '.join(f'{x:.2f}' for x in r['peak_gib_per_gpu'] if x is not None) or 'n/a'} | {r['test'].get('acc')} / {r['test'].get('macro_f1')} |"
                for k, r in sorted(runs.items())]
        md = '\n'.join([f"Hardware: {many['device']} x {n}; {json.dumps(versions())}", '',
                         '| run | batch per GPU | steps | train s | tokens/s | peak GiB per GPU | test acc / macro-F1 |', '|---|---|---|---|---|---|---|', *rows, '',
                         f"Speed-up {many['tok_per_s'] / one['tok_per_s']:.2f}x, scaling efficiency {many['tok_per_s'] / (n * one['tok_per_s']):.0%}.", '',
                         *[f"    {r['command']}" for _, r in sorted(runs.items())]])
        (out / 'summary.md').write_text(md + '\n')
        print(json.dumps({'summary': f'1 vs {n} GPUs', 'device': many['device'], 'speedup': round(many['tok_per_s'] / one['tok_per_s'], 3),
                          'scaling_efficiency': round(many['tok_per_s'] / (n * one['tok_per_s']), 3),
                          'tok_per_s': {1: one['tok_per_s'], n: many['tok_per_s']},
                          'peak_gib_per_gpu': {1: one['peak_gib_per_gpu'], n: many['peak_gib_per_gpu']},
                          'test_acc': {1: one['test'].get('acc'), n: many['test'].get('acc')},
                          'test_macro_f1': {1: one['test'].get('macro_f1'), n: many['test'].get('macro_f1')},
                          'versions': versions()}), flush=True)


if __name__ == '__main__':
    if '--worker' in sys.argv: worker(sys.argv[1:])
    else: main()
