"""Bad input across `prepare`, `train`, `eval` and the Python API: each case asserts the exit code, a message naming the file, field
or record, no traceback, and no half-written output; then a kill during a checkpoint write followed by `--resume`.

The CLI cases run `med_llm_ft.cli.main` in this process (a subprocess per case would spend its time importing torch); one case and the
kill test run the real console entry point in a subprocess. Validation failures must not load a model, so the whole table is fast.
"""
import contextlib, csv, dataclasses, io, json, os, signal, subprocess, sys, time, traceback
from pathlib import Path
import pytest
from conftest import ROOT, run_cli

from med_llm_ft.cli import main

LOG = os.environ.get('BAD_INPUT_LOG')  # where set, each case's outcome is appended (a table of what the commands do)


@pytest.fixture(scope='session')
def models(tmp_path_factory):
    "The tiny Llama, an adapter made on it, and two other bases: the same shapes (another seed) and other shapes."
    from med_llm_ft.models import make_tiny_model, load_model, add_lora, save_adapter
    d = tmp_path_factory.mktemp('models')
    tiny = make_tiny_model(d / 'tiny')
    m, tok = load_model(tiny)
    adapter = save_adapter(add_lora(m, r=4, alpha=8, dropout=0.0), tok, d / 'adapter')
    return {'tiny': tiny, 'adapter': str(adapter), 'other': make_tiny_model(d / 'tiny-seed1', seed=1),
            'wide': make_tiny_model(d / 'tiny-wide', hidden_size=96)}


# ---- input files, written into the case's folder ----
def pqal(n=6, **change):
    "An official-layout ori_pqal.json body: PMIDs 101.., labels cycling yes/no/maybe; `change` overrides fields of record 101."
    rows = {str(100 + i): {'QUESTION': f'Does treatment {i} help?', 'CONTEXTS': [f'We studied {i} patients.', 'It helped.'],
                           'LONG_ANSWER': 'It helps.', 'final_decision': ('yes', 'no', 'maybe')[i % 3]} for i in range(1, n + 1)}
    rows['101'].update(change)
    return rows

def mcq(i, q=None, **kw):
    return {'id': f'q{i}', 'question': q or f'A patient presents with sign {i}. Which drug?', 'options': {'A': 'Aspirin', 'B': 'Heparin', 'C': 'Warfarin'},
            'answer': 'Heparin', 'answer_idx': 'B', **kw}

def write(p, obj):
    p.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(obj, str): p.write_text(obj)
    elif p.suffix == '.jsonl': p.write_text(''.join(json.dumps(o) + '\n' for o in obj))
    else: p.write_text(json.dumps(obj))
    return str(p)

DUP = '{"101": {"QUESTION": "a?", "CONTEXTS": ["c"], "final_decision": "yes"}, "102": {"QUESTION": "b?", "CONTEXTS": ["c"], "final_decision": "no"}, ' \
      '"101": {"QUESTION": "c?", "CONTEXTS": ["c"], "final_decision": "maybe"}}'
LONG_Q = 'A 45-year-old woman comes with a long history. ' + 'She reports more symptoms over the years. ' * 150 + 'Which drug is best?'
QUICK = ['--max_len', '128', '--batch_size', '2', '--save_steps', '0', '--eval_accuracy', 'false', '--max_steps', '1', '--report_to', 'csv']


def sample_pubmedqa():
    from med_llm_ft.data import sample_path
    return str(sample_path())


