"""Today's label scorer, pinned: `_rows_for`, `_forward_rows` and `_raw_scores` of `med_llm_ft.evaluation` as they were before
token-budget batching and KV-cached option tails (main at 2fecbb2), copied verbatim. `bench/bench_label_scoring.py` times it
against the new scorer, and `nbs/03_eval.ipynb` checks that both give the same predictions; nothing else uses it."""
import dataclasses
import numpy as np
from med_llm_ft.data import template_parts, format_example, progress_bar
from med_llm_ft.evaluation import _lead, _continuation, fit_prompt, TooLong


def _rows_for(recs, tok, template, system, max_len, fast, too_long='error'):
    "Scoring rows: (ids, n_ctx, next_token_ids|None, record index, label indices) and per-record label lists."
    parts = template_parts(tok, template, system)
    lead = _lead(dataclasses.replace(recs[0], answer=recs[0].labels[0]), tok, template, system, parts)  # the same for every record
    prompts = [format_example(r, tok, template, system, explain=False, parts=parts)['prompt'] for r in recs]
    conts = [[lead + _continuation(r, l) for l in r.labels] for r in recs]
    # Tokenizing is a large share of the time on a GPU, so each prompt is tokenized once, in one batched call, and each
    # continuation together with the prompt's last few tokens only; where those tokens do not come back unchanged
    # (a merge across the boundary), the record falls back to tokenizing prompt + continuation in full.
    enc = tok(prompts, add_special_tokens=False, return_offsets_mapping=True)
    P_all, starts = enc['input_ids'], [o[max(0, len(o) - 4)][0] if o else 0 for o in enc['offset_mapping']]
    T_all = iter(tok([p[st:] + c for p, st, cs in zip(prompts, starts, conts) for c in cs], add_special_tokens=False)['input_ids'])
    rows, meta = [], []
    for i, (r, p, P, cs) in enumerate(zip(recs, prompts, P_all, conts)):
        m, trunc = min(4, len(P)), False
        tails = [next(T_all) for _ in cs]
        if all(t[:m] == P[len(P) - m:] for t in tails): full = [P + t[m:] for t in tails]
        else: full = tok([p + c for c in cs], add_special_tokens=False)['input_ids']
        skip = False
        for _ in range(3):
            C = [f[len(P):] if f[:len(P)] == P else tok(c, add_special_tokens=False)['input_ids'] for f, c in zip(full, cs)]
            if len(P) + max(map(len, C)) <= max_len: break
            try: p, P, trunc = fit_prompt(r, tok, template, system, max_len - max(map(len, C)), parts, len(P), too_long)  # cut the abstract, keep the question
            except TooLong:
                if too_long != 'skip': raise
                skip = True; break
            full = tok([p + c for c in cs], add_special_tokens=False)['input_ids']
        if skip:  # left out of the scores, counted by score_labels
            meta.append({'labels': r.labels, 'fast': False, 'n_prompt': len(P), 'truncated': False, 'skipped': True}); continue
        k = 0
        while all(len(c) > k for c in C) and len({c[k] for c in C}) == 1: k += 1
        if fast and all(len(c) == k + 1 for c in C) and len({c[k] for c in C}) == len(C):
            rows.append((P + C[0][:k], len(P), [c[k] for c in C], i, list(range(len(C)))))
        else:
            rows += [(P + c, len(P), None, i, [j]) for j, c in enumerate(C)]
        meta.append({'labels': r.labels, 'fast': bool(rows[-1][2]), 'n_prompt': len(P), 'truncated': bool(trunc), 'cut_question': trunc == 'question'})
    return rows, meta

def _forward_rows(model, rows, batch_size, pad_id):
    "Sum of log-probs of ids[n_ctx:] for each row, and the next-token log-probs at `next_ids` for fast rows."
    import torch
    dev = next(model.parameters()).device
    out = [None] * len(rows)
    order = sorted(range(len(rows)), key=lambda i: -len(rows[i][0]))  # longest first: an out-of-memory shows at once
    for s in progress_bar(range(0, len(order), batch_size), 'scoring', unit='batch'):  # (a bar on a terminal only)
        idx = order[s:s + batch_size]
        L = max(len(rows[i][0]) for i in idx)
        keep = max(len(rows[i][0]) - rows[i][1] + 1 for i in idx)
        ids = torch.full((len(idx), L), pad_id, dtype=torch.long); att = torch.zeros((len(idx), L), dtype=torch.long)
        rj, pj, tj = [], [], []  # (row, kept position, target token) of every scored continuation token
        for j, i in enumerate(idx):
            seq, n_ctx = rows[i][0], rows[i][1]; n = len(seq)
            ids[j, L - n:] = torch.tensor(seq); att[j, L - n:] = 1
            for t, tok_id in enumerate(seq[n_ctx:]): rj.append(j); pj.append(keep - n + n_ctx - 1 + t); tj.append(tok_id)
        pos = (att.cumsum(-1) - 1).clamp(min=0)
        kw = dict(input_ids=ids.to(dev), attention_mask=att.to(dev), position_ids=pos.to(dev), use_cache=False)
        with torch.inference_mode():
            try: logits = model(**kw, logits_to_keep=keep).logits
            except TypeError: logits = model(**kw).logits
            lp = logits[:, -keep:].float().log_softmax(-1)
            sums = torch.zeros(len(idx), dtype=torch.float64, device=lp.device)
            if rj:
                rj_t = torch.tensor(rj, device=lp.device)
                sums.index_add_(0, rj_t, lp[rj_t, torch.tensor(pj, device=lp.device), torch.tensor(tj, device=lp.device)].double())
            nk = max((len(rows[i][2]) for i in idx if rows[i][2]), default=0)
            nl = None
            if nk:
                nxt = torch.tensor([(rows[i][2] or []) + [0] * (nk - len(rows[i][2] or [])) for i in idx], device=lp.device)
                nl = lp[:, -1].gather(1, nxt).double().cpu().numpy()
            sums = sums.cpu().numpy()
        for j, i in enumerate(idx):
            out[i] = (float(sums[j]), nl[j, :len(rows[i][2])] if rows[i][2] else None)
    return out

def _label_set(recs):
    "One label order for the score matrix: the records' labels if all agree, else the sorted union."
    sets = {r.labels for r in recs}
    return next(iter(sets)) if len(sets) == 1 else tuple(sorted({l for s in sets for l in s}))

def _raw_scores(model, tok, recs, template, system, max_len, batch_size, fast, too_long='error'):
    rows, meta = _rows_for(recs, tok, template, system, max_len, fast, too_long)
    res = _forward_rows(model, rows, batch_size, tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id)
    labels = _label_set(recs); col = {l: j for j, l in enumerate(labels)}
    scores = np.full((len(recs), len(labels)), -np.inf)
    for (seq, n_ctx, nxt, i, js), (s, nl) in zip(rows, res):
        ls = meta[i]['labels']
        if nxt: scores[i, [col[ls[j]] for j in js]] = s + nl
        else: scores[i, col[ls[js[0]]]] = s
    return labels, scores, meta
