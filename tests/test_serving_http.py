"""The HF fallback server as a client meets it: every bad request answered with a 4xx and a JSON error naming the field, a burst of
64 concurrent clients all answered, and the API key on both backends. CPU, a tiny random Llama, loopback only."""
import http.client, json, os, subprocess, sys, threading, time
from pathlib import Path
import pytest
from med_llm_ft.serving import API_KEY_ENV, chat, complete, models, serve, tiny_llama

KEY = 'sk-test-' + os.urandom(8).hex()
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    return tiny_llama(tmp_path_factory.mktemp('http') / 'tiny')


@pytest.fixture(scope='module')
def srv(tiny):
    with serve(tiny, backend='hf', served_name='tiny', api_key=KEY, max_model_len=256, timeout=300) as s: yield s


def _req(s, method, path, body=None, key=KEY, ctype='application/json', raw=None, timeout=60):
    "(status, parsed JSON body) of one request on its own connection."
    host, port = s.url.split('//')[1].split('/')[0].split(':')
    c = http.client.HTTPConnection(host, int(port), timeout=timeout)
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    h = {**({'Content-Type': ctype} if ctype else {}), **({'Authorization': f'Bearer {key}'} if key else {})}
    c.request(method, path, body=data, headers=h)
    r = c.getresponse(); out = r.status, json.loads(r.read() or b'null'); c.close()
    return out


OK = {'model': 'tiny', 'prompt': 'Hello', 'max_tokens': 2}
MSG = {'model': 'tiny', 'messages': [{'role': 'user', 'content': 'Hi'}], 'max_tokens': 2}
BAD = [  # (case, path, body or raw bytes, content type, status, param, words in the message)
    ('JSON list', '/v1/completions', [OK], None, 400, None, 'JSON object'),
    ('JSON string', '/v1/completions', 'hi', None, 400, None, 'JSON object'),
    ('invalid JSON', '/v1/completions', b'{"model": ', None, 400, None, 'not valid JSON'),
    ('not UTF-8', '/v1/completions', b'\xff\xfe{', None, 400, None, 'not valid JSON'),
    ('wrong content type', '/v1/completions', OK, 'text/plain', 415, 'Content-Type', 'application/json'),
    ('max_tokens 0', '/v1/completions', {**OK, 'max_tokens': 0}, None, 400, 'max_tokens', 'positive integer, got 0'),
    ('max_tokens -3', '/v1/completions', {**OK, 'max_tokens': -3}, None, 400, 'max_tokens', 'got -3'),
    ('max_tokens "8"', '/v1/completions', {**OK, 'max_tokens': '8'}, None, 400, 'max_tokens', "got '8'"),
    ('max_tokens 2.5', '/v1/completions', {**OK, 'max_tokens': 2.5}, None, 400, 'max_tokens', 'got 2.5'),
    ('max_tokens true', '/v1/completions', {**OK, 'max_tokens': True}, None, 400, 'max_tokens', 'got True'),
    ('max_tokens huge', '/v1/completions', {**OK, 'max_tokens': 10**9}, None, 400, 'max_tokens', 'maximum context length is 256 tokens'),
    ('chat max_tokens huge', '/v1/chat/completions', {**MSG, 'max_tokens': 10**9}, None, 400, 'max_tokens', 'in the completion'),
    ('missing prompt', '/v1/completions', {'model': 'tiny'}, None, 400, 'prompt', 'non-empty string'),
    ('empty prompt', '/v1/completions', {**OK, 'prompt': ''}, None, 400, 'prompt', 'non-empty string'),
    ('prompt a number', '/v1/completions', {**OK, 'prompt': 7}, None, 400, 'prompt', 'got 7'),
    ('two prompts', '/v1/completions', {**OK, 'prompt': ['a', 'b']}, None, 400, 'prompt', 'list of one'),
    ('missing messages', '/v1/chat/completions', {'model': 'tiny'}, None, 400, 'messages', 'non-empty list'),
    ('messages a string', '/v1/chat/completions', {**MSG, 'messages': 'hi'}, None, 400, 'messages', 'non-empty list'),
    ('message not an object', '/v1/chat/completions', {**MSG, 'messages': ['hi']}, None, 400, 'messages[0]', "'role' and 'content'"),
    ('message without role', '/v1/chat/completions', {**MSG, 'messages': [{'content': 'hi'}]}, None, 400, 'messages[0].role', 'got None'),
    ('message with unknown role', '/v1/chat/completions', {**MSG, 'messages': [{'role': 'wizard', 'content': 'hi'}]}, None, 400, 'messages[0].role', "'wizard'"),
    ('message without content', '/v1/chat/completions', {**MSG, 'messages': [{'role': 'user'}]}, None, 400, 'messages[0].content', 'string'),
    ('unknown model', '/v1/completions', {**OK, 'model': 'gpt-4'}, None, 404, 'model', "`gpt-4` does not exist"),
    ('model a list', '/v1/chat/completions', {**MSG, 'model': ['tiny']}, None, 404, 'model', 'does not exist'),
    ('temperature a string', '/v1/completions', {**OK, 'temperature': 'hot'}, None, 400, 'temperature', "'hot'"),
    ('temperature negative', '/v1/completions', {**OK, 'temperature': -1}, None, 400, 'temperature', '>= 0'),
    ('top_p 0', '/v1/completions', {**OK, 'top_p': 0}, None, 400, 'top_p', '> 0'),
    ('top_p 1.5', '/v1/completions', {**OK, 'top_p': 1.5}, None, 400, 'top_p', '<= 1'),
    ('seed a string', '/v1/completions', {**OK, 'seed': 'x'}, None, 400, 'seed', 'integer'),
    ('n 2', '/v1/completions', {**OK, 'n': 2}, None, 400, 'n', 'must be 1'),
    ('stream', '/v1/completions', {**OK, 'stream': True}, None, 400, 'stream', 'streaming is not supported'),
    ('unknown path', '/v1/embeddings', OK, None, 404, None, 'no route /v1/embeddings'),
]