# Each case: (name, build(t, m) -> ('cli', argv) | ('api', fn), expected exit code, substrings of the message, the output that must not appear).
# `t` is the case's folder, `m` the models; an output written before the failure must be left unchanged (`keep`).
CASES = [
    # prepare
    ('prepare: a PMID twice in ori_pqal.json', lambda t, m: ('cli', ['prepare', '--data', write(t / 'd' / 'ori_pqal.json', DUP), '--model', m['tiny'], '--out', t / 'out']),
     1, ['ori_pqal.json', "duplicate key '101'"], 'out'),
    ('prepare: a question that is a number', lambda t, m: ('cli', ['prepare', '--data', write(t / 'p.json', pqal(QUESTION=5)), '--model', m['tiny'], '--out', t / 'out']),
     1, ['p.json record 101', "field 'QUESTION' must be text"], 'out'),
    ('prepare: an empty question', lambda t, m: ('cli', ['prepare', '--data', write(t / 'p.json', pqal(QUESTION='  ')), '--model', m['tiny'], '--out', t / 'out']),
     1, ['p.json record 101', "field 'QUESTION' is empty"], 'out'),
    ('prepare: contexts not a list', lambda t, m: ('cli', ['prepare', '--data', write(t / 'p.json', pqal(CONTEXTS=7)), '--model', m['tiny'], '--out', t / 'out']),
     1, ['p.json record 101', "field 'CONTEXTS' must be a list of texts"], 'out'),
    ('prepare: a numeric label', lambda t, m: ('cli', ['prepare', '--data', write(t / 'p.json', pqal(final_decision=1)), '--model', m['tiny'], '--out', t / 'out']),
     1, ['p.json record 101', 'unknown label 1'], 'out'),
    ('prepare: a record without its label', lambda t, m: ('cli', ['prepare', '--data', write(t / 'p.json', pqal(final_decision=None)), '--model', m['tiny'], '--out', t / 'out']),
     1, ['p.json record 101', "missing field 'final_decision'"], 'out'),
    ('prepare: an id twice in JSONL', lambda t, m: ('cli', ['prepare', '--data', write(t / 'q.jsonl', [mcq(1), mcq(2), mcq(1)]), '--model', m['tiny'], '--out', t / 'out']),
     1, ['q.jsonl', 'duplicate id q1'], 'out'),
    ('prepare: options that are a number', lambda t, m: ('cli', ['prepare', '--data', write(t / 'q.jsonl', [mcq(1), mcq(2, options=3)]), '--model', m['tiny'], '--out', t / 'out']),
     1, ['q.jsonl record 1', "field 'options'"], 'out'),
    ('prepare: a line that is not JSON', lambda t, m: ('cli', ['prepare', '--data', write(t / 'q.jsonl', json.dumps(mcq(1)) + '\n{"id": \n'), '--model', m['tiny'], '--out', t / 'out']),
     1, ['q.jsonl line 2: not JSON'], 'out'),
    ('prepare: official split on multiple choice', lambda t, m: ('cli', ['prepare', '--data', write(t / 'q.jsonl', [mcq(i) for i in range(6)]), '--split', 'official', '--model', m['tiny'], '--out', t / 'out']),
     1, ["split 'official' is PubMedQA's", 'record q0'], 'out'),
    ('prepare: a negative --limit', lambda t, m: ('cli', ['prepare', '--limit', '-3', '--model', m['tiny'], '--out', t / 'out']),
     1, ['limit: must be a positive number'], 'out'),
    ('prepare: --max-len 0', lambda t, m: ('cli', ['prepare', '--max-len', '0', '--model', m['tiny'], '--out', t / 'out']),
     1, ['max_len: must be positive'], 'out'),
    ('prepare: --out below a file', lambda t, m: ('cli', ['prepare', '--model', m['tiny'], '--out', Path(write(t / 'afile', 'x')) / 'out']),
     1, ['afile: exists and is not a folder'], None),
    ('prepare: --out where nothing can be written', lambda t, m: ('cli', ['prepare', '--model', m['tiny'], '--out', '/proc/med_llm_ft_probe/out']),
     1, ['/proc/med_llm_ft_probe', 'cannot write there'], None),
    ('prepare: a model folder that is not there', lambda t, m: ('cli', ['prepare', '--model', str(t / 'no-model'), '--out', t / 'out']),
     1, ['no-model: cannot load its tokenizer'], 'out'),
    ('prepare: a failure leaves the earlier output', lambda t, m: ('cli', ['prepare', '--data', write(t / 'p.json', pqal(QUESTION=[1])), '--model', m['tiny'], '--out', t / 'keep']),
     1, ['p.json record 101', "field 'QUESTION' must be text, got list"], 'keep'),
    # train
    ('train: a negative learning rate', lambda t, m: ('cli', ['train', '--model', m['tiny'], *QUICK, '--lr', '-1', '--output_dir', t / 'out']), 1, ['lr: must be positive'], 'out'),
    ('train: an unknown scheduler', lambda t, m: ('cli', ['train', '--model', m['tiny'], *QUICK, '--scheduler', 'cosinus', '--output_dir', t / 'out']), 1, ["scheduler: 'cosinus' is not one of"], 'out'),
    ('train: an unknown optimizer', lambda t, m: ('cli', ['train', '--model', m['tiny'], *QUICK, '--optim', 'adam', '--output_dir', t / 'out']), 1, ["optim: 'adam' is not an optimizer"], 'out'),
    ('train: negative warmup', lambda t, m: ('cli', ['train', '--model', m['tiny'], *QUICK, '--set', 'warmup=-2', '--output_dir', t / 'out']), 1, ['warmup: must be 0 or positive'], 'out'),
    ('train: max_steps 0', lambda t, m: ('cli', ['train', '--model', m['tiny'], *QUICK, '--max_steps', '0', '--output_dir', t / 'out']), 1, ['max_steps: must be positive'], 'out'),
    ('train: a negative limit', lambda t, m: ('cli', ['train', '--model', m['tiny'], *QUICK, '--limit', '-2', '--output_dir', t / 'out']), 1, ['limit: must be positive'], 'out'),
    ('train: drop_long drops every record', lambda t, m: ('cli', ['train', '--model', m['tiny'], *QUICK, '--max_len', '40', '--drop_long', 'true', '--output_dir', t / 'out']),
     1, ['none of the 36 training records fits max_len=40', 'drop_long'], 'out'),
    ('train: max_len beyond the model', lambda t, m: ('cli', ['train', '--model', m['tiny'], *QUICK, '--max_len', '4096', '--output_dir', t / 'out']),
     1, ['max_len=4096 is beyond the 2048 positions', 'tiny'], 'out'),
    ('train: output_dir below a file', lambda t, m: ('cli', ['train', '--model', m['tiny'], *QUICK, '--output_dir', Path(write(t / 'afile', 'x')) / 'run']), 1, ['afile', 'cannot be created'], None),
    ('train: output_dir where nothing can be written', lambda t, m: ('cli', ['train', '--model', m['tiny'], *QUICK, '--output_dir', '/proc/med_llm_ft_probe/run']), 1, ['/proc/med_llm_ft_probe/run: cannot write there'], None),
    ('train: records without an answer (pqa_unlabeled)', lambda t, m: ('cli', ['train', '--model', m['tiny'], *QUICK, '--data', Path(write(t / 'd' / 'ori_pqau.json', {k: {**v, 'final_decision': ''} for k, v in pqal(20).items()})).parent,
                                                                               '--data_config', 'pqa_unlabeled', '--output_dir', t / 'out']), 1, ['no answer to train on', 'record 1'], 'out'),
    ('train: official split on multiple choice', lambda t, m: ('cli', ['train', '--model', m['tiny'], *QUICK, '--data', write(t / 'q.jsonl', [mcq(i) for i in range(12)]), '--split', 'official', '--output_dir', t / 'out']),
     1, ["split 'official' is PubMedQA's", 'record q0'], 'out'),
    ('train: an empty official fold of small data', lambda t, m: ('cli', ['train', '--model', m['tiny'], *QUICK, '--split', 'cv7', '--output_dir', t / 'out']),
     1, ['fold 7 of the official split is empty'], 'out'),
    ('train: a hub-layout question that is a list', lambda t, m: ('cli', ['train', '--model', m['tiny'], *QUICK, '--data', write(t / 'h.json', [{'pubid': 7, 'question': ['q'], 'context': {'contexts': ['c']}, 'final_decision': 'yes'}]), '--output_dir', t / 'out']),
     1, ['h.json row 0 record 7', "field 'QUESTION' must be text"], 'out'),
    ('train: test_size 1.5', lambda t, m: ('cli', ['train', '--model', m['tiny'], *QUICK, '--test_size', '1.5', '--output_dir', t / 'out']), 1, ['test_size: must be between 0 and 1'], 'out'),
    # eval
    ('eval: an adapter on another base of the same shapes', lambda t, m: ('cli', ['eval', '--model', m['other'], '--adapter', m['adapter'], '--split', 'valid', '--no-generate', '--n-boot', '10', '--out', t / 'out']),
     1, ['adapter: trained on', 'tiny (adapter_config.json base_model_name_or_path), not on the model given', 'tiny-seed1'], 'out'),
    ('eval: an adapter on a base of other shapes', lambda t, m: ('cli', ['eval', '--model', m['wide'], '--adapter', m['adapter'], '--split', 'valid', '--no-generate', '--n-boot', '10', '--out', t / 'out']),
     1, ['adapter: trained on', 'tiny-wide'], 'out'),
    ('eval: a folder that is not an adapter', lambda t, m: ('cli', ['eval', '--adapter', m['tiny'], '--no-generate', '--out', t / 'out']), 1, ['tiny: not an adapter folder'], 'out'),
    ('eval: --max-len beyond the model', lambda t, m: ('cli', ['eval', '--model', m['tiny'], '--max-len', '4096', '--split', 'valid', '--no-generate', '--out', t / 'out']),
     1, ['--max-len=4096 is beyond the 2048 positions'], 'out'),
    ('eval: a multiple-choice question longer than max_len', lambda t, m: ('cli', ['eval', '--model', m['tiny'], '--data', write(t / 'q.jsonl', [mcq(1, LONG_Q)] + [mcq(i) for i in range(2, 6)]), '--split', 'all', '--no-generate', '--out', t / 'out']),
     1, ['record q1: its question and options take', "too_long='skip'"], 'out'),
    ('eval: an official split of multiple choice', lambda t, m: ('cli', ['eval', '--model', m['tiny'], '--data', write(t / 'q.jsonl', [mcq(i) for i in range(6)]), '--no-generate', '--out', t / 'out']),
     1, ["split 'official' is PubMedQA's own"], 'out'),
    ('eval: a negative --limit', lambda t, m: ('cli', ['eval', '--model', m['tiny'], '--limit', '-1', '--out', t / 'out']), 1, ['--limit: must be a positive'], 'out'),
    ('eval: --out where nothing can be written', lambda t, m: ('cli', ['eval', '--model', m['tiny'], '--split', 'valid', '--no-generate', '--out', '/proc/med_llm_ft_probe/eval']), 1, ['/proc/med_llm_ft_probe/eval: cannot write there'], None),
    ('eval: an unknown --too-long', lambda t, m: ('cli', ['eval', '--model', m['tiny'], '--too-long', 'cut', '--out', t / 'out']), 2, ["--too-long", "invalid choice: 'cut'"], 'out'),
    # the Python API
    ('api: load_records of dicts without a question', lambda t, m: ('api', lambda: _api('load_records', [{'id': 'a', 'question': 3, 'answer': 'yes'}])), 1, ["rows record a: field 'question' must be text, got int"], None),
    ('api: load_records of a record twice', lambda t, m: ('api', lambda: _api('load_records', [_rec('x'), _rec('x')])), 1, ['rows: duplicate id x'], None),
    ('api: load_records of something else', lambda t, m: ('api', lambda: _api('load_records', ['a question'])), 1, ['rows row 0: unrecognised layout'], None),
    ('api: prepare of records without an answer', lambda t, m: ('api', lambda: _api('prepare', [_rec(str(i), answer='') for i in range(6)], t / 'out', m['tiny'], progress=False, plot=False)),
     1, ['no answer to train on', "(answer '', expected one of yes, no, maybe)"], 'out'),
    ('api: official_split of multiple choice', lambda t, m: ('api', lambda: _api('official_split', _api('load_records', [mcq(i) for i in range(4)]))), 1, ["split 'official' is PubMedQA's", 'record q0'], None),
    ('api: apply_adapter to another base', lambda t, m: ('api', lambda: _apply(m['other'], m['adapter'])), 1, ['not on the model given', 'tiny-seed1'], None),
    ('api: score_labels with an unknown too_long', lambda t, m: ('api', lambda: _score(m['tiny'], too_long='cut')), 1, ["too_long: 'cut' is not one of error, skip, truncate"], None),
    ('api: train with impossible hyperparameters', lambda t, m: ('api', lambda: _train(model=m['tiny'], lr=0.0, output_dir=str(t / 'out'))), 1, ['lr: must be positive, got 0.0'], 'out'),
    ('api: a duplicate key in an official file', lambda t, m: (lambda f: ('api', lambda: _api('read_rows', f)))(write(t / 'ori_pqal.json', DUP)), 1, ['ori_pqal.json', "duplicate key '101'"], None),
    ('api: a stratified split of one record', lambda t, m: ('api', lambda: _api('stratified_split', [_rec('a')])), 1, ['needs at least 2 records, got 1'], None),
]


