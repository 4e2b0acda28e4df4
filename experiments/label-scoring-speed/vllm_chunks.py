"""Do the chunks help? `serving.vllm_score_labels` on one engine, its questions sent in chunks of 256 (each while the next is
tokenized) or all in one request, interleaved, the prefix cache emptied before every pass; the seconds of every pass are written
to `--out` after each (a run cut short keeps what it timed).

    python experiments/label-scoring-speed/vllm_chunks.py --run mcq@shape:qwen2.5-1.5b --tokenizer .device/ls/tok --data .device/ls/dat --out experiments/label-scoring-speed/results/vllm_chunks_h200.json
"""
import argparse, json, sys, tempfile, time
from pathlib import Path
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT)); sys.path.insert(0, str(ROOT / 'bench'))

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--run', default='mcq@shape:qwen2.5-1.5b', help="WORKLOAD@MODEL, as bench_label_scoring's --run")
    ap.add_argument('--tokenizer', default=None); ap.add_argument('--data', default=None)
    ap.add_argument('--repeats', type=int, default=2); ap.add_argument('--limit', type=int, default=None, help='questions (a dry run)'); ap.add_argument('--out', default='vllm_chunks.json')
    a = ap.parse_args(argv)
    import torch
    from bench_label_scoring import load_workload, build_model
    from med_llm_ft.data import load_tokenizer
    from med_llm_ft.serving import scoring_engine, vllm_score_labels
    workload, mspec = a.run.split('@', 1)
    recs, max_len = load_workload(workload, a.data, a.limit)
    tok = load_tokenizer(a.tokenizer) if a.tokenizer else load_tokenizer()
    cuda = torch.cuda.is_available()
    model, info = build_model(mspec, tok, 'cuda' if cuda else 'cpu')
    out = {'command': 'python ' + ' '.join([str(Path(__file__).relative_to(ROOT))] + (argv if argv is not None else sys.argv[1:])),
           'gpu': torch.cuda.get_device_name(0) if cuda else None, 'workload': workload, 'n': len(recs), **info,
           'timing': 'wall seconds of vllm_score_labels on all questions (rows built on the CPU included), the prefix cache emptied before each pass; engine start not timed',
           'seconds': {'chunks_256': [], 'one_request': []}}
    with tempfile.TemporaryDirectory() as d:
        model.save_pretrained(d); tok.save_pretrained(d)
        del model
        if cuda: torch.cuda.empty_cache()
        with scoring_engine(d, max_len, dtype=info['dtype']) as eng:
            out.update(vllm=eng.version, engine_start_s=eng.startup_s)
            vllm_score_labels(d, recs[:4], max_len=max_len, engine=eng)  # warm-up
            for _ in range(a.repeats):
                for name, chunk in (('chunks_256', 256), ('one_request', None)):
                    eng.reset_prefix_cache()
                    t = time.perf_counter(); vllm_score_labels(d, recs, max_len=max_len, engine=eng, chunk=chunk)
                    out['seconds'][name].append(round(time.perf_counter() - t, 4))
                    out['questions_per_s'] = {k: round(len(recs) / min(v), 1) for k, v in out['seconds'].items() if v}
                    Path(a.out).parent.mkdir(parents=True, exist_ok=True); Path(a.out).write_text(json.dumps(out, indent=1) + '\n')
    print(json.dumps(out, indent=1))

if __name__ == '__main__': main()
