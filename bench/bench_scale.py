"""Training speed at a published model shape: the plain baseline recipe, ours (`med_llm_ft.qlora.train`) and its variants, unsloth where it
imports, each in its own process, on the same batches of PubMedQA PQA-L (the 500 non-test questions, our split and tokens).

    python bench/bench_scale.py --shape llama3-8b --steps 40 --out experiments/training-speed-8b/results/scale_llama3-8b_h200.json
    python bench/bench_scale.py --shape tiny --steps 6           # CPU, under two minutes (tests/test_bench_scale.py)

One random-weight model of the shape (`med_llm_ft.shapes.make_shape_model`, built on the GPU in bf16 and saved to local disk once) is
loaded by every run with its own quantization. Every run gets the same token rows in the same order: our tokenization of the training
split, shuffled by the same seed (the baseline's `Trainer` and our `SFTTrainer` draw the same permutation), LoRA initialised from the
same seed; so the per-step token counts are equal (`same_batches` in the JSON) and the loss curves comparable step by step.

tokens_per_s is steady: training tokens (no padding) of the steps after the first `--skip` over their time. mfu counts 6 x N FLOPs a
token (N: the parameters without the input embedding; a QLoRA step does a forward, an activation backward and, with checkpointing, a
recomputed forward, each ~2N) over 989 TFLOP/s (an H100/H200's dense bf16), attention's own FLOPs left out.
"""
import argparse, json, os, subprocess, sys, tempfile, time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PEAK_FLOPS = 989e12
# levers measured at the 8B shape: name -> overrides of the recipe (`ours-<name>` in the JSON)
VARIANTS = {
    'bs4': {'batch_size': 4, 'lora_dropout': 0.05},  # llama3-pubmedqa's settings before batch 12 / no dropout: the plain recipe's batches
    'nofused': {'fused_loss': False},
    'bs8': {'batch_size': 8},  # the recipe (no dropout) at batch 8: under the plain recipe's 12.75 GiB?
    'bs16': {'batch_size': 16},
    'bs32': {'batch_size': 32},
    'pf-bs16': {'batch_size': 16, 'padding_free': True},
    'nockpt-bs8': {'batch_size': 8, 'gradient_checkpointing': False},
    'fp16': {'dtype': 'float16'},
    'nodrop-bs12': {'batch_size': 12, 'lora_dropout': 0.0},
    'nodrop-bs16': {'batch_size': 16, 'lora_dropout': 0.0},
    'nodrop-nockpt-bs8': {'batch_size': 8, 'lora_dropout': 0.0, 'gradient_checkpointing': False},
    'fp16-nodrop-bs16': {'batch_size': 16, 'lora_dropout': 0.0, 'dtype': 'float16'},
    # the unquantized weights in fp32 (peft's k-bit preparation, the default until measured below) against the compute dtype
    'fp32': {'kbit_fp32': True},
    'liger-bs16': {'batch_size': 16, 'liger': True},
    'liger-nockpt-bs8': {'batch_size': 8, 'gradient_checkpointing': False, 'liger': True},
    # on the recipe (batch 16, Liger): the memory budget's choice, torch.compile, a paged 8-bit AdamW
    'mem8': {'memory_gib': 8},
    'mem40': {'memory_gib': 40},
    'mem48': {'memory_gib': 48},
    'memauto': {'memory_gib': 'auto'},
    'compile': {'torch_compile': True},
    'paged8': {'optim': 'paged_adamw_8bit'},
    '4bit': {'quant': '4bit'},  # (for phi2-medreason, an 8-bit recipe)
    '4bit-mem5': {'quant': '4bit', 'memory_gib': 5.13},  # 4-bit within the 8-bit recipe's peak
}
# unsloth's documented QLoRA settings (`unsloth`), and at our recipe's batch without LoRA dropout (`unsloth-bs16`)
UNSLOTH = {'': {'batch_size': 4, 'lora_dropout': 0.05}, 'bs16': {'batch_size': 16, 'lora_dropout': 0.0}}


