"""Label-scoring speed, in one run on the same model object and the same prompts: today's scorer (pinned in
`bench/legacy_scoring.py`: fixed batches of `--batch-size` rows), the new `med_llm_ft.evaluation.score_labels` (batches by a
token budget, vectorised gathers, option tails on the prompt's KV cache) and lm-evaluation-harness's HF backend
(`loglikelihood` on the task `export_lm_eval` writes), with the agreement of their predictions.

Two workloads:
- `pubmedqa`: PubMedQA's 500 official test questions (`find_pubmedqa()`, `official_split`), max_len 512.
- `mcq`: 1,273 multiple-choice questions with options A-E of MedQA-like lengths, max_len 1024. There is no MedQA data
  offline, so they are built deterministically from PubMedQA's labelled records: the question plus the first 60-140 words of its
  abstract as the stem, five option texts taken from the conclusions of other records, the answer letter drawn by a seeded
  generator (the JSON says so under `workloads`).

Models: `--model` (a packaged alias or a folder) or `--shape` (a random-weight model of a published shape, `med_llm_ft.shapes`:
`smollm2-135m`, `qwen2.5-1.5b`, ...), built in bf16 on a GPU and float32 on a CPU, with `--tokenizer`'s tokenizer. Random
weights time the work truthfully; their label scores are close together, so bf16 rounding can flip a near-tie between scorers:
the JSON gives the agreement, the largest score difference and how many disagreements are such near-ties.

    python bench/bench_label_scoring.py --shape tiny --limit 40                        # CPU, about a minute
    python bench/bench_label_scoring.py --run pubmedqa@shape:smollm2-135m --run mcq@shape:qwen2.5-1.5b \\
        --tokenizer .bench/tok --data .bench/pubmedqa --out experiments/label-scoring-speed/results/label_scoring_h200.json   # one H200

Add `--vllm` to time `serving.vllm_score_labels` beside them (one `serving.scoring_engine` per workload, in the mode where a label's
next token is scored among the labels' tokens; options of several tokens by prompt log-probabilities; the prefix cache emptied
before each timed pass, and the same engine's passes with it kept beside them; `--vllm-budget N` adds an engine taking N prompt
tokens per step, `--vllm-chunk N` times the first engine once more with questions sent N at a time, `--vllm-quant Q` adds an
engine whose weights vLLM quantizes as it loads them, e.g. fp8),
`--liger` to time the new scorer once more after Liger's Triton kernels (RMSNorm, RoPE, SwiGLU) are put into the model (last, since
they patch it in place), `--fp8` once more after that with the decoder layers' linears in float8 (`bench/fp8_linear.py`), and `--profile` for the GPU kernels that take the forward's time (torch.profiler, one pass).

(.bench/tok: `load_tokenizer().save_pretrained('.bench/tok')`; .bench/pubmedqa: a copy of ori_pqal.json. On a GPU machine without
lm-eval, carry the wheels of lm_eval 0.4.13, datasets 5.2.0, dill 0.4.1 and multiprocess 0.70.19.)

Writes one JSON (`--out`) and prints it.
"""
import argparse, json, os, platform, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT)); sys.path.insert(0, str(ROOT / 'bench'))

MCQ_N, LETTERS = 1273, 'ABCDE'


