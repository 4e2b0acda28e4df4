"""The docs site in a real browser: built from the notebooks, served on 127.0.0.1, loaded in headless Chromium.

    python -m pytest -q tests/test_docs_site.py        # -s also shows the build's warnings

Builds the site with `tools/build_docs.py` (nbdev + smalldocs) unless `_docs/` is newer than everything it is made
from; the checks only read Quarto's page markup, so a site from `nbdev_docs` passes them too. For every notebook in
nbs/: a page with the notebook's title, not empty, listed in the sidebar and in search, with the recorded outputs of
its cells (`#| gpu` cells included); for every module: an API reference entry with a signature for each exported
function and class; on the data page a code output and a PNG plot. Fails on a page missing or empty, a request the
server answers with an error, or an uncaught JavaScript error. Saves screenshots outside the repo and prints their paths.
Skips when Chromium is not installed (Debian: `apt-get install -y chromium`).
"""
import ast, base64, html, importlib.util, json, os, re, shutil, subprocess, sys, tempfile, threading, time
from functools import partial
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urljoin
from urllib.request import urlopen
import pytest

ROOT = Path(__file__).resolve().parents[1]
NBS, DOCS, LIB = ROOT/'nbs', ROOT/'_docs', ROOT/'med_llm_ft'
CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser') or ('/usr/bin/chromium' if Path('/usr/bin/chromium').exists() else None)
SHOTS = Path(os.environ.get('TMPDIR') or tempfile.gettempdir())
NO_CHROMIUM = 'Chromium is not installed (Debian: apt-get update && apt-get install -y chromium); the docs browser test needs it'

# ---------------------------------------------------------------- what the site must show, from the sources

def notebooks() -> list:
    "The notebooks nbdev renders: nbs/**/*.ipynb outside folders starting with _ or . (nbdev's own rule), through nbs/experiments (a link to ../experiments)."
    from nbdev.clean import globtastic
    return sorted(Path(p) for p in globtastic(NBS, file_glob='*.ipynb', skip_folder_re='^[_.]'))  # follows links, as nbdev does

def page_of(nb:Path) -> str:
    "The page nbdev writes for a notebook: nbs/00_data.ipynb -> data.html (its `output-file`)."
    from nbdev.doclinks import _nbpath2html
    return _nbpath2html(nb.relative_to(NBS)).as_posix()

def cells(nb:Path) -> list: return json.loads(nb.read_text(encoding='utf-8'))['cells']
def src(cell) -> str: return ''.join(cell['source']) if isinstance(cell['source'], list) else cell['source']

def title_of(nb:Path) -> str:
    "The title, from the first markdown cell's `# Title` line, as nbdev reads it."
    for c in cells(nb):
        if c['cell_type'] == 'markdown':
            m = re.search(r'^#\s+(\S.*?)\s*$', src(c), flags=re.M)
            if m: return m.group(1)
    pytest.fail(f'{nb.relative_to(ROOT)}: no markdown cell with a `# Title` line (nbdev takes the page title from it)')

def directives(cell) -> dict:
    "A code cell's `#| key value` lines: {'gpu': '', 'eval:': 'false', ...}."
    out = {}
    for l in src(cell).splitlines():
        if not l.startswith('#|'): break
        k, _, v = l[2:].strip().partition(' ')
        out[k] = v.strip()
    return out

def shown_outputs(nb:Path) -> list:
    """(cell's first code line, output text, is_gpu) for each recorded text output the page must show:
    stdout streams and plain-text results, of cells that neither nbdev nor Quarto hides."""
    out = []
    for c in cells(nb):
        if c['cell_type'] != 'code' or not c.get('outputs'): continue
        d = directives(c)
        if {'hide', 'export', 'exporti', 'exports'} & d.keys() or d.get('output:') in ('false', 'asis') or d.get('include:') == 'false': continue
        if 'show_doc(' in src(c) or 'nbdev_export' in src(c): continue
        first = next((l for l in src(c).splitlines() if l.strip() and not l.startswith('#|')), '')
        for o in c['outputs']:
            data = o.get('data', {})
            if o['output_type'] == 'stream' and o.get('name') == 'stdout': text = o['text']
            elif o['output_type'] in ('execute_result', 'display_data') and 'text/plain' in data and not set(data) - {'text/plain'}: text = data['text/plain']
            else: continue
            line = next((l.strip() for l in (''.join(text) if isinstance(text, list) else text).splitlines() if l.strip()), '')
            if line: out.append((first, ' '.join(line.split())[:80], 'gpu' in d))
    return out

def pngs_in(nb:Path) -> int:
    "How many PNG outputs the notebook has recorded in cells the page shows."
    return sum('image/png' in o.get('data', {}) for c in cells(nb) if c['cell_type'] == 'code' and not {'hide'} & directives(c).keys()
               and directives(c).get('output:') != 'false' for o in c.get('outputs', []))