def load_baseline(path):
    "The baseline recipe's module, loaded from its file (it is not part of the package)."
    import importlib.util
    spec = importlib.util.spec_from_file_location('baseline_recipe', path)
    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
    return mod


def ours_config(recipe, model, data, steps, out_dir, overrides):
    "The recipe's TrainConfig for this benchmark: our split of the non-test 500, the baseline's schedule (warm-up 10 steps), no checkpoints."
    from med_llm_ft.config import load_config
    ov = dict(model=model, data=data, split='official', max_steps=steps, warmup=10, logging_steps=1, save_steps=0, eval_accuracy=False,
              report_to=[], output_dir=str(out_dir), seed=0)
    ov.update(overrides)
    return load_config(recipe=recipe, overrides=ov)


class StepClock:
    "Wall time at the end of each optimizer step (after a device sync)."
    def __init__(self): self.marks = []
    def mark(self):
        import torch
        if torch.cuda.is_available(): torch.cuda.synchronize()
        self.marks.append(time.time())


def _callback(clock, prof_steps, prof_out):
    from transformers import TrainerCallback

    class CB(TrainerCallback):
        prof = None
        def on_step_begin(self, args, state, control, **kw):
            if prof_steps and state.global_step == prof_steps[0]:
                import torch
                acts = [torch.profiler.ProfilerActivity.CPU] + ([torch.profiler.ProfilerActivity.CUDA] if torch.cuda.is_available() else [])
                self.prof = torch.profiler.profile(activities=acts, record_shapes=False); self.prof.__enter__()
        def on_step_end(self, args, state, control, **kw):
            clock.mark()
            if self.prof is not None and state.global_step == prof_steps[1]:
                import torch
                self.prof.__exit__(None, None, None)
                key = 'self_cuda_time_total' if torch.cuda.is_available() else 'self_cpu_time_total'
                tab = self.prof.key_averages().table(sort_by=key, row_limit=40, max_name_column_width=70)
                Path(prof_out).write_text(tab); self.prof = None
    return CB()


def _steady(marks, tokens, skip):
    "Tokens per second over the steps after the first `skip` (marks[i]: end of step i+1; tokens[i]: that step's tokens)."
    k = min(skip, len(marks) - 2)
    if k < 1: return None
    return sum(tokens[k:len(marks)]) / (marks[-1] - marks[k - 1])


def run_baseline(a, rows, clock, cb):
    "The baseline recipe's own code path (its collate, dataset, model loading, peft and Trainer arguments), with our rows and step count."
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, BitsAndBytesConfig, Trainer, TrainingArguments, set_seed
    base = load_baseline(a.baseline)
    cuda = torch.cuda.is_available(); dtype = torch.bfloat16 if cuda else torch.float32
    tok = AutoTokenizer.from_pretrained(a.model)
    if tok.pad_token is None: tok.pad_token = tok.eos_token
    q = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type='nf4', bnb_4bit_use_double_quant=True, bnb_4bit_compute_dtype=torch.bfloat16) if cuda else None
    model = AutoModelForCausalLM.from_pretrained(a.model, quantization_config=q, dtype=dtype, device_map={'': 0} if cuda else None)
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training
    if q is not None: model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=True)
    else: model.gradient_checkpointing_enable(); model.enable_input_require_grads()
    set_seed(0)  # the LoRA initialisation ours uses
    model = get_peft_model(model, LoraConfig(r=16, lora_alpha=32, lora_dropout=0.05, target_modules='all-linear', task_type='CAUSAL_LM'))
    counts = []
    collate = base.collate(tok.pad_token_id)
    def counted(batch):
        out = collate(batch); counts.append(int(out['attention_mask'].sum())); return out
    args = TrainingArguments(output_dir=tempfile.mkdtemp(), per_device_train_batch_size=4, max_steps=a.steps, learning_rate=2e-4,
                             lr_scheduler_type='cosine', warmup_steps=10, logging_steps=1, save_strategy='no', bf16=cuda, report_to=[],
                             gradient_checkpointing=False, use_cpu=not cuda, remove_unused_columns=False, seed=0, data_seed=0,
                             dataloader_pin_memory=cuda)
    trainer = Trainer(model=model, args=args, train_dataset=base.ListDS([(r['input_ids'], r['labels']) for r in rows]), data_collator=counted,
                      callbacks=[cb])
    if cuda: torch.cuda.reset_peak_memory_stats()
    trainer.train()
    losses = [h['loss'] for h in trainer.state.log_history if 'loss' in h]
    return losses, counts[:len(clock.marks)]