def mcq_records(recs, n=MCQ_N, seed=0):
    "`n` five-option questions built from PubMedQA records `recs`: question + 60-140 words of the abstract, options from other records' conclusions."
    import numpy as np
    from med_llm_ft.data import QARecord
    rng = np.random.default_rng(seed)
    recs = sorted(recs, key=lambda r: r.id)
    concl = [' '.join(r.explanation.split()[:int(rng.integers(3, 12))]).rstrip('.,;') for r in recs]
    out = []
    for i in range(n):
        r = recs[i % len(recs)]
        words = ' '.join(r.context).split()
        start = 0 if i < len(recs) else min(len(words) // 2, 40)  # a second pass over the records takes another slice
        stem = f"{r.question} {' '.join(words[start:start + int(rng.integers(60, 141))])}"
        others = [j + (j >= i % len(recs)) for j in rng.choice(len(recs) - 1, 5, replace=False)]  # five other records
        opts = dict(zip(LETTERS, (concl[j] or 'None of the above' for j in others)))
        out.append(QARecord(f'mcq:{i}', stem, LETTERS[int(rng.integers(5))], options=opts, source='pubmedqa-mcq'))
    return out


def load_workload(name, data, limit):
    from med_llm_ft.data import find_pubmedqa, load_records, official_split, subset
    d = find_pubmedqa(*([data] if data else []))
    if d is None: sys.exit("bench_label_scoring: PubMedQA PQA-L not found; pass --data DIR (a folder with ori_pqal.json) or set PUBMEDQA_DIR")
    recs = load_records(d)
    if name == 'pubmedqa':
        test = official_split(recs)['test']
        return (subset(test, limit)[:limit] if limit else test), 512
    if name == 'mcq':
        mc = mcq_records(recs)
        return (mc[:limit] if limit else mc), 1024
    sys.exit(f"bench_label_scoring: unknown workload {name!r} (pubmedqa, mcq)")


def build_model(spec, tok, device):
    "(model, description): `shape:NAME` builds random weights of that shape; anything else is loaded with `load_model`."
    import torch
    if spec.startswith('shape:'):
        from med_llm_ft import shapes
        name = spec[6:]
        dtype = 'bfloat16' if device.startswith('cuda') else 'float32'
        model = shapes.build_shape(name, device, dtype, 0, len(tok)).eval()
        return model, {'model': f'random weights, shape {name}', 'dtype': dtype, 'params': sum(p.numel() for p in model.parameters())}
    from med_llm_ft.models import load_model
    model, _ = load_model(spec, device=device)
    return model, {'model': spec, 'dtype': str(next(model.parameters()).dtype).replace('torch.', ''),
                   'params': sum(p.numel() for p in model.parameters())}


def agreement(a, b, sa, sb):
    """Share of equal argmaxes, the largest difference of the scores relative to each question's first option (lm-eval also scores
    the prompt's trailing newline, the same for every option), and the disagreements whose top-2 margin is within twice that difference."""
    import numpy as np
    pa, pb = sa.argmax(1), sb.argmax(1)
    diff = float(np.abs((sa - sa[:, :1]) - (sb - sb[:, :1])).max())
    top2 = np.sort(sa, 1)[:, -2:]; margin = top2[:, 1] - top2[:, 0]
    dis = pa != pb
    return {'agreement': round(float((~dis).mean()), 4), 'n_disagree': int(dis.sum()), 'max_abs_relative_score_diff': round(diff, 5),
            'n_disagree_near_tie': int((dis & (margin <= 2 * diff)).sum())}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--model', default=None, help='packaged alias or model folder, for both workloads')
    ap.add_argument('--shape', default=None, help='a random-weight model of this shape, for both workloads (tiny, smollm2-135m, qwen2.5-1.5b, ...)')
    ap.add_argument('--run', action='append', default=None, metavar='WORKLOAD@MODEL',
                    help="a workload and its model, e.g. pubmedqa@shape:smollm2-135m or mcq@smollm2-135m (repeatable; overrides --model/--shape)")
    ap.add_argument('--tokenizer', default=None, help='tokenizer folder or alias (default: the packaged SmolLM2 tokenizer)')
    ap.add_argument('--data', default=None, help='folder with ori_pqal.json (default: find_pubmedqa())')
    ap.add_argument('--limit', type=int, default=None, help='questions per workload (default: all: 500 and 1,273)')
    ap.add_argument('--device', default=None, help="'cpu' or 'cuda' (default: the GPU if any)")
    ap.add_argument('--batch-size', type=int, default=16, help="today's scorer's rows per batch (the CLI's default: 16)")
    ap.add_argument('--max-batch-tokens', default='auto', help="the new scorer's token budget ('auto': from the GPU's free memory; none on CPU)")
    ap.add_argument('--lm-eval-batch-size', type=int, default=None, help="lm-eval's batch size (default 64 on GPU, 16 on CPU)")
    ap.add_argument('--no-lm-eval', action='store_true', help='leave lm-eval out')
    ap.add_argument('--vllm', action='store_true', help="also `serving.vllm_score_labels`: the model saved to a folder, one vLLM engine per workload (prefix caching on, emptied before each timed pass)")
    ap.add_argument('--vllm-chunk', type=int, default=None, metavar='N', help="with --vllm, also time the engine with questions sent N at a time (more than there are: one request)")
    ap.add_argument('--vllm-budget', type=int, default=None, metavar='N', help="with --vllm, also an engine taking N prompt tokens per step (vLLM's default on a large GPU: 16384)")
    ap.add_argument('--vllm-quant', default=None, metavar='Q', help="with --vllm, also an engine whose weights vLLM quantizes as it loads them (quantization=Q, e.g. fp8 on a GPU with FP8 units; vLLM 0.22's fp8 imports the humming-kernels package)")
    ap.add_argument('--liger', action='store_true', help="also the new scorer with Liger's kernels in the model (GPU, liger-kernel installed)")
    ap.add_argument('--fp8', action='store_true', help="also the new scorer with the decoder layers' linears in float8 (`bench/fp8_linear.py`; after --liger's kernels if given; a GPU with FP8 units, or the CPU)")
    ap.add_argument('--profile', action='store_true', help="the forward's top GPU kernels by time (torch.profiler), with and without --liger")
    ap.add_argument('--repeats', type=int, default=3, help='time our two scorers this many times, interleaved, and keep the fastest of each (lm-eval: once)')
    ap.add_argument('--out', default='bench_label_scoring.json', help='the JSON to write')
    a = ap.parse_args(argv)

    import numpy as np, torch
    from med_llm_ft.data import load_tokenizer, SYSTEM_PROMPT
    from med_llm_ft.evaluation import score_labels, export_lm_eval, dataset_task
    from legacy_scoring import _raw_scores as legacy_raw_scores

    device = a.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    cuda = device.startswith('cuda')
    tok = load_tokenizer(a.tokenizer) if a.tokenizer else load_tokenizer()
    spec = f'shape:{a.shape}' if a.shape else (a.model or 'smollm2-135m')
    runs = [r.split('@', 1) for r in a.run] if a.run else [('pubmedqa', spec), ('mcq', spec)]
    mbt = None if a.max_batch_tokens in ('none', 'None') else a.max_batch_tokens if a.max_batch_tokens == 'auto' else int(a.max_batch_tokens)
    lm_bs = a.lm_eval_batch_size or (64 if cuda else 16)

    def sync():
        if cuda: torch.cuda.synchronize()

    def timed(fn):
        sync(); t = time.perf_counter(); out = fn(); sync()
        return out, time.perf_counter() - t

    results, models = [], {}
    for workload, mspec in runs:
        recs, max_len = load_workload(workload, a.data, a.limit)
        if mspec not in models:
            for m in list(models): del models[m]  # one model on the device at a time
            if cuda: torch.cuda.empty_cache()
            models[mspec] = build_model(mspec, tok, device)
        model, info = models[mspec]
        n = len(recs)
        # warm-up (kernels, allocator, the tokenizer's caches) on a few questions, outside the timings
        legacy_raw_scores(model, tok, recs[:4], 'chat', SYSTEM_PROMPT, max_len, a.batch_size, True)
        score_labels(model, tok, recs[:4], max_len=max_len, batch_size=a.batch_size, max_batch_tokens=mbt)
        t_old = t_new = float('inf')
        for _ in range(a.repeats):  # interleaved, the fastest of each kept: a shared machine's noise hits both alike
            (labels, old, _), t = timed(lambda: legacy_raw_scores(model, tok, recs, 'chat', SYSTEM_PROMPT, max_len, a.batch_size, True)); t_old = min(t_old, t)
            new, t = timed(lambda: score_labels(model, tok, recs, max_len=max_len, batch_size=a.batch_size, max_batch_tokens=mbt)); t_new = min(t_new, t)
        assert tuple(new['labels']) == tuple(labels)
        res = {'workload': workload, 'dataset_task': list(dataset_task(recs)), 'n': n, 'max_len': max_len, **info,
               'scorers': {'today': {'seconds': round(t_old, 4), 'questions_per_s': round(n / t_old, 1), 'batch_size': a.batch_size},
                           'new': {'seconds': round(t_new, 4), 'questions_per_s': round(n / t_new, 1), 'max_batch_tokens': new['max_batch_tokens'],
                                   'n_fast': new['n_fast'], 'n_shared': new['n_shared']}},
               'agreement': {'new_vs_today': agreement(labels, labels, old, new['raw_scores'])},
               'accuracy': {'today': round(float(np.mean([labels[j] == r.answer for j, r in zip(old.argmax(1), recs)])), 4),
                            'new': round(float(np.mean([p == r.answer for p, r in zip(new['pred'], recs)])), 4)}}
        res['speedup_new_vs_today'] = round(t_old / t_new, 2)
        res['phases'] = phases(model, tok, recs, max_len, a.batch_size, new['max_batch_tokens'], timed)
        if a.profile: res['profile'] = profile(model, tok, recs, max_len, a.batch_size, new['max_batch_tokens'])
        if not a.no_lm_eval:
            try: res['scorers']['lm_eval_hf'], theirs = run_lm_eval(model, tok, recs, max_len, lm_bs)
            except Exception as e:  # (a missing or mismatched lm-eval dependency): the run keeps its other numbers and says why
                res['scorers']['lm_eval_hf'] = {'error': f"{type(e).__name__}: {e}"}; results.append(res)
                print(json.dumps({'workload': workload, 'lm_eval_error': res['scorers']['lm_eval_hf']['error']}), flush=True); continue
            res['agreement']['lm_eval_vs_new'] = agreement(labels, labels, new['raw_scores'], theirs)
            res['agreement']['lm_eval_vs_today'] = agreement(labels, labels, old, theirs)
            res['speedup_new_vs_lm_eval'] = round(res['scorers']['lm_eval_hf']['loglikelihood_seconds'] / t_new, 2)
        if a.vllm:
            try: vt, vs = run_vllm(model, tok, recs, max_len, info['dtype'], a.repeats, a.vllm_budget, a.vllm_chunk, a.vllm_quant)
            except Exception as e: res['scorers']['vllm'] = {'error': f"{type(e).__name__}: {e}"[-2000:]}
            else:
                res['scorers'].update(vt)
                for name in vs: res['agreement'][f'{name}_vs_new'] = agreement(labels, labels, new['raw_scores'], vs[name])
                res['speedup_vllm_vs_new'] = round(t_new / res['scorers']['vllm']['seconds'], 2)
        if a.liger:  # last: the kernels go into this model for good, so it is not used again
            try: res['scorers']['new_liger'], ls = run_liger(model, tok, recs, max_len, a.batch_size, mbt, a.repeats, timed)
            except Exception as e: res['scorers']['new_liger'] = {'error': f"{type(e).__name__}: {e}"[-2000:]}
            else:
                res['agreement']['new_liger_vs_new'] = agreement(labels, labels, new['raw_scores'], ls)
                res['speedup_new_liger_vs_new'] = round(t_new / res['scorers']['new_liger']['seconds'], 2)
                res['phases_liger'] = phases(model, tok, recs, max_len, a.batch_size, new['max_batch_tokens'], timed)
                if a.profile: res['profile_liger'] = profile(model, tok, recs, max_len, a.batch_size, new['max_batch_tokens'])
        if a.fp8:  # after Liger's kernels if those are in: float8 linears go into the same model
            name = 'new_liger_fp8' if a.liger and 'error' not in res['scorers']['new_liger'] else 'new_fp8'
            try: res['scorers'][name], fs = run_fp8(model, tok, recs, max_len, a.batch_size, mbt, a.repeats, timed)
            except Exception as e: res['scorers'][name] = {'error': f"{type(e).__name__}: {e}"[-2000:]}
            else:
                res['agreement'][f'{name}_vs_new'] = agreement(labels, labels, new['raw_scores'], fs)
                res['accuracy'][name] = round(float(np.mean([labels[j] == r.answer for j, r in zip(fs.argmax(1), recs)])), 4)
                res[f'speedup_{name}_vs_new'] = round(t_new / res['scorers'][name]['seconds'], 2)
                res[f'phases_{name}'] = phases(model, tok, recs, max_len, a.batch_size, new['max_batch_tokens'], timed)
                if a.profile: res[f'profile_{name}'] = profile(model, tok, recs, max_len, a.batch_size, new['max_batch_tokens'])
        if a.liger or a.fp8: del models[mspec]  # patched in place: not used again
        results.append(res)
        print(json.dumps({k: res[k] for k in ('workload', 'model', 'n', 'scorers', 'agreement')}), flush=True)

    gpu = torch.cuda.get_device_name(0) if cuda else None
    out = {'command': 'python ' + ' '.join([os.path.relpath(__file__, ROOT)] + (argv if argv is not None else sys.argv[1:])),
           'device': device, 'gpu': gpu, 'cpu': platform.processor() or platform.machine(), 'cpu_threads': torch.get_num_threads(),
           'torch': torch.__version__, 'transformers': __import__('transformers').__version__,
           'lm_eval': None if a.no_lm_eval else _version('lm_eval'), 'repeats': a.repeats,
           'timing': 'wall seconds of each scorer on all questions, tokenization included, after a warm-up on 4 questions; '
                     "lm-eval: the seconds inside HFLM.loglikelihood (its tokenization included), and simple_evaluate's whole time beside it",
           'workloads': {'pubmedqa': "PubMedQA PQA-L, the official 500-question test split; our chat prompt; max_len 512",
                         'mcq': f"{MCQ_N} five-option (A-E) questions built deterministically from PubMedQA PQA-L records (no MedQA data offline): "
                                "the question + 60-140 words of its abstract as the stem, options from other records' conclusions, "
                                "answer letters drawn by a seeded generator; our chat prompt; max_len 1024"},
           'results': results}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=1) + '\n')
    print(json.dumps(out, indent=1))
    return out


