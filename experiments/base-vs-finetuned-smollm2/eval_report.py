"""The full base vs fine-tuned report on PubMedQA's official 500-question test split, on a GPU.

Label scoring with 95% bootstrap intervals and McNemar's test, greedy generation with parsed decisions, ROUGE-1/2/L and
BERTScore on the long answers, confusion matrices, per-class bars and the official-format predictions file: a thin wrapper
around `med-llm-ft eval --base-vs-ft` with GPU-sized defaults.

    python experiments/base-vs-finetuned-smollm2/eval_report.py --adapter runs/smollm2/adapter                       # base model read from the adapter
    python experiments/base-vs-finetuned-smollm2/eval_report.py --model smollm2-135m --adapter A --gen-limit 100 --out outputs/eval_report
    python experiments/base-vs-finetuned-smollm2/eval_report.py --model X --adapter A --limit 8 --gen-limit 2 --max-new-tokens 16   # a CPU check

Prints one JSON line (the figures; the report itself is in --out).
"""
import argparse, contextlib, json, sys, time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--model', default=None, help="base model (default: the adapter's base_model_name_or_path)")
    ap.add_argument('--adapter', default=None, help='LoRA adapter folder; without it only the base model is evaluated')
    ap.add_argument('--data', default=None, help='folder with ori_pqal.json (default: find_pubmedqa())')
    ap.add_argument('--split', default='official'); ap.add_argument('--limit', type=int, default=None)
    ap.add_argument('--gen-limit', type=int, default=None, help='generate for the first N questions only (default: all)')
    ap.add_argument('--max-new-tokens', type=int, default=256)
    ap.add_argument('--batch-size', type=int, default=None); ap.add_argument('--gen-batch-size', type=int, default=None)
    ap.add_argument('--max-len', type=int, default=512); ap.add_argument('--template', default='chat')
    ap.add_argument('--calibrate', default=None); ap.add_argument('--bits', type=int, default=0)
    ap.add_argument('--backend', default='hf'); ap.add_argument('--n-boot', type=int, default=1000)
    ap.add_argument('--bertscore-model', default=None, help='e.g. roberta-large where the hub is reachable (default: local MiniLM)')
    ap.add_argument('--out', default='outputs/eval_report')
    a = ap.parse_args(argv)

    import torch
    from med_llm_ft.data import find_pubmedqa
    from med_llm_ft.evaluation import cli_eval
    cuda = torch.cuda.is_available()
    data = a.data or find_pubmedqa()
    if data is None: sys.exit("eval_report: PubMedQA PQA-L not found; pass --data DIR (a folder with ori_pqal.json)")
    args = ['--data', str(data), '--split', a.split, '--out', a.out, '--max-len', str(a.max_len), '--template', a.template,
            '--batch-size', str(a.batch_size or (64 if cuda else 8)), '--gen-batch-size', str(a.gen_batch_size or (64 if cuda else 4)),
            '--max-new-tokens', str(a.max_new_tokens), '--bits', str(a.bits), '--backend', a.backend, '--n-boot', str(a.n_boot)]
    if a.model: args += ['--model', a.model]
    if a.adapter: args += ['--adapter', a.adapter, '--base-vs-ft']
    if a.limit: args += ['--limit', str(a.limit)]
    if a.gen_limit: args += ['--gen-limit', str(a.gen_limit)]
    if a.calibrate: args += ['--calibrate', a.calibrate]
    if a.bertscore_model: args += ['--bertscore-model', a.bertscore_model]
    t0 = time.time()
    with contextlib.redirect_stdout(sys.stderr): summary = cli_eval(args)
    print(json.dumps({'report': str(Path(a.out).resolve()), 'seconds': round(time.time() - t0, 1),
                      'device': torch.cuda.get_device_name(0) if cuda else 'cpu', **summary}))


if __name__ == '__main__':
    main()