def _api(name, *a, **kw):
    import med_llm_ft.data as D
    return getattr(D, name)(*a, **kw)

def _rec(i, **kw):
    from med_llm_ft.data import QARecord
    return QARecord(i, f'Does {i} help?', kw.pop('answer', 'yes'), ['Context.'], **kw)

def _apply(base, adapter):
    from med_llm_ft.models import load_model, apply_adapter
    return apply_adapter(load_model(base)[0], adapter)

def _score(model, **kw):
    from med_llm_ft.models import load_model
    from med_llm_ft.evaluation import score_labels
    m, tok = load_model(model)
    return score_labels(m, tok, [_rec('a'), _rec('b', answer='no')], **kw)

def _train(**kw):
    from med_llm_ft.config import TrainConfig
    from med_llm_ft.qlora import train
    return train(TrainConfig(**kw))


def _tree(p:Path) -> dict:
    "Every file under `p` with its size and modification time (to show an output unchanged)."
    return {str(f.relative_to(p)): (f.stat().st_size, f.stat().st_mtime_ns) for f in sorted(p.rglob('*'))} if p.exists() else {}

def _run(kind, what):
    "(exit code, stderr, traceback or None): a CLI case through `main`, an API case as main would report it (a DataError is exit 1)."
    err, tb = io.StringIO(), None
    from med_llm_ft.data import DataError
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try: rc = main([str(x) for x in what]) if kind == 'cli' else (what(), 0)[1]
        except SystemExit as e: rc = e.code
        except DataError as e: rc = 1; err.write(f"error: {e}\n")  # the API's named error: what the CLI prints
        except BaseException as e: rc, tb = 'traceback', ''.join(traceback.format_exception(e))
    return rc, err.getvalue(), tb