def phases(model, tok, recs, max_len, batch_size, max_batch_tokens, timed):
    """Where the new scorer's time goes: building the rows (templates, tokenizer; CPU) and the forward passes over them, each timed alone,
    with the forward's FLOPs (2 x the decoder layers' parameters x tokens: the LM head runs at the scored positions only) and the
    questions/s that the forward alone would allow at 790 TFLOP/s (an H200's bf16 matrix rate, as measured for the device notes)."""
    from med_llm_ft.data import SYSTEM_PROMPT
    from med_llm_ft.evaluation import _rows_for, _forward_rows
    (rows, _), t_rows = timed(lambda: _rows_for(recs, tok, 'chat', SYSTEM_PROMPT, max_len, True))
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    _, t_fwd = timed(lambda: _forward_rows(model, rows, batch_size, pad, max_batch_tokens))
    tokens = sum(len(r[0]) for r in rows)
    weights = [*model.named_parameters(), *((n, b) for n, b in model.named_buffers() if n.endswith('.weight'))]  # (float8 weights are buffers)
    flop = 2 * sum(p.numel() for n, p in weights if '.layers.' in n) * tokens
    return {'rows_seconds': round(t_rows, 4), 'forward_seconds': round(t_fwd, 4), 'tokens': tokens, 'forward_tflop': round(flop / 1e12, 4),
            'forward_tflop_per_s': round(flop / 1e12 / t_fwd, 1), 'questions_per_s_at_790_tflop_per_s': round(len(recs) / (flop / 790e12), 1)}