@pytest.mark.parametrize('case,path,body,ctype,status,param,words', BAD, ids=[b[0] for b in BAD])
def test_bad_request(srv, case, path, body, ctype, status, param, words):
    raw = body if isinstance(body, bytes) else None
    code, r = _req(srv, 'POST', path, None if raw else body, ctype=ctype or 'application/json', raw=raw)
    assert code == status, (code, r)
    e = r['error']
    assert (e['code'], e['param'], e['type']) == (status, param, {400: 'BadRequestError', 404: 'NotFoundError', 415: 'UnsupportedMediaType'}[status]), e
    assert words in e['message'], e['message']
    assert _req(srv, 'POST', '/v1/completions', OK)[0] == 200  # and the server still answers


def test_methods_and_good_requests(srv):
    assert _req(srv, 'GET', '/v1/completions')[1]['error']['message'] == '/v1/completions takes POST, not GET'
    assert _req(srv, 'GET', '/v1/completions')[0] == _req(srv, 'POST', '/v1/models', {})[0] == _req(srv, 'DELETE', '/v1/models')[0] == 405
    assert _req(srv, 'GET', '/nope')[0] == 404
    code, r = _req(srv, 'POST', '/v1/completions', {**OK, 'max_tokens': 1, 'temperature': 0})
    assert code == 200 and r['usage']['completion_tokens'] == 1  # max_tokens=1 honoured exactly
    code, r = _req(srv, 'POST', '/v1/completions', {'model': 'tiny', 'prompt': 'Hello', 'temperature': 0, 'max_tokens': None})
    assert code == 200 and 1 <= r['usage']['completion_tokens'] <= 16  # no max_tokens: OpenAI's default of 16
    code, r = _req(srv, 'POST', '/v1/chat/completions', {'messages': MSG['messages'], 'max_tokens': 3}, ctype=None)  # no model: the base model
    assert code == 200 and r['model'] == 'tiny' and r['choices'][0]['message']['role'] == 'assistant'


