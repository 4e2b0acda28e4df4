"lm-evaluation-harness parity: our label scorer and lm-eval's HF backend, on the same exported task, agree on the embedded model."
import json
import numpy as np
import pytest

lm_eval = pytest.importorskip('lm_eval', reason='lm-eval is in the dev extra')


def test_lm_eval_hf_backend_agrees_with_score_labels(tmp_path):
    import torch
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager
    from med_llm_ft.data import load_records, sample_path, resolve_model, load_tokenizer
    from med_llm_ft.models import load_model
    from med_llm_ft.evaluation import export_lm_eval, score_labels
    recs = load_records(sample_path())[:16] + load_records(sample_path('medqa'))[:8]  # two dozen questions of both tasks
    tok = load_tokenizer()
    tasks = [export_lm_eval(recs[:16], tok, tmp_path).stem, export_lm_eval(recs[16:], tok, tmp_path).stem]
    res = simple_evaluate(model='hf', model_args=f'pretrained={resolve_model()},dtype=float32', tasks=tasks, device='cpu', batch_size=16,
                          task_manager=TaskManager(include_path=str(tmp_path)), log_samples=True)
    model, _ = load_model(device='cpu', dtype='float32')
    for task, part in zip(tasks, (recs[:16], recs[16:])):
        ours = score_labels(model, tok, part, max_len=512, batch_size=8)
        samples = sorted(res['samples'][task], key=lambda s: s['doc_id'])
        theirs = np.array([[float(r[0]) for r in s['filtered_resps']] for s in samples])
        assert [s['doc']['id'] for s in samples] == [r.id for r in part]
        assert [ours['labels'][j] for j in theirs.argmax(1)] == ours['pred'], task  # the same answer to every question
        np.testing.assert_allclose(theirs, ours['raw_scores'], atol=2e-3)  # the same log-likelihoods, up to batching
        acc = float(np.mean([p == r.answer for p, r in zip(ours['pred'], part)]))
        assert abs(res['results'][task]['acc,none'] - acc) < 1e-9, (task, res['results'][task], acc)