def run_ours(a, overrides, clock, cb):
    "`med_llm_ft.qlora.train` with the recipe and `overrides`; the step clock and the profiler ride on its trainer as one more callback."
    import torch
    from med_llm_ft import qlora
    cfg = ours_config(a.recipe, a.model, a.data, a.steps, tempfile.mkdtemp(), overrides)
    counts = []
    orig = qlora.build_trainer
    def build(*args, **kw):
        tr = orig(*args, **kw); tr.add_callback(cb)
        counts.clear()  # (memory_gib builds the trainer twice: the second one trains)
        collate = tr.data_collator
        def counted(examples):
            out = collate(examples)
            counts.append(int(out['attention_mask'].sum()) if 'attention_mask' in out else int(out['input_ids'].numel()))
            return out
        tr.data_collator = counted
        return tr
    qlora.build_trainer = build
    res = qlora.train(cfg)
    tr = res.pop('trainer')
    losses = [h['loss'] for h in tr.state.log_history if 'loss' in h]
    ga = tr.args.gradient_accumulation_steps  # the collator runs once a micro-batch: tokens of an optimizer step are the sum of `ga` counts
    counts = [sum(counts[i:i + ga]) for i in range(0, len(counts) - ga + 1, ga)]
    return losses, counts[:len(clock.marks)], {k: v for k, v in res.items() if k in ('n_params', 'n_train', 'train_tok_per_s_steady', 'peak_gib', 'memory_plan')}


def run_unsloth(a, rows, clock, cb):
    "Unsloth's documented QLoRA path (FastLanguageModel, 4-bit, r16/a32, its gradient checkpointing) under TRL's SFTTrainer, same rows."
    from unsloth import FastLanguageModel  # (imported first of all by `worker`, as unsloth asks)
    u = UNSLOTH[a.run.removeprefix('unsloth').removeprefix('-')]
    import torch
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer
    from transformers import set_seed
    model, tok = FastLanguageModel.from_pretrained(a.model, max_seq_length=512, load_in_4bit=True, dtype=torch.bfloat16)
    set_seed(0)
    model = FastLanguageModel.get_peft_model(model, r=16, lora_alpha=32, lora_dropout=u['lora_dropout'], use_gradient_checkpointing='unsloth',
                                             target_modules=['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'])
    counts = []
    ds = Dataset.from_list([{'input_ids': r['input_ids'], 'labels': r['labels']} for r in rows])
    args = SFTConfig(output_dir=tempfile.mkdtemp(), per_device_train_batch_size=u['batch_size'], max_steps=a.steps, learning_rate=2e-4, lr_scheduler_type='cosine',
                     warmup_steps=10, logging_steps=1, save_strategy='no', bf16=True, report_to=[], seed=0, data_seed=0, max_length=512,
                     dataset_kwargs={'skip_prepare_dataset': True}, remove_unused_columns=False)
    tr = SFTTrainer(model=model, args=args, train_dataset=ds, processing_class=tok, callbacks=[cb])
    collate = tr.data_collator
    def counted(examples):
        out = collate(examples); counts.append(int(out['attention_mask'].sum()) if 'attention_mask' in out else int(out['input_ids'].numel())); return out
    tr.data_collator = counted
    if torch.cuda.is_available(): torch.cuda.reset_peak_memory_stats()
    tr.train()
    return [h['loss'] for h in tr.state.log_history if 'loss' in h], counts[:len(clock.marks)]


