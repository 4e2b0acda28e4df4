"""Greedy long answers from a base model and base + adapter on the official PubMedQA test split, saved for scoring.

The GPU machine has no ROUGE/BERTScore packages and no encoder weights, so this writes the texts (one JSON file) and
`med_llm_ft.evaluation` scores them anywhere afterwards (rouge_scores, bertscore, parse_decisions).

    python experiments/base-vs-finetuned-smollm2/generate.py --model /tmp/models/smol.gguf --adapter RUN/adapter --data DIR --out $OUT/generations.json
"""
import argparse, json, sys, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--model', required=True); ap.add_argument('--adapter', default=None); ap.add_argument('--data', required=True)
    ap.add_argument('--max-new-tokens', type=int, default=128); ap.add_argument('--batch-size', type=int, default=64)
    ap.add_argument('--limit', type=int, default=None); ap.add_argument('--out', required=True)
    a = ap.parse_args(argv)
    import torch
    from med_llm_ft.data import load_records, official_split
    from med_llm_ft.models import load_model, apply_adapter
    from med_llm_ft.evaluation import generate_hf
    test = official_split(load_records(a.data))['test'][:a.limit]
    model, tok = load_model(a.model)
    res = {'model': a.model, 'adapter': a.adapter, 'ids': [r.id for r in test], 'max_new_tokens': a.max_new_tokens,
           'device': torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'cpu'}
    for name in ('base', 'ft') if a.adapter else ('base',):
        if name == 'ft': model = apply_adapter(model, a.adapter)
        t = time.time(); res[name] = generate_hf(model, tok, test, a.max_new_tokens, a.batch_size); res[f'{name}_s'] = round(time.time() - t, 1)
    Path(a.out).write_text(json.dumps(res))
    print(json.dumps({k: v for k, v in res.items() if k.endswith('_s') or k in ('model', 'device')}))


if __name__ == '__main__': main()
