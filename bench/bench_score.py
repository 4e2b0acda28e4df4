"""Label-scoring speed on PubMedQA's 500 official test questions: the baseline recipe's `score_labels` against
`med_llm_ft.evaluation.score_labels`, in one run, on the same model object, the same tokenizer and the same prompts.

The baseline runs prompt + "Final decision: X" once per label (three forwards per question) and takes a log-softmax over
the whole vocabulary at every position; ours runs prompt + "Final decision:" once per question and reads the label tokens'
log-probs at the last position only. Both should choose the same labels (the JSON line reports the agreement).

    python bench/bench_score.py                                # SmolLM2-135M-Instruct, 500 questions (GPU)
    python bench/bench_score.py --limit 20                     # a CPU check
    python bench/bench_score.py --model path/or/model.gguf --batch-size 64 --bits 4

Prints one JSON line.
"""
import argparse, importlib.util, json, os, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def find_baseline(arg=None):
    "The baseline recipe: the argument, ../shared/bench/baseline_recipe.py next to the repository, or shared/ above it."
    cands = [arg] if arg else [ROOT.parent / 'shared/bench/baseline_recipe.py', ROOT / 'shared/bench/baseline_recipe.py',
                               *[p / 'shared/bench/baseline_recipe.py' for p in ROOT.parents]]
    for c in cands:
        if c and Path(c).exists(): return Path(c)
    sys.exit(f"bench_score: baseline recipe not found (tried {', '.join(map(str, cands))}); pass --baseline PATH")


def import_file(path, name='baseline_recipe'):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
    return mod


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--model', default='smollm2-135m', help='packaged alias, folder, .gguf or hub id')
    ap.add_argument('--baseline', default=None, help='path of baseline_recipe.py (default ../shared/bench/baseline_recipe.py)')
    ap.add_argument('--data', default=None, help='folder with ori_pqal.json (default: find_pubmedqa())')
    ap.add_argument('--limit', type=int, default=None, help='score only a stratified subset of the test split')
    ap.add_argument('--max-len', type=int, default=512)
    ap.add_argument('--batch-size', type=int, default=None, help='our batch size in questions (default 64 on GPU, 8 on CPU)')
    ap.add_argument('--baseline-bs', type=int, default=8, help="the baseline's batch size in questions (its default: 8)")
    ap.add_argument('--bits', type=int, default=0, choices=[0, 4, 8]); ap.add_argument('--device', default=None)
    ap.add_argument('--system', default='baseline', choices=['baseline', 'ours'],
                    help="system prompt for our scorer: the baseline's (same prompts, so predictions should agree) or ours")
    a = ap.parse_args(argv)

    import torch
    from med_llm_ft.data import find_pubmedqa, load_records, official_split, subset, format_example, SYSTEM_PROMPT
    from med_llm_ft.models import load_model
    from med_llm_ft.evaluation import score_labels, classification_metrics

    base = import_file(find_baseline(a.baseline))
    data = find_pubmedqa(*([a.data] if a.data else []))
    if data is None: sys.exit("bench_score: PubMedQA PQA-L not found; pass --data DIR (a folder with ori_pqal.json)")
    test = official_split(load_records(data))['test']
    if a.limit: test = subset(test, a.limit)[:a.limit]
    model, tok = load_model(a.model, device=a.device, quant={4: '4bit', 8: '8bit'}.get(a.bits, 'none'))
    dev = next(model.parameters()).device
    cuda = dev.type == 'cuda'
    bs = a.batch_size or (64 if cuda else 8)
    system = base.SYSTEM if a.system == 'baseline' else SYSTEM_PROMPT
    exs = [{'QUESTION': r.question, 'CONTEXTS': r.context, 'final_decision': r.answer, 'LONG_ANSWER': r.explanation} for r in test]
    same_prompt = base.encode(tok, exs[0], 10**6, with_answer=False) == \
        tok(format_example(test[0], tok, system=system, explain=False)['prompt'], add_special_tokens=False)['input_ids']
    gold = [r.answer for r in test]

    def sync():
        if cuda: torch.cuda.synchronize()

    def timed(fn):
        if cuda: torch.cuda.reset_peak_memory_stats()
        sync(); t = time.perf_counter(); out = fn(); sync()
        return out, time.perf_counter() - t, (torch.cuda.max_memory_allocated() / 2**30 if cuda else None)

    # warm up both (kernels, allocator) on a few questions so neither pays it inside the timing
    base.score_labels(model, tok, exs[:2], a.max_len, bs=a.baseline_bs)
    score_labels(model, tok, test[:2], 'chat', a.max_len, bs, system=system)
    pb, tb, mb = timed(lambda: base.score_labels(model, tok, exs, a.max_len, bs=a.baseline_bs))
    ours, to, mo = timed(lambda: score_labels(model, tok, test, 'chat', a.max_len, bs, system=system))
    po = ours['pred']
    same_bs = None
    if bs != a.baseline_bs:  # the same batch size as the baseline, to separate the method from the batch size
        o2, t2, m2 = timed(lambda: score_labels(model, tok, test, 'chat', a.max_len, a.baseline_bs, system=system))
        same_bs = {'batch_size': a.baseline_bs, 'seconds': round(t2, 3), 'questions_per_s': round(len(test) / t2, 2),
                   'speedup': round(tb / t2, 2), 'peak_gib': round(m2, 3) if m2 else None, 'same_predictions': o2['pred'] == po}
    mb_, mo_ = classification_metrics(gold, pb), classification_metrics(gold, po)
    agree = sum(x == y for x, y in zip(pb, po))

    def fig(m, secs, mem):
        return {'seconds': round(secs, 3), 'questions_per_s': round(len(test) / secs, 2), 'accuracy': round(m['accuracy'], 4),
                'macro_f1': round(m['macro_f1'], 4), 'pred_dist': m['pred_dist'], 'peak_gib': round(mem, 3) if mem else None}
    print(json.dumps({'bench': 'label_scoring', 'model': a.model, 'device': torch.cuda.get_device_name(0) if cuda else 'cpu',
                      'dtype': str(next(model.parameters()).dtype).replace('torch.', ''), 'bits': a.bits, 'n': len(test), 'max_len': a.max_len,
                      'batch_size': {'baseline': a.baseline_bs, 'ours': bs}, 'system_prompt': a.system, 'same_prompt': same_prompt,
                      'baseline': fig(mb_, tb, mb), 'ours': fig(mo_, to, mo), 'speedup': round(tb / to, 2), 'ours_at_baseline_bs': same_bs,
                      'agreement': round(agree / len(test), 4), 'n_disagree': len(test) - agree,
                      'disagree_ids': [r.id for r, x, y in zip(test, pb, po) if x != y][:10],
                      'n_truncated_ours': ours['n_truncated'], 'n_fast_path': ours['n_fast'],
                      'torch': torch.__version__, 'threads': torch.get_num_threads()}))


if __name__ == '__main__':
    main()