def profile(model, tok, recs, max_len, batch_size, max_batch_tokens, top=15):
    "The forward's time by kernel (torch.profiler over one `_forward_rows` pass; on a CPU its operators): the `top`, their share and calls."
    import torch
    from torch.profiler import profile as prof, ProfilerActivity
    from med_llm_ft.data import SYSTEM_PROMPT
    from med_llm_ft.evaluation import _rows_for, _forward_rows
    cuda = next(model.parameters()).is_cuda
    rows, _ = _rows_for(recs, tok, 'chat', SYSTEM_PROMPT, max_len, True)
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    with prof(activities=[ProfilerActivity.CUDA if cuda else ProfilerActivity.CPU]) as p:
        _forward_rows(model, rows, batch_size, pad, max_batch_tokens)
        if cuda: torch.cuda.synchronize()
    us = (lambda e: e.self_device_time_total) if cuda else (lambda e: e.self_cpu_time_total)
    ev = sorted((e for e in p.key_averages() if us(e) > 0), key=lambda e: -us(e))
    total = sum(map(us, ev))
    return {'device': 'cuda' if cuda else 'cpu', 'ms': round(total / 1e3, 2),
            'top': [{'kernel': e.key[:120], 'ms': round(us(e) / 1e3, 2), 'share': round(us(e) / total, 4), 'calls': e.count} for e in ev[:top]]}