@pytest.mark.parametrize('name,build,code,msgs,out', CASES, ids=[c[0] for c in CASES])
def test_bad_input(name, build, code, msgs, out, models, tmp_path):
    kind, what = build(tmp_path, models)
    if out == 'keep':  # an output written before must come through a failure unchanged
        assert main(['prepare', '--data', write(tmp_path / 'good.json', pqal(10)), '--model', models['tiny'], '--out', str(tmp_path / 'keep')]) == 0
    before = {p.name for p in tmp_path.iterdir()}, _tree(tmp_path / 'keep')
    rc, err, tb = _run(kind, what)
    if LOG:
        with open(LOG, 'a') as f: f.write(json.dumps({'case': name, 'rc': rc, 'message': (tb or err).strip().splitlines()[-1:] }) + '\n')
    assert tb is None, f"{name}: traceback\n{tb[-3000:]}"
    assert rc == code, (name, rc, err[-2000:])
    for m in msgs: assert m in err, (name, m, err[-2000:])
    assert 'Traceback' not in err
    if out == 'keep': assert _tree(tmp_path / 'keep') == before[1], 'the earlier output changed'
    elif out: assert not (tmp_path / out).exists(), f"{name}: {out} was written"
    assert {p.name for p in tmp_path.iterdir()} == before[0], 'stray files or temporary folders were left'