def module_of(nb:Path) -> str|None:
    for c in cells(nb):
        m = re.search(r'^#\|\s*default_exp\s+(\S+)', src(c), flags=re.M) if c['cell_type'] == 'code' else None
        if m: return m.group(1)

def api_names(module:str) -> list:
    "Exported functions and classes of a module (its `__all__`, read from the generated file, not imported)."
    f = LIB/(module.replace('.', '/') + '.py')
    if not f.exists(): return []
    tree = ast.parse(f.read_text(encoding='utf-8'))
    defs = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    alls = [n.value for n in tree.body if isinstance(n, ast.Assign) and any(getattr(t, 'id', '') == '__all__' for t in n.targets)]
    names = ast.literal_eval(alls[0]) if alls else []
    return [n for n in names if n in defs]

# ---------------------------------------------------------------- the page, as the browser left it

class Node:
    def __init__(self, tag, attrs, parent=None): self.tag, self.attrs, self.parent, self.kids = tag, dict(attrs), parent, []
    @property
    def cls(self): return (self.attrs.get('class') or '').split()
    def text(self): return ''.join(k if isinstance(k, str) else k.text() for k in self.kids)
    def all(self, tag=None, cls=None, id=None):
        for k in self.kids:
            if isinstance(k, str): continue
            if (tag is None or k.tag == tag) and (cls is None or cls in k.cls) and (id is None or k.attrs.get('id') == id): yield k
            yield from k.all(tag, cls, id)
    def first(self, *a, **kw): return next(self.all(*a, **kw), None)

class DOM(HTMLParser):
    "A small tree of the dumped DOM: enough to find headings, cells, images and links."
    VOID = {'area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'source', 'track', 'wbr'}
    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.root = self.cur = Node('#root', {})
        self.feed(text); self.close()
    def handle_starttag(self, tag, attrs):
        n = Node(tag, attrs, self.cur); self.cur.kids.append(n)
        if tag not in self.VOID: self.cur = n
    def handle_startendtag(self, tag, attrs): self.cur.kids.append(Node(tag, attrs, self.cur))
    def handle_endtag(self, tag):
        n = self.cur
        while n is not self.root and n.tag != tag: n = n.parent
        if n is not self.root: self.cur = n.parent
    def handle_data(self, data): self.cur.kids.append(data)

def squash(s:str) -> str: return ' '.join(s.split())

# ---------------------------------------------------------------- build, serve, browse

def built_from() -> list:
    "Everything the site is made from: if any is newer than _docs/, the site is rebuilt."
    fs = [ROOT/'_quarto.yml', ROOT/'settings.ini', ROOT/'tools'/'build_docs.py', *notebooks(), *LIB.glob('*.py')]
    fs += [p for p in NBS.iterdir() if p.is_file() and p.suffix in ('.css', '.yml', '.scss') and p.name not in ('nbdev.yml', 'sidebar.yml')]
    return [f for f in fs if f.exists()]

def build(*args):
    "Run tools/build_docs.py (nbdev processing + smalldocs) on this checkout."
    if importlib.util.find_spec('smalldocs') is None:
        if sys.version_info < (3, 11): pytest.skip('smalldocs (the pure-Python docs build) needs Python >= 3.11')
        pytest.fail('smalldocs is not installed: pip install smalldocs==0.5.4 (a dev requirement: pip install -e ".[dev]")')
    env = {**os.environ, 'PYTHONPATH': os.pathsep.join(p for p in (str(ROOT), os.environ.get('PYTHONPATH')) if p)}
    t = time.time()
    r = subprocess.run([sys.executable, str(ROOT/'tools'/'build_docs.py'), *map(str, args)], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=1200)
    print(r.stdout, r.stderr, f'built in {time.time() - t:.0f}s', sep='\n')
    assert r.returncode == 0, f'tools/build_docs.py failed:\n{r.stdout[-3000:]}\n{r.stderr[-5000:]}'

BUILT = {}  # what this session built: the README it wrote

@pytest.fixture(scope='module')
def docs(tmp_path_factory):
    "_docs/ if it is newer than its sources, else a fresh build there (its README goes to a temporary folder)."
    index = DOCS/'index.html'
    newest = max(f.stat().st_mtime for f in built_from())
    if index.exists() and index.stat().st_mtime > newest and all((DOCS/page_of(nb)).exists() for nb in notebooks()):
        return DOCS
    BUILT['readme'] = tmp_path_factory.mktemp('readme')/'README.md'
    build('--readme', BUILT['readme'])
    return DOCS

@pytest.fixture(scope='module')
def server(docs):
    "The built site on 127.0.0.1, a free port, in a thread; it notes every request answered with an error."
    if CHROMIUM is None: pytest.skip(NO_CHROMIUM)
    errors = []
    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *a): pass
        def log_request(self, code='-', size='-'):
            if isinstance(code, int) and code >= 400 and self.path != '/favicon.ico': errors.append(f'{code} {self.path}')  # the browser asks for it itself
    httpd = ThreadingHTTPServer(('127.0.0.1', 0), partial(Quiet, directory=str(docs)))
    th = threading.Thread(target=httpd.serve_forever, daemon=True); th.start()
    yield f'http://127.0.0.1:{httpd.server_address[1]}/', errors
    httpd.shutdown(); httpd.server_close()