def run_patched(patch, model, tok, recs, max_len, batch_size, mbt, repeats, timed):
    "(timing, raw scores) of `score_labels` after `patch(model)` changes the model in place; the first 4 questions warm it up (compiles), timed apart."
    from med_llm_ft.evaluation import score_labels
    patch(model)
    t0 = time.perf_counter()
    score_labels(model, tok, recs[:4], max_len=max_len, batch_size=batch_size, max_batch_tokens=mbt)
    warm = time.perf_counter() - t0
    best, out = float('inf'), None
    for _ in range(repeats):
        o, t = timed(lambda: score_labels(model, tok, recs, max_len=max_len, batch_size=batch_size, max_batch_tokens=mbt))
        if t < best: best, out = t, o
    return {'seconds': round(best, 4), 'questions_per_s': round(len(recs) / best, 1), 'warm_up_s': round(warm, 2)}, out['raw_scores']


def run_liger(*args):
    "`run_patched` with Liger's RMSNorm, RoPE and SwiGLU kernels put into the model (`models.apply_liger`, as `evaluate_model` does)."
    from med_llm_ft.models import apply_liger
    t, scores = run_patched(apply_liger, *args)
    return {**t, 'liger_kernel': _version('liger-kernel')}, scores


def run_fp8(*args):
    "`run_patched` with the decoder layers' linears made float8 (`fp8_linear.apply_fp8`: weights per row, inputs per token)."
    from fp8_linear import apply_fp8
    return run_patched(apply_fp8, *args)


