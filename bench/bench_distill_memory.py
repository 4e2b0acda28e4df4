"""Memory and time of one distillation training step, the two ways `QATrainer` can compute it: the teacher's term from the hidden
states at the decision tokens next to TRL's fused LM head (`fused_loss=True`, the default), or everything from the full fp32 logits
(`fused_loss=False`). A tiny Llama with Gemma 3's vocabulary size (262,144 tokens) on the CPU, the packaged sample, a uniform teacher.

    python bench/bench_distill_memory.py                          # vocab 262144, batch 8, max_len 512, 3 steps
    python bench/bench_distill_memory.py --vocab 49152            # SmolLM2's vocabulary

Each way runs in its own process, since a peak RSS belongs to a process: `step_peak_gib` is how far one step (forward + backward)
raised the process's peak resident memory above what loading the model and the data had reached. Prints one JSON line.
"""
import argparse, json, os, resource, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def peak_gib(): return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # Linux reports KiB


def one(a):
    "Run the steps in this process with fused_loss as asked; return its figures."
    import torch
    from med_llm_ft.data import PUBMEDQA_LABELS, load_records, sample_path, tokenize_records
    from med_llm_ft.config import TrainConfig
    from med_llm_ft.models import make_tiny_model
    from med_llm_ft.qlora import build_trainer, load_for_training, with_teacher
    tmp = Path(tempfile.mkdtemp(prefix='bench_distill_'))
    recs = load_records(sample_path())[:a.batch_size * a.steps]
    (tmp / 'teacher/fold0').mkdir(parents=True)
    (tmp / 'teacher/fold0/scores.json').write_text(json.dumps({'labels': list(PUBMEDQA_LABELS), 'dev_ids': [r.id for r in recs],
                                                               'dev_scores': [[0.0, 0.0, 0.0]] * len(recs)}))
    model = make_tiny_model(tmp / 'tiny', vocab_size=a.vocab)
    cfg = TrainConfig(model=model, quant='none', gradient_checkpointing=False, batch_size=a.batch_size, max_len=a.max_len, report_to=[],
                      decision_weight=10.0, distill_from=str(tmp / 'teacher'), distill_alpha=1.0, fused_loss=a.one == 'fused',
                      output_dir=str(tmp / 'out'), save_steps=0)
    torch.manual_seed(0)
    mdl, tok = load_for_training(cfg)
    rows = with_teacher(tokenize_records(recs, tok, a.max_len), cfg, PUBMEDQA_LABELS)
    tr = build_trainer(cfg, mdl, tok, rows, None, recs)
    batches = list(tr.get_train_dataloader())[:a.steps]
    tr.model.train()
    before, t0, losses = peak_gib(), time.perf_counter(), []
    for b in batches:
        loss = tr.compute_loss(tr.model, dict(b), num_items_in_batch=(b['labels'][:, 1:] != -100).sum())
        loss.backward(); losses.append(round(float(loss), 5)); tr.model.zero_grad()
    return {'fused_loss': a.one == 'fused', 'step_peak_gib': round(peak_gib() - before, 3), 'peak_gib': round(peak_gib(), 3),
            's_per_step': round((time.perf_counter() - t0) / len(batches), 3), 'losses': losses,
            'tokens_per_batch': [int(b['attention_mask'].sum()) for b in batches]}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--vocab', type=int, default=262144, help="the tiny model's vocabulary size (Gemma 3: 262144, Llama 3: 128256)")
    ap.add_argument('--batch-size', type=int, default=8)
    ap.add_argument('--max-len', type=int, default=512)
    ap.add_argument('--steps', type=int, default=3)
    ap.add_argument('--one', choices=['fused', 'logits'], help=argparse.SUPPRESS)  # the child process
    a = ap.parse_args(argv)
    if a.one: print(json.dumps(one(a))); return
    args = ['--vocab', str(a.vocab), '--batch-size', str(a.batch_size), '--max-len', str(a.max_len), '--steps', str(a.steps)]
    res = {}
    for way in ('fused', 'logits'):
        r = subprocess.run([sys.executable, __file__, *args, '--one', way], capture_output=True, text=True, env={**os.environ, 'CUDA_VISIBLE_DEVICES': ''})
        if r.returncode: sys.exit(f"bench_distill_memory: the {way} run failed:\n{r.stderr[-3000:]}")
        res[way] = json.loads(r.stdout.strip().splitlines()[-1])
    f, l = res['fused'], res['logits']
    print(json.dumps({'command': 'python bench/bench_distill_memory.py ' + ' '.join(args), 'device': 'cpu', **{k: v for k, v in vars(a).items() if k != 'one'},
                      'fused': f, 'logits': l, 'same_losses': all(abs(x - y) < 1e-3 for x, y in zip(f['losses'], l['losses'])),
                      'step_peak_ratio': round(l['step_peak_gib'] / max(f['step_peak_gib'], 1e-3), 2)}))


if __name__ == '__main__': main()
