"""Several LoRA adapters served beside one base model against one merged model: output tokens/s through the OpenAI-compatible server
(`med_llm_ft.serving.serve`), the same prompts and the same greedy settings for every setting. Prints one JSON (and writes it with --out).

Settings (`--settings`, comma-separated):
  merged    one model with adapter 0 merged into its weights (`med_llm_ft.models.merge_adapter`), every prompt asked of it
  adapters  the base model once and `--adapters` N adapters beside it; prompt i asks adapter i mod N by name, so requests for every
            adapter are in flight at once (vLLM batches them together; the transformers server answers one request at a time,
            switching adapters between them)
  base      the base model without adapters (the floor: what serving the base alone costs)

The model is a random-weight model of a published shape (`med_llm_ft.shapes`, with the packaged SmolLM2 tokenizer) or `--model DIR`.
The adapters are random LoRA weights of rank `--rank` on every attention and MLP projection, written straight from the model's
module shapes (no weights loaded). Prompts are the packaged PubMedQA sample's 40 questions in the model's chat template, cycled to
`--limit` (vLLM's prefix cache is off, so a repeated prompt costs what the first one did). Each setting gets a fresh server, one
warm-up request per served name (not timed), then every prompt from `--concurrency` client threads at once; tokens/s is the completion tokens the server reports over the wall time from the first request sent to the
last answer received. A random-weight model rarely writes its end-of-sequence token, so nearly every answer is `--max-tokens` long.

GPU (H200, Llama-3-8B shape, bf16, 4 adapters; each setting starts its own server; the second command reuses the model and the
merged model the first one wrote into --workdir):
    python bench/bench_adapters.py --shape llama3-8b --adapters 4 --backend vllm --limit 256 --max-tokens 128 --concurrency 64 \\
        --workdir /tmp/bench-adapters --out experiments/serving-adapters/results/adapters_llama3-8b_h200_vllm.json
    python bench/bench_adapters.py --shape llama3-8b --adapters 4 --limit 32 --max-tokens 64 --concurrency 8 \\
        --workdir /tmp/bench-adapters --out experiments/serving-adapters/results/adapters_llama3-8b_h200_hf.json
CPU (end to end in about a minute on two busy cores, most of it starting the two servers; tests/test_serving.py runs it):
    python bench/bench_adapters.py --shape tiny --adapters 2 --limit 8 --max-tokens 8
vLLM on CPU needs a model vLLM can run (head dimension >= 32, which the tiny shape is not): --model a `serving.tiny_llama` folder.
"""
import argparse, json, os, platform, queue, sys, tempfile, threading, time
from pathlib import Path

TARGETS = ('q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj', 'qkv_proj', 'gate_up_proj', 'dense', 'fc1', 'fc2')


def device_name():
    import torch
    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"cpu ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"


def lora_weights(model_dir, out_dir, r=16, alpha=32, std=0.02, seed=0, dtype='bfloat16'):
    "Write a LoRA adapter for the model in `model_dir` with random A and B on every projection, from its module shapes (built on the meta device)."
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM
    from peft import LoraConfig
    from safetensors.torch import save_file
    with torch.device('meta'): m = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(model_dir))
    g, w, targets = torch.Generator().manual_seed(seed), {}, set()
    for name, mod in m.named_modules():
        leaf = name.rsplit('.', 1)[-1]
        if leaf in TARGETS and isinstance(mod, torch.nn.Linear):
            targets.add(leaf)
            w[f'base_model.model.{name}.lora_A.weight'] = (torch.randn(r, mod.in_features, generator=g) / mod.in_features ** 0.5).to(getattr(torch, dtype))
            w[f'base_model.model.{name}.lora_B.weight'] = (torch.randn(mod.out_features, r, generator=g) * std).to(getattr(torch, dtype))
    out = Path(out_dir); out.mkdir(parents=True, exist_ok=True)
    cfg = LoraConfig(r=r, lora_alpha=alpha, lora_dropout=0.0, target_modules=sorted(targets), task_type='CAUSAL_LM')
    cfg.base_model_name_or_path = str(Path(model_dir).resolve())
    cfg.save_pretrained(out); save_file(w, out / 'adapter_model.safetensors')
    return str(out)