def worker(a):
    "One path in this process; writes its figures to --result."
    if a.run.startswith('unsloth'): import unsloth  # noqa: F401  (before transformers, trl and peft, as unsloth asks)
    import torch
    clock = StepClock()
    prof = [int(x) for x in a.profile.split(',')] if a.profile else None
    cb = _callback(clock, prof, a.result + '.prof.txt')
    extra = {}
    if a.run == 'baseline' or a.run.startswith('unsloth'):
        from med_llm_ft.data import load_tokenizer
        from med_llm_ft.qlora import load_splits, tokenize
        cfg = ours_config(a.recipe, a.model, a.data, a.steps, tempfile.mkdtemp(), {})
        rows = tokenize(load_splits(cfg)['train'], load_tokenizer(a.model), cfg)
        losses, counts = (run_baseline if a.run == 'baseline' else run_unsloth)(a, rows, clock, cb)
    else:
        ov = {} if a.run == 'ours' else VARIANTS[a.run.removeprefix('ours-')]
        losses, counts, extra = run_ours(a, ov, clock, cb)
    cuda = torch.cuda.is_available()
    from med_llm_ft.shapes import shape_params
    tps = _steady(clock.marks, counts, a.skip)
    from med_llm_ft.shapes import shape_config
    c = shape_config(a.shape); n, emb = shape_params(a.shape), c.vocab_size * c.hidden_size
    out = {'tokens_per_s': round(tps, 1) if tps else None, 'peak_gib': round(torch.cuda.max_memory_allocated() / 2**30, 2) if cuda else None,
           'mfu': round(6 * (n - (emb or 0)) * tps / PEAK_FLOPS, 4) if (tps and cuda) else None, 'losses': [round(x, 4) for x in losses],
           'tokens_per_step': counts, 'step_s': [round(t1 - t0, 3) for t0, t1 in zip(clock.marks, clock.marks[1:])], **extra}
    Path(a.result).write_text(json.dumps(out))


