"""Reading the committed fold runs of SmolLM2's distilled student: the helpers its experiments' notebooks share.

Each experiment keeps its results in `experiments/<question>/results/`; a later experiment that compares with an earlier one
reads the earlier one's folder through `load` and `fold_rows`. The combination functions call the library's own code
(`fold_oof`, `_fold_bias`, `ensemble_predict`), so a recomputed figure is what `med-llm-ft train` would report.
"""
import json
from pathlib import Path
import numpy as np
from fastcore.test import test_eq
from med_llm_ft.evaluation import _log_softmax
from med_llm_ft.config import TrainConfig
from med_llm_ft.ensembles import _fold_bias, _row_scores, ensemble_predict
from med_llm_ft.qlora import decision_metrics

EXPERIMENTS = Path(__file__).resolve().parent


def load(experiment, name):
    "The JSON file `name` of `experiments/<experiment>/results/`."
    return json.loads((EXPERIMENTS / experiment / 'results' / name).read_text())


def fold_rows(experiment, run, name, gold):
    "A committed run's fold scores (`results/<run>/<name>/foldK/scores.json`), with the gold labels of their held-out questions put back."
    rows = [json.loads(f.read_text()) for f in sorted((EXPERIMENTS / experiment / 'results' / run / name).glob('fold*/scores.json'))]
    for r in rows: r['dev_gold'] = [gold[i] for i in r['dev_ids']]
    return rows


def oof(d):
    "A combination's out-of-fold figures as it counts them: with the label bias where it uses one, raw otherwise."
    return d['oof']['calibrated' if d['use_bias'] else 'raw']


def counted_objective(v):
    "Of a run's two bias objectives, the one with the higher out-of-fold accuracy among those with macro-F1 >= 0.45 (a tie: macro_f1)."
    ok = {bm: oof(v[bm])['acc'] for bm in ('macro_f1', 'accuracy') if oof(v[bm])['macro_f1'] >= 0.45}
    return max(ok, key=lambda b: (ok[b], b == 'macro_f1')) if ok else None


def ci_text(t, k):
    "A bootstrap interval of a test record, as `[low, high]`."
    return f"[{t[k]['low']:.3f}, {t[k]['high']:.3f}]"


def minutes(a, b):
    "Minutes between two timeline lines (each starts with HH:MM:SS)."
    secs = lambda l: sum(int(x) * m for x, m in zip(l[:8].split(':'), (3600, 60, 1)))
    return (secs(b) - secs(a)) / 60


OBJECTIVES = {'floor': ('accuracy', 0.47), 'accuracy': ('accuracy', 0.0), 'macro_f1': ('macro_f1', 0.0)}


def combine_folds(rows, labs, tta, objective):
    "Fold rows combined as `train` combines them, for `tta` and an `OBJECTIVES` key: out-of-fold metrics, whether the bias is used, the bias, test predictions."
    bm, floor = OBJECTIVES[objective]
    oof_, use, bias = _fold_bias(rows, labs, TrainConfig(tta=tta, bias_metric=bm, bias_min_macro_f1=floor))
    return oof_, use, bias, ensemble_predict([_row_scores(f, 'test', tta) for f in rows], labs, bias)


def recipe_combination(rows, labs):
    "Out-of-fold metrics (as the recipe chooses them), bias and test predictions of fold rows under the recipe's combination (tta=0, bias by accuracy)."
    o, use, bias, pred = combine_folds(rows, labs, 0, 'accuracy')
    return oof({'oof': o, 'use_bias': use}), bias, pred


def check_recorded(rows, r, labs, tgold):
    "Check a training's recorded figures (out of fold, bias, test) against its committed fold scores under the recipe's combination."
    o, b, pred = recipe_combination(rows, labs)
    test_eq((o, b, decision_metrics(tgold, pred, labs)), (oof(r), r['bias'], {k: r['test'][k] for k in ('acc', 'macro_f1', 'pred_dist')}))


def seed_mean(*runs):
    "Fold rows of several runs of the same folds, each fold's held-out and test scores the mean of the runs' log-softmax scores."
    return [{**fs[0], **{k: np.mean([_log_softmax(np.asarray(f[k])) for f in fs], 0).tolist() for k in ('dev_scores', 'test_scores')}}
            for fs in zip(*runs)]


def held_out_acc(rows, gold, labs):
    "Each fold model alone on its held-out fold, no bias: accuracy per fold."
    return [decision_metrics([gold[i] for i in f['dev_ids']], ensemble_predict([f['dev_scores']], labs), labs)['acc'] for f in rows]


def training_row(seed, r):
    "One training's row: its seed, bias, out-of-fold figures (as the recipe counts them), test figures with intervals, and whether they meet SmolLM2's goal."
    return {'seed': seed, 'bias': r['bias'], 'oof_acc': oof(r)['acc'], 'oof_macro_f1': oof(r)['macro_f1'], 'test_acc': r['test']['acc'],
            'test_acc_ci': ci_text(r['test'], 'ci_acc'), 'test_macro_f1': round(r['test']['macro_f1'], 4), 'test_f1_ci': ci_text(r['test'], 'ci_macro_f1'),
            'test_maybe': r['test']['pred_dist']['maybe'], 'meets both': r['test']['acc'] >= 0.65 and r['test']['macro_f1'] >= 0.45}


# The recipe smollm2-pubmedqa-distill-aug-cv10 (bias by accuracy, tta=0), trained with four seeds, each by one experiment:
RECIPE_TRAININGS = {0: ('perturbed-copies-two-epochs', 'augment_e2_h200', 'aug8e2'), 1: ('macro-f1-floor', 'floor_h200', 'seed1'),
                    2: ('smollm2-seeds', 'seeds_h200', 'seed2'), 3: ('smollm2-seeds', 'seeds_h200', 'seed3')}


def recipe_trainings():
    "The recipe's four trainings' records (seed -> the record its one command wrote with the recipe's own combination)."
    e2 = load('perturbed-copies-two-epochs', 'augment_e2_h200.json')['variants']['aug8e2']
    fl = load('macro-f1-floor', 'floor_h200.json')['variants']['seed1']
    sd = load('smollm2-seeds', 'seeds_h200.json')['variants']
    return {0: e2['tta0_accuracy'], 1: fl['tta0_accuracy'], 2: sd['seed2']['accuracy'], 3: sd['seed3']['accuracy']}


def recipe_fold_rows(gold):
    "The recipe's four trainings' fold rows, by seed."
    return {s: fold_rows(e, run, name, gold) for s, (e, run, name) in RECIPE_TRAININGS.items()}