def test_table_has_enough_cases():
    kinds = {c[0].split(':')[0] for c in CASES}
    assert len(CASES) >= 30 and kinds == {'prepare', 'train', 'eval', 'api'}


def test_console_script_says_no_traceback(models, tmp_path):
    "The real entry point in a subprocess: exit code 1 and one line naming the file, for a case the table runs in-process."
    r = run_cli('prepare', '--data', write(tmp_path / 'd' / 'ori_pqal.json', DUP), '--model', models['tiny'], '--out', tmp_path / 'out', timeout=300)
    assert r.returncode == 1 and 'Traceback' not in r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith('med-llm-ft prepare: error: ') and "duplicate key '101'" in r.stderr
    assert not (tmp_path / 'out').exists()


def test_mcq_too_long_skip_and_truncate_are_reported(models, tmp_path):
    "The two choices that go on: the skipped question counted in the metrics and the report, the cut one recorded."
    data = write(tmp_path / 'q.jsonl', [mcq(1, LONG_Q)] + [mcq(i) for i in range(2, 8)])
    base = ['eval', '--model', models['tiny'], '--data', data, '--split', 'all', '--no-generate', '--n-boot', '20']
    assert main([*base, '--too-long', 'skip', '--out', str(tmp_path / 'skip')]) == 0
    rep = json.loads((tmp_path / 'skip' / 'report.json').read_text())
    sc = rep['results'][0]['scoring'] if 'results' in rep else rep['base']['scoring']
    assert (sc['n_skipped'], sc['skipped_ids'], sc['max_len']) == (1, ['q1'], 1024)
    assert "1 questions longer than max_len=1024 were left out (too_long='skip'): q1" in (tmp_path / 'skip' / 'report.md').read_text()
    assert '6 questions' in (tmp_path / 'skip' / 'report.md').read_text()
    assert main([*base, '--too-long', 'truncate', '--out', str(tmp_path / 'cut')]) == 0
    md = (tmp_path / 'cut' / 'report.md').read_text()
    assert "had their middle cut (too_long='truncate'): q1" in md and '7 questions' in md