def gpu_name():
    import torch
    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'cpu'


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--shape', default='tiny'); ap.add_argument('--steps', type=int, default=40)
    ap.add_argument('--runs', default='baseline,ours', help="comma-separated: baseline, ours, ours-<variant> (see VARIANTS), unsloth, unsloth-<variant> (see UNSLOTH)")
    ap.add_argument('--baseline', default=str(REPO.parent / 'shared' / 'bench' / 'baseline_recipe.py'))
    ap.add_argument('--data', default=str(REPO.parent / 'shared' / 'data' / 'pubmedqa'))
    ap.add_argument('--tokenizer', default=None, help='a saved tokenizer folder (default: the packaged SmolLM2 tokenizer)')
    ap.add_argument('--recipe', default='llama3-pubmedqa'); ap.add_argument('--skip', type=int, default=5, help='warm-up steps left out of tokens/s')
    ap.add_argument('--model', default=None, help='an existing model folder of the shape (default: built into --workdir)')
    ap.add_argument('--workdir', default=None); ap.add_argument('--out', default=None)
    ap.add_argument('--profile', default='', help="'A,B': torch profiler from step A to B in each run (table beside the JSON)")
    ap.add_argument('--unsloth_path', default='', help='PYTHONPATH prefix for the unsloth run (its own wheels)')
    ap.add_argument('--timeout', type=int, default=900)
    ap.add_argument('--run', default=None, help=argparse.SUPPRESS); ap.add_argument('--result', default=None, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.run: return worker(a)
    from med_llm_ft.shapes import SHAPES, ShapeError
    if a.shape not in SHAPES: raise ShapeError(f"--shape {a.shape!r} is not known; known shapes: {', '.join(SHAPES)}")
    runs = [r.strip() for r in a.runs.split(',') if r.strip()]
    known = ['baseline', 'ours'] + ['ours-' + v for v in VARIANTS] + ['-'.join(filter(None, ('unsloth', v))) for v in UNSLOTH]
    bad = [r for r in runs if r not in known]
    if bad: raise SystemExit(f"--runs: unknown {', '.join(bad)}; known: {', '.join(known)}")
    for p, what in ((a.baseline, '--baseline'), (Path(a.data) / 'ori_pqal.json', '--data')):
        if not Path(p).exists(): raise SystemExit(f"{what}: {p} does not exist")
    work = Path(a.workdir or tempfile.mkdtemp(prefix='bench_scale_')); work.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    if a.model is None:
        import torch
        from med_llm_ft.shapes import make_shape_model
        from med_llm_ft.data import load_tokenizer, DEFAULT_MODEL
        cuda = torch.cuda.is_available()
        a.model = make_shape_model(a.shape, work / a.shape, tokenizer=load_tokenizer(a.tokenizer or DEFAULT_MODEL),
                                   device='cuda' if cuda else 'cpu', dtype='bfloat16' if cuda else 'float32')
        if cuda: torch.cuda.empty_cache()
    build_s = round(time.time() - t0, 1)
    res = {'shape': a.shape, 'gpu': gpu_name(), 'command': 'python bench/bench_scale.py ' + ' '.join(argv if argv is not None else sys.argv[1:]),
           'recipe': a.recipe, 'steps': a.steps, 'skip': a.skip, 'model_build_s': build_s, 'runs': {}}
    for r in runs:
        out = work / f'{r}.json'
        cmd = [sys.executable, str(Path(__file__).resolve()), '--run', r, '--result', str(out), '--shape', a.shape, '--steps', str(a.steps),
               '--baseline', a.baseline, '--data', a.data, '--recipe', a.recipe, '--skip', str(a.skip), '--model', a.model, '--profile', a.profile]
        env = dict(os.environ)
        if r.startswith('unsloth'):  # its own wheels first; offline, no usage statistics sent
            if a.unsloth_path: env['PYTHONPATH'] = a.unsloth_path + os.pathsep + env.get('PYTHONPATH', '')
            env.update(HF_HUB_OFFLINE='1', UNSLOTH_DISABLE_STATISTICS='1')
        t1 = time.time()
        try: p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=a.timeout); rc, err = p.returncode, p.stderr
        except subprocess.TimeoutExpired as e: rc, err = 'timeout', str(e.stderr or '')
        if rc == 0 and out.exists(): res['runs'][r] = {**json.loads(out.read_text()), 'wall_s': round(time.time() - t1, 1)}
        else: res['runs'][r] = {'error': f'exit {rc}', 'stderr_tail': err[-3000:]}
        prof = Path(str(out) + '.prof.txt')
        if prof.exists(): res['runs'][r]['profile_file'] = prof.name; (Path(a.out).parent if a.out else work).joinpath(f'profile_{a.shape}_{r}.txt').write_text(prof.read_text())
        if a.out: Path(a.out).parent.mkdir(parents=True, exist_ok=True); Path(a.out).write_text(json.dumps(res, indent=1) + '\n')
        print(f"{r}: {json.dumps({k: v for k, v in res['runs'][r].items() if k in ('tokens_per_s', 'peak_gib', 'mfu', 'error', 'wall_s')})}", flush=True)
    base = res['runs'].get('baseline', {})
    for r, v in res['runs'].items():
        if base.get('tokens_per_s') and v.get('tokens_per_s'): v['x_baseline'] = round(v['tokens_per_s'] / base['tokens_per_s'], 2)
        if base.get('losses') and v.get('losses') and r != 'baseline':
            v['same_batches'] = v.get('tokens_per_step') == base.get('tokens_per_step')[:len(v.get('tokens_per_step', []))]
            n = min(len(base['losses']), len(v['losses']))
            if v['same_batches']: v['max_loss_diff_vs_baseline'] = round(max(abs(x - y) for x, y in zip(base['losses'][:n], v['losses'][:n])), 4) if n else None
    if a.out:
        Path(a.out).parent.mkdir(parents=True, exist_ok=True); Path(a.out).write_text(json.dumps(res, indent=1) + '\n')
    return res


if __name__ == '__main__':
    main()
