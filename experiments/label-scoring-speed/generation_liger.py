"""Does greedy generation run with Liger's kernels put into the model, and how close are its answers to the plain model's?
On a GPU with liger-kernel installed:

    python experiments/label-scoring-speed/generation_liger.py MODEL PUBMEDQA_DIR 16 64

MODEL: a packaged alias, folder or .gguf; the first N official test questions, M new tokens each. Prints one JSON line
(results/generation_liger_smollm2_h200.json holds the run on an H200 with SmolLM2-135M-Instruct's packaged GGUF)."""
import json, sys
from med_llm_ft.models import load_model, apply_liger
from med_llm_ft.evaluation import generate_hf, select_split
from med_llm_ft.data import load_records

model_name, data, n, new_tokens = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
m, tok = load_model(model_name)
recs = select_split(load_records(data), 'official')[:n]
a = generate_hf(m, tok, recs, max_new_tokens=new_tokens)
apply_liger(m)
b = generate_hf(m, tok, recs, max_new_tokens=new_tokens)
print(json.dumps({'n': len(a), 'identical': sum(x == y for x, y in zip(a, b)), 'first_without': a[0][:300], 'first_with': b[0][:300]}))