def test_api_key_hf(srv):
    for key in (None, 'wrong', KEY + 'x'):
        for method, path, body in (('GET', '/v1/models', None), ('POST', '/v1/completions', OK), ('POST', '/v1/chat/completions', MSG)):
            code, r = _req(srv, method, path, body, key=key)
            assert code == 401 and r['error']['type'] == 'AuthenticationError' and 'Bearer' in r['error']['message'], (key, path, code, r)
    assert _req(srv, 'GET', '/health', key=None)[0] == 200  # health checks need no key, as on vLLM
    assert models(srv.url, api_key=KEY) == ['tiny']
    assert isinstance(complete(srv.url, 'tiny', 'Hi', max_tokens=2, api_key=KEY), str)
    assert isinstance(chat(srv.url, 'tiny', 'Hi', max_tokens=2, api_key=KEY), str)
    with pytest.raises(RuntimeError, match='HTTP 401'): models(srv.url)
    assert KEY not in srv.log_path.read_text() and KEY not in repr(srv)  # the key is never logged
    ps = subprocess.run(['ps', '-eo', 'args'], capture_output=True, text=True).stdout
    assert KEY not in ps  # nor on a command line


def _burst(s, n, body, path='/v1/completions', key=KEY):
    "n clients connect at the same moment, each sends one request; returns the statuses (or the exception names)."
    out, go = [None] * n, threading.Barrier(n)
    def one(i):
        try: go.wait(30); out[i] = _req(s, 'POST', path, body, key=key, timeout=120)[0]
        except Exception as e: out[i] = type(e).__name__
    ts = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(n)]
    for t in ts: t.start()
    for t in ts: t.join(150)
    return out


def test_load_64_clients_hf(srv):
    t0 = time.time()
    out = _burst(srv, 64, {**OK, 'max_tokens': 1, 'temperature': 0})
    assert out == [200] * 64, f"{out.count(200)} of 64 answered: {sorted(set(map(str, out)))}"
    bad = _burst(srv, 64, {**OK, 'max_tokens': 0})  # refused requests in a burst are answered too
    assert bad == [400] * 64, sorted(set(map(str, bad)))
    print(f"64 of 64 answered in {time.time() - t0:.1f} s")


def _cli(*args, env=None):
    return subprocess.run([sys.executable, '-m', 'med_llm_ft.cli', 'serve', *map(str, args)], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, **(env or {})}, timeout=300)


def test_cli_serve_key_rules(tiny, tmp_path):
    env = {'MED_LLM_FT_REQUIRE_API_KEY': '1', API_KEY_ENV: '', 'VLLM_API_KEY': ''}
    r = _cli('--model', tiny, '--backend', 'hf', env=env)  # the Docker image's rule: no key, no server
    assert r.returncode == 2 and 'requires an API key' in r.stderr and 'MED_LLM_FT_REQUIRE_API_KEY=0' in r.stderr, r.stderr
    r = _cli('--model', tiny, '--backend', 'hf', '--api-key', ' ')
    assert r.returncode == 2 and '--api-key is empty' in r.stderr
    (tmp_path / 'empty').mkdir()
    for bad, words in (('--adapter', 'not an adapter folder'), ('--model', 'nope: no such folder')):
        r = _cli('--model', tiny, bad, tmp_path / 'nope', '--backend', 'hf')
        assert r.returncode != 0 and words in r.stderr and 'Traceback' not in r.stderr, r.stderr[-2000:]
    r = _cli('--model', tmp_path / 'empty', '--backend', 'hf')
    assert r.returncode != 0 and 'empty: not a model folder (no config.json)' in r.stderr and 'Traceback' not in r.stderr, r.stderr[-2000:]


def test_serve_warns_open_beyond_loopback(tiny, tmp_path, capfd):
    "The warning comes before anything starts (here the start then fails on a missing adapter, so no server runs)."
    for host, key, warned in (('0.0.0.0', None, True), ('0.0.0.0', KEY, False), ('127.0.0.1', None, False), ('localhost', None, False)):
        with pytest.raises(Exception, match='not an adapter folder'): serve(tiny, tmp_path / 'nope', backend='hf', host=host, api_key=key)
        err = capfd.readouterr().err
        assert ('without an API key' in err) == warned, (host, key, err)
        assert KEY not in err
    from med_llm_ft.serving import _loopback
    assert [_loopback(h) for h in ('::', '::1', '192.168.1.5', 'example.org', '127.0.0.2')] == [False, True, False, False, True]

# vLLM's side (401 without the key, 200 with it, 64 concurrent clients) runs in tests/test_serving.py::test_vllm_server_base_and_adapter,
# on the vLLM server that test starts anyway: a second vLLM start would cost CI a minute.