def _train_argv(tiny, out, *extra):
    return ['train', '--model', tiny, '--max_len', '128', '--batch_size', '2', '--eval_accuracy', 'false', '--report_to', 'csv',
            '--logging_steps', '1', '--lr', '1e-3', '--warmup', '0', '--quant', 'none', '--gradient_checkpointing', 'false', '--output_dir', str(out), *extra]


def test_resume_skips_a_half_written_checkpoint(models, tmp_path):
    "A checkpoint cut as a kill leaves it (weights half-written, no trainer state): --resume names it, resumes from the one before, and the records read as one run."
    out = tmp_path / 'run'
    assert main(_train_argv(models['tiny'], out, '--max_steps', '4', '--save_steps', '1', '--stop_at_step', '3')) == 0
    ck = out / 'checkpoint-3'
    w = ck / 'adapter_model.safetensors'; w.write_bytes(w.read_bytes()[:w.stat().st_size // 2]); (ck / 'trainer_state.json').unlink()
    err = io.StringIO()
    with contextlib.redirect_stderr(err): assert main(_train_argv(models['tiny'], out, '--max_steps', '4', '--save_steps', '1', '--resume')) == 0
    assert 'checkpoint-3 is incomplete (no readable trainer_state.json' in err.getvalue()
    m = json.loads((out / 'metrics.json').read_text())
    assert Path(m['resumed_from']).name == 'checkpoint-2' and m['steps'] == 4 and (out / 'adapter' / 'adapter_model.safetensors').exists()
    steps = [int(r['step']) for r in csv.DictReader(open(out / 'log.csv')) if r.get('loss')]
    assert steps == [1, 2, 3, 4], steps  # the rows before the resume point are kept
    assert m['train_tokens'] > 0 and m['train_loss'] > 0


def test_resume_after_a_real_kill(models, tmp_path):
    "SIGKILL a training process while it writes its checkpoints (save_steps=1), then --resume finishes the run from a complete checkpoint."
    out = tmp_path / 'run'
    argv = _train_argv(models['tiny'], out, '--max_steps', '6', '--save_steps', '1', '--save_total_limit', '3')
    p = subprocess.Popen([sys.executable, '-m', 'med_llm_ft.cli', *argv], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline, caught = time.time() + 240, False
    while time.time() < deadline and p.poll() is None:  # kill inside a checkpoint write if we catch one (a folder without its trainer state)
        cks = sorted(out.glob('checkpoint-*'), key=lambda c: int(c.name.split('-')[1])) if out.exists() else []
        if len(cks) >= 2 and not (cks[-1] / 'trainer_state.json').exists(): caught = True; break
        if len(cks) >= 3: break
        time.sleep(0.005)
    p.send_signal(signal.SIGKILL); p.wait()
    assert p.returncode == -signal.SIGKILL, p.stderr.read()[-2000:]
    r = run_cli(*argv, '--resume', timeout=300)
    assert r.returncode == 0 and 'Traceback' not in r.stderr, r.stderr[-3000:]
    m = json.loads((out / 'metrics.json').read_text())
    assert m['steps'] == 6 and m['resumed_from'] and (out / 'adapter' / 'adapter_model.safetensors').exists()
    steps = [int(r['step']) for r in csv.DictReader(open(out / 'log.csv')) if r.get('loss')]
    assert steps == list(range(1, 7)), steps
    if caught: assert 'is incomplete' in r.stderr, r.stderr[-2000:]