def run_vllm(model, tok, recs, max_len, dtype, repeats, budget=None, chunk=None, quant=None):
    """({scorer: timing}, {scorer: raw scores}) of `serving.vllm_score_labels` on `model` saved to a folder, on an engine from
    `serving.scoring_engine` (its start not timed), the prefix cache emptied before every timed pass (`vllm`): a repeat would otherwise
    find its prompts computed already, as the same engine's passes with the cache kept show (`vllm_prefix_cache_kept`). With `budget`,
    also on an engine taking that many prompt tokens per step (`vllm_budget_N`; vLLM's default on a large GPU: 16384). With `chunk`,
    the first engine's passes are timed once more with questions sent `chunk` at a time (`vllm_chunk_N`; the default: one request). With
    `quant`, also on an engine whose weights vLLM quantizes as it loads them (`vllm_quant_Q`, e.g. 'fp8': another model, so never a default)."""
    import torch
    from med_llm_ft.serving import scoring_engine, vllm_score_labels
    out, scores = {}, {}
    def best_of(eng, reset, chunk=None):
        best = float('inf')
        for _ in range(repeats):
            if reset: eng.reset_prefix_cache()
            t = time.perf_counter(); o = vllm_score_labels(d, recs, max_len=max_len, engine=eng, chunk=chunk); best = min(best, time.perf_counter() - t)
        return {'seconds': round(best, 4), 'questions_per_s': round(len(recs) / best, 1)}, o['raw_scores']
    with tempfile.TemporaryDirectory() as d:
        model.save_pretrained(d); tok.save_pretrained(d)
        if torch.cuda.is_available(): torch.cuda.empty_cache()  # this process keeps its model: vLLM gets a share of the memory, not 90%
        kw = {'gpu_memory_utilization': 0.6} if torch.cuda.is_available() else {}
        for name, extra in [('vllm', {}), *([(f'vllm_budget_{budget}', {'max_num_batched_tokens': budget})] if budget else []),
                            *([(f'vllm_quant_{quant}', {'quantization': quant})] if quant else [])]:
            try:
                with scoring_engine(d, max_len, dtype=dtype, enable_prefix_caching=True, **kw, **extra) as eng:
                    vllm_score_labels(d, recs[:4], max_len=max_len, engine=eng)  # warm-up
                    out[name], scores[name] = best_of(eng, True)
                    if name == 'vllm' and chunk: out[f'vllm_chunk_{chunk}'], _ = best_of(eng, True, chunk)
                    if name == 'vllm': out['vllm_prefix_cache_kept'], _ = best_of(eng, False)
            except Exception as e:  # (the first engine's error fails the run; a variant's is recorded)
                if name == 'vllm': raise
                out[name] = {'error': f"{type(e).__name__}: {e}"[-2000:]}; continue
            out[name].update(engine_start_s=eng.startup_s, max_num_batched_tokens=extra.get('max_num_batched_tokens', 'vLLM default'),
                             quantization=extra.get('quantization'), vllm=eng.version, device=eng.device)
            print(json.dumps({name: out[name]}), flush=True)
    return out, scores