def chromium(url:str, *args, timeout=180) -> subprocess.CompletedProcess:
    "Headless Chromium on `url` with a throwaway profile and no network but the local server."
    with tempfile.TemporaryDirectory(prefix='chromium-') as prof:
        cmd = [CHROMIUM, '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
               '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage',
               f'--user-data-dir={prof}', '--enable-logging=stderr', '--v=0', '--virtual-time-budget=5000', *args, url]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)

@pytest.fixture(scope='module')
def pages(server):
    "Each notebook's page as Chromium leaves it after running its scripts: {notebook: (url, DOM, console errors)}."
    base, _ = server
    out = {}
    for nb in notebooks():
        url = base + page_of(nb)
        r = chromium(url, '--dump-dom')
        assert r.returncode == 0, f'chromium failed on {url}: {r.stderr[-2000:]}'
        console = [l for l in r.stderr.splitlines() if ':CONSOLE' in l and ('Uncaught' in l or 'Failed to load resource' in l) and base in l]
        out[nb] = (url, DOM(r.stdout).root, console)
    return out

# ---------------------------------------------------------------- the checks

def test_every_notebook_has_its_page(pages, server):
    base, errors = server
    assert notebooks(), 'no notebooks in nbs/'
    bad = []
    for nb, (url, dom, console) in pages.items():
        main, h1, title = dom.first('main'), dom.first('h1', cls='title'), dom.first('title')
        if main is None or len(squash(main.text())) < 200: bad.append(f'{url} ({nb.name}): the page is missing or empty'); continue
        if h1 is None or squash(h1.text()) != title_of(nb): bad.append(f'{url}: title {h1 and squash(h1.text())!r}, the notebook says {title_of(nb)!r}')
        if title is None or title_of(nb) not in squash(title.text()): bad.append(f'{url}: <title> lacks the notebook title')
        bad += [f'{url}: browser console: {l}' for l in console]
    if errors: bad.append(f'the server answered with errors (files the pages ask for are missing): {errors}')
    assert not bad, '\n'.join(bad)

def test_sidebar_and_search_list_every_page(pages, server):
    base, _ = server
    want, bad = {page_of(nb) for nb in notebooks()}, []
    for nb, (url, dom, _) in pages.items():
        bar = dom.first(id='quarto-sidebar')
        links = {urljoin(url, a.attrs.get('href', '')).split('#')[0].removeprefix(base) for a in bar.all('a')} if bar else set()
        if not want <= links: bad.append(f'{url}: the sidebar lacks {sorted(want - links)}')
    indexed = {e['href'].split('#')[0] for e in json.loads(urlopen(base + 'search.json', timeout=30).read())}
    if not want <= indexed: bad.append(f'search.json lacks {sorted(want - indexed)}')
    assert not bad, '\n'.join(bad)

def test_experiments_page_lists_every_experiment(pages, server):
    "The Experiments page links every experiment folder's notebook, and each experiment's page is there."
    base, _ = server
    url, dom, _ = pages[NBS/'experiments/index.ipynb']
    links = {urljoin(url, a.attrs.get('href', '')).split('#')[0].removeprefix(base) for a in dom.first('main').all('a')}
    folders = sorted(p.name for p in (ROOT/'experiments').iterdir() if p.is_dir() and not p.name.startswith(('_', '.')))
    assert len(folders) >= 10, folders
    want = {page_of(NBS/'experiments'/q/f'{q}.ipynb') for q in folders}
    assert want <= links, f'the Experiments page ({url}) lacks links to {sorted(want - links)}'
    assert want <= {page_of(nb) for nb in pages}, 'an experiment has no page'