def prompts(model_dir, n):
    "`n` prompts: the packaged PubMedQA sample's questions in the model's chat template (as training formats them), cycled."
    from med_llm_ft.data import load_records, sample_path, load_tokenizer
    from med_llm_ft.serving import prompt_ids
    tok = load_tokenizer(model_dir)
    recs = load_records(sample_path())
    ids = prompt_ids(recs[:n], tok, budget=1024)
    return [tok.decode(ids[i % len(ids)]) for i in range(n)]


def run_setting(name, model, adapters, texts, a):
    "Serve `model` (and `adapters`, {name: folder}), warm every name up, then time every prompt from `--concurrency` clients."
    from med_llm_ft.serving import serve, models, _http
    t0 = time.time()
    # no prefix caching: the 40 sample questions are cycled, and a cached prompt would cost the merged model less than the adapters
    # (vLLM's cache is per adapter), which is not what this measures
    extra = ['--max-num-seqs', str(a.concurrency), '--no-enable-prefix-caching'] if a.backend == 'vllm' else []
    with serve(model, adapters or None, backend=a.backend, served_name='base', dtype=a.dtype, max_model_len=a.max_model_len,
               timeout=a.timeout, extra_args=extra) as srv:
        start_s = time.time() - t0
        names = [n for n in models(srv.url) if n != 'base'] or ['base']
        body = lambda model, prompt: {'model': model, 'prompt': prompt, 'max_tokens': a.max_tokens, 'temperature': 0,
                                      **({'min_tokens': a.max_tokens} if a.backend == 'vllm' else {})}
        for n in names: _http(srv.url + '/completions', body(n, texts[0]))  # warm-up: every adapter loaded, kernels compiled
        q, out, errors = queue.Queue(), [None] * len(texts), []
        for i, p in enumerate(texts): q.put((i, names[i % len(names)], p))
        def client():
            while True:
                try: i, n, p = q.get_nowait()
                except queue.Empty: return
                try: r = _http(srv.url + '/completions', body(n, p)); out[i] = (n, r['usage']['completion_tokens'], r['choices'][0]['text'])
                except Exception as e: errors.append(f"{type(e).__name__}: {e}"[:300])
        t = time.time()
        ts = [threading.Thread(target=client, daemon=True) for _ in range(min(a.concurrency, len(texts)))]
        for th in ts: th.start()
        for th in ts: th.join()
        secs = time.time() - t
    if errors: raise RuntimeError(f"{name}: {len(errors)} of {len(texts)} requests failed, first: {errors[0]}")
    toks = sum(o[1] for o in out)
    return {'served': names, 'requests': len(texts), 'output_tokens': toks, 'seconds': round(secs, 2), 'tokens_per_s': round(toks / secs, 1),
            'server_start_s': round(start_s, 1), 'texts': [o[2] for o in out]}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--shape', default='tiny', help='a published shape (med_llm_ft.shapes.SHAPES), random weights')
    ap.add_argument('--model', default=None, help='an existing model folder instead of --shape (built into --workdir otherwise)')
    ap.add_argument('--tokenizer', default=None, help="the shape model's tokenizer: a name or folder (default: the packaged SmolLM2's)")
    ap.add_argument('--adapters', type=int, default=4, help='adapters served beside the base')
    ap.add_argument('--rank', type=int, default=16, help='LoRA rank of every adapter')
    ap.add_argument('--backend', default='hf', choices=['hf', 'vllm'], help='the transformers server, or vLLM')
    ap.add_argument('--settings', default='merged,adapters', help='comma-separated: merged, adapters, base')
    ap.add_argument('--limit', type=int, default=64, help='requests per setting (the sample questions, cycled)')
    ap.add_argument('--max-tokens', type=int, default=128, help='new tokens per request')
    ap.add_argument('--concurrency', type=int, default=32, help='client threads sending requests at once')
    ap.add_argument('--dtype', default=None, help='weights of the model, the adapters and the merged model (default: bfloat16 on a GPU, float32 on CPU)')
    ap.add_argument('--max-model-len', type=int, default=2048)
    ap.add_argument('--timeout', type=float, default=900, help='seconds a server may take to start')
    ap.add_argument('--workdir', default=None, help='where the model, adapters and merged model are written (default: a temporary folder)')
    ap.add_argument('--out', default=None, help='also write the JSON here')
    a = ap.parse_args(argv)
    settings = [s.strip() for s in a.settings.split(',') if s.strip()]
    if bad := set(settings) - {'merged', 'adapters', 'base'}: ap.error(f"--settings: unknown {sorted(bad)}; known: merged, adapters, base")
    if a.adapters < 1: ap.error('--adapters must be at least 1')
    t0 = time.time()
    import torch
    from med_llm_ft.models import merge_adapter
    a.dtype = a.dtype or ('bfloat16' if torch.cuda.is_available() else 'float32')
    work = Path(a.workdir or tempfile.mkdtemp(prefix='bench-adapters-')); work.mkdir(parents=True, exist_ok=True)
    shape = None if a.model else a.shape
    if a.model is None:
        from med_llm_ft.shapes import SHAPES, ShapeError, make_shape_model
        if a.shape not in SHAPES: raise ShapeError(f"--shape {a.shape!r} is not known; known shapes: {', '.join(SHAPES)}")
        a.model = str(work / a.shape)
        if not (Path(a.model) / 'config.json').exists():
            make_shape_model(a.shape, a.model, device='cuda' if torch.cuda.is_available() else 'cpu', dtype=a.dtype,
                             **({'tokenizer': a.tokenizer} if a.tokenizer else {}))
    ads = {f'adapter{i}': lora_weights(a.model, work / f'adapter{i}', r=a.rank, alpha=2 * a.rank, seed=i, dtype=a.dtype) for i in range(a.adapters)}
    texts = prompts(a.model, a.limit)
    print(f"model, {a.adapters} adapters and {a.limit} prompts ready in {time.time() - t0:.1f} s", file=sys.stderr, flush=True)
    res = {'command': 'python bench/bench_adapters.py ' + ' '.join(sys.argv[1:] if argv is None else argv), 'device': device_name(),
           'backend': a.backend, 'shape': shape, 'model': a.model, 'adapters': a.adapters,
           'rank': a.rank, 'dtype': a.dtype, 'requests': a.limit, 'max_tokens': a.max_tokens, 'concurrency': a.concurrency, 'settings': {}}
    for s in settings:
        if s == 'merged':
            merged = work / 'merged'
            if not (merged / 'config.json').exists():
                tm = time.time(); merge_adapter(ads['adapter0'], merged, base=a.model, dtype=a.dtype); res['merge_s'] = round(time.time() - tm, 1)
            r = run_setting(s, str(merged), {}, texts, a)
        elif s == 'adapters': r = run_setting(s, a.model, ads, texts, a)
        else: r = run_setting(s, a.model, {}, texts, a)
        res['settings'][s] = r
        print(f"{s:9} {r['tokens_per_s']:>10} tokens/s ({r['output_tokens']} tokens in {r['seconds']} s; server started in {r['server_start_s']} s)",
              file=sys.stderr, flush=True)
    st = res['settings']
    if 'merged' in st and 'adapters' in st:
        res['adapters_vs_merged'] = round(st['adapters']['tokens_per_s'] / st['merged']['tokens_per_s'], 3)
        same = [i for i in range(a.limit) if i % a.adapters == 0]  # the prompts the adapters setting asked of adapter 0
        res['merged_agrees_with_adapter0'] = round(sum(st['merged']['texts'][i] == st['adapters']['texts'][i] for i in same) / len(same), 3)
    for r in st.values(): r.pop('texts')
    res['seconds'] = round(time.time() - t0, 1)
    js = json.dumps(res, indent=1)
    if a.out: Path(a.out).parent.mkdir(parents=True, exist_ok=True); Path(a.out).write_text(js + '\n')
    print(js)
    return res


if __name__ == '__main__':
    main()