def _version(dist):
    import importlib.metadata as md
    try: return md.version(dist)
    except md.PackageNotFoundError: return None


def run_lm_eval(model, tok, recs, max_len, batch_size):
    "lm-eval's HF backend on the task `export_lm_eval` writes for `recs`: (timings, scores (n, options))."
    import numpy as np
    from lm_eval import simple_evaluate
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager
    from med_llm_ft.evaluation import export_lm_eval
    with tempfile.TemporaryDirectory() as d:
        task = export_lm_eval(recs, tok, d, max_len=max_len).stem
        lm = HFLM(pretrained=model, tokenizer=tok, batch_size=batch_size, max_length=max_len + 64)
        inner, spent = lm.loglikelihood, []
        def loglikelihood(reqs, *args, **kw):
            t = time.perf_counter(); r = inner(reqs, *args, **kw); spent.append(time.perf_counter() - t); return r
        lm.loglikelihood = loglikelihood
        t0 = time.perf_counter()
        res = simple_evaluate(model=lm, tasks=[task], task_manager=TaskManager(include_path=d), log_samples=True, verbosity='ERROR')
        total = time.perf_counter() - t0
    samples = sorted(res['samples'][task], key=lambda s: s['doc_id'])
    assert [s['doc']['id'] for s in samples] == [r.id for r in recs]
    scores = np.array([[float(x[0]) for x in s['filtered_resps']] for s in samples])
    ll = sum(spent)
    return {'loglikelihood_seconds': round(ll, 4), 'questions_per_s': round(len(recs) / ll, 1), 'simple_evaluate_seconds': round(total, 3),
            'batch_size': batch_size, 'accuracy': round(res['results'][task]['acc,none'], 4)}, scores


if __name__ == '__main__':
    main()