def test_api_reference_has_signatures(pages):
    "Every exported function and class has a show_doc entry: a heading with its name and a code block with its signature."
    checked, bad = {}, []
    for nb, (url, dom, _) in pages.items():
        mod = module_of(nb)
        if not mod: continue
        names, docs = api_names(mod), {}
        for out in dom.all('div', cls='cell-output-markdown'):
            h = next((x for t in ('h2', 'h3', 'h4') for x in out.all(t)), None)
            pre = out.first('pre')
            if h is not None and pre is not None: docs[squash(h.text())] = pre.text()
        missing = [n for n in names if n not in docs]
        nosig = [n for n in names if n in docs and not re.search(rf'\b{re.escape(n)}\s*\(', docs[n])]
        if missing: bad.append(f'{url}: no API reference entry for {missing}')
        if nosig: bad.append(f'{url}: API entries without a signature: {nosig}')
        checked[mod] = len(names) - len(missing)
    assert not bad, '\n'.join(bad)
    assert {'load_records', 'prepare'} <= set(api_names('data')), 'the data module no longer exports load_records and prepare'
    assert checked.get('data'), f'no API reference found on the data page: {checked}'

def test_recorded_outputs_are_shown(pages):
    "Each cell's recorded text output (first line) is on its page, GPU cells' too; so is each recorded plot."
    bad = []
    for nb, (url, dom, _) in pages.items():
        main = dom.first('main')
        if main is None: bad.append(f'{url}: no page'); continue
        text = squash(main.text())
        bad += [f'{url}: recorded output not shown: {"#| gpu cell " if g else "cell "}{c!r}: {l!r}' for c, l, g in shown_outputs(nb) if l not in text]
        imgs = [i for i in main.all('img') if i.attrs.get('src', '').startswith('data:image/png;base64,')]
        if len(imgs) < pngs_in(nb): bad.append(f'{url}: {len(imgs)} PNG image(s) on the page, the notebook has {pngs_in(nb)}')
    assert not bad, '\n'.join(bad)

def test_data_page_has_outputs_and_a_plot(pages):
    nb = NBS/'00_data.ipynb'
    url, dom, _ = pages[nb]
    main = dom.first('main')
    outs = [o for o in main.all('div', cls='cell-output') if 'cell-output-markdown' not in o.cls and squash(o.text())]
    assert outs, f'{url}: no code output (run `python tools/run_nbs.py {nb.relative_to(ROOT)}` to record them)'
    pngs = [base64.b64decode(i.attrs['src'].split(',', 1)[1]) for i in main.all('img') if i.attrs.get('src', '').startswith('data:image/png;base64,')]
    assert pngs, f'{url}: no plot (<img src="data:image/png...">)'
    assert all(p[:8] == b'\x89PNG\r\n\x1a\n' and len(p) > 2000 for p in pngs), f'{url}: an image is not a real PNG plot'

def test_screenshot(server, pages, capsys):
    "Screenshots of the data page and the home page, outside the repo."
    base, _ = server
    shots = {}
    for name, page in (('med_llm_ft_docs.png', 'data.html'), ('med_llm_ft_docs_index.png', 'index.html')):
        f = SHOTS/name
        f.unlink(missing_ok=True)
        r = chromium(base + page, f'--screenshot={f}', '--window-size=1280,1600', '--hide-scrollbars')
        assert r.returncode == 0 and f.exists(), f'no screenshot of {page}: {r.stderr[-2000:]}'
        assert f.stat().st_size > 20_000, f'{f}: {f.stat().st_size} bytes, the page looks blank'
        shots[page] = f
    with capsys.disabled(): print('\n' + '\n'.join(f'screenshot of {p}: {f}' for p, f in shots.items()))


# ---------------------------------------------------------------- no browser needed

def test_nbdev_reads_the_site_config():
    "nbdev 2.4 reads nbs/_quarto.yml (and writes its default there if it is missing): it must be the top-level file."
    link = NBS/'_quarto.yml'
    assert (ROOT/'_quarto.yml').is_file(), '_quarto.yml is missing'
    assert link.is_symlink() and link.resolve() == (ROOT/'_quarto.yml').resolve(), \
        f'{link.relative_to(ROOT)} must be a symlink to ../_quarto.yml: ln -sf ../_quarto.yml {link.relative_to(ROOT)}'

def test_readme_is_generated_from_index(docs, tmp_path):
    "README.md is what nbs/index.ipynb renders to, as committed (like the nbdev_export check for the package)."
    readme = BUILT.get('readme')
    if readme is None:  # _docs/ was fresh: render the README now, beside a throwaway site
        readme = tmp_path/'README.md'
        build('--readme', readme, '--out', tmp_path/'_docs')
    want, have = readme.read_text(encoding='utf-8'), (ROOT/'README.md').read_text(encoding='utf-8')
    assert have == want, 'README.md is not what nbs/index.ipynb gives: run `python tools/build_docs.py` and commit README.md' + \
        (' and index_files/' if (readme.parent/'index_files').exists() else '')
    for f in (readme.parent/'index_files').glob('*'):
        assert (ROOT/'index_files'/f.name).exists() and (ROOT/'index_files'/f.name).read_bytes() == f.read_bytes(), \
            f'index_files/{f.name} is stale: run `python tools/build_docs.py` and commit index_files/'
