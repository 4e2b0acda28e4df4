"""ZeRO-3 for real on CPU: two processes over gloo train the tiny Llama through `med_llm_ft.qlora.train`, save an adapter
that reloads to the live model's outputs, and resume from a DeepSpeed checkpoint to the same adapter as an uninterrupted run.

Run 1 (torchrun, tests/zero3_worker.py): LoRA under ZeRO-3 with CPU optimizer offload, 6 steps, checkpoints every 2;
the worker also computes the live (sharded) model's logits. Run 2 (the deepspeed launcher, `med-llm-ft train --resume`)
starts from run 1's checkpoint-4 and must end with run 1's adapter. DeepSpeed's CPU collective is compiled on a fresh
machine (about a minute on two cores; cached in TORCH_EXTENSIONS_DIR afterwards).
"""
import json, os, shlex, shutil, subprocess, sys, time
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
deepspeed = pytest.importorskip('deepspeed', reason='DeepSpeed is not installed: pip install "med_llm_ft[deepspeed]"')

from med_llm_ft.zero3 import launch_command, launcher_argv, write_zero3, check_adapter, extensions_dir, read_ds_config
from med_llm_ft.models import free_port

LORA = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']
SETTINGS = dict(quant='none', max_len=128, batch_size=2, lr=1e-3, warmup=0, lora_r=4, lora_alpha=8, lora_dropout=0,
                target_modules='all-linear', gradient_checkpointing=False, eval_accuracy=False, logging_steps=1, save_steps=2,
                save_total_limit=5, max_steps=6, report_to='csv')

def run(cmd, timeout=900):
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'TORCH_EXTENSIONS_DIR': str(extensions_dir()), 'TOKENIZERS_PARALLELISM': 'false',
           'PYTHONPATH': os.pathsep.join([str(ROOT), os.environ.get('PYTHONPATH', '')])}
    t0 = time.time()
    r = subprocess.run(launcher_argv(cmd), env=env, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    assert r.returncode == 0, f"{cmd}\n{r.stdout[-2000:]}\n{r.stderr[-4000:]}"
    print(f"{time.time() - t0:.0f} s: {cmd[:120]}...")
    return r

@pytest.fixture(scope='module')
def job(tmp_path_factory):
    import inspect, torch
    from med_llm_ft import qlora
    from med_llm_ft.models import make_tiny_model
    if 'prepare_zero3' not in inspect.getsource(qlora.train) or 'trainer_kwargs' not in inspect.getsource(qlora.sft_args):
        pytest.fail('med_llm_ft.qlora.train must call med_llm_ft.zero3.prepare_zero3 and sft_args must merge zero3.trainer_kwargs '
                    '(without them a CPU job under DeepSpeed runs as two unrelated one-process jobs)')
    d = tmp_path_factory.mktemp('zero3')
    tiny = make_tiny_model(d / 'tiny')
    # precision 'auto' (fp32 on a CPU), optimizer offloaded to CPU. ZeRO-3 leaves parameters smaller than the persistence threshold
    # (10 x hidden size by default) whole on every rank; the tiny model's LoRA matrices all are, so the threshold is 0 here
    # to shard every tensor, the adapter's included, as the LoRA matrices of a real model are.
    ds = write_zero3(d / 'deepspeed_z3.json', zero_optimization={'stage3_param_persistence_threshold': 0})
    kv = [f'{k}={v}' for k, v in {**SETTINGS, 'model': tiny, 'output_dir': d / 'straight'}.items()]
    run(launch_command(ds, 'torchrun', 2, master_port=free_port(), entry=[str(ROOT / 'tests/zero3_worker.py')],
                       train_args=['--set', *kv, '--probe', d / 'probe.pt']))
    shutil.copytree(d / 'straight/checkpoint-4', d / 'resumed/checkpoint-4')
    flags = [a for k, v in {**SETTINGS, 'model': tiny, 'output_dir': d / 'resumed'}.items() for a in (f'--{k}', str(v))]
    r2 = run(launch_command(ds, 'deepspeed', 2, master_port=free_port(), train_args=flags + ['--resume']))
    return {'dir': d, 'tiny': tiny, 'ds': ds, 'probe': torch.load(d / 'probe.pt', weights_only=False), 'resume_out': r2.stdout}

def test_two_processes_under_zero3(job):
    p = job['probe']
    assert (p['world_size'], p['num_processes'], p['deepspeed'], p['zero_stage']) == (2, 2, True, 3)
    cfg = read_ds_config(job['ds'])
    assert cfg['zero_optimization']['offload_optimizer']['device'] == 'cpu' and cfg['fp16']['enabled'] is False
    # each rank wrote its own shard of the optimizer state: the state really was partitioned over two processes
    shards = sorted(x.name for x in (job['dir'] / 'straight/checkpoint-6/global_step6').iterdir())
    assert [s for s in shards if 'optim_states' in s] == [f'zero_pp_rank_{r}_mp_rank_00_optim_states.pt' for r in (0, 1)], shards
    assert {f'rng_state_{r}.pth' for r in (0, 1)} <= {x.name for x in (job['dir'] / 'straight/checkpoint-6').iterdir()}
    state = json.loads((job['dir'] / 'straight/checkpoint-6/trainer_state.json').read_text())
    assert state['global_step'] == 6 and abs(state['epoch'] - 6 * 2 * 2 / 36) < 1e-6, state['epoch']  # 2 ranks x batch 2 per step, 36 examples
    losses = [h['loss'] for h in state['log_history'] if 'loss' in h]
    assert len(losses) == 6 and losses[-1] < losses[0], losses

def test_adapter_is_complete_and_reloads_to_the_live_outputs(job):
    import torch
    from transformers import AutoModelForCausalLM
    from peft import PeftModel
    ad = job['dir'] / 'straight/adapter'
    info = check_adapter(ad, LORA)
    assert (info['pairs'], info['r']) == (2 * 7, 4), info  # 2 layers x 7 projections, rank 4, all with full shapes
    base = AutoModelForCausalLM.from_pretrained(job['tiny'], dtype=torch.float32).eval()
    ids, live = job['probe']['input_ids'], job['probe']['logits']
    with torch.no_grad(): base_logits = base(input_ids=ids).logits
    model = PeftModel.from_pretrained(base, str(ad)).eval()
    with torch.no_grad(): got = model(input_ids=ids).logits
    assert (live - base_logits).abs().max() > 1e-3, 'training changed nothing: the comparison would prove nothing'
    torch.testing.assert_close(got, live, rtol=1e-5, atol=1e-5)

def test_saving_without_gathering_is_caught(job):
    from med_llm_ft.data import DataError
    with pytest.raises(DataError, match='tensors are empty'): check_adapter(job['dir'] / 'naive_adapter')

def test_resume_from_a_deepspeed_checkpoint(job):
    import torch
    from safetensors.torch import load_file
    m = json.loads((job['dir'] / 'resumed/metrics.json').read_text())
    assert Path(m['resumed_from']).name == 'checkpoint-4' and m['steps'] == 6, m
    a, b = (load_file(job['dir'] / f'{k}/adapter/adapter_model.safetensors') for k in ('straight', 'resumed'))
    assert sorted(a) == sorted(b)
    for k in a: torch.testing.assert_close(b[k], a[k], rtol=1e-5, atol=1e-6, msg=lambda s: f'{k}: {s}')
    check_adapter(job['dir'] / 'resumed/adapter', LORA)

def test_launch_cli_prints_the_command(cli, tmp_path):
    r = cli('launch', '--config', tmp_path / 'z3.json', '--num_gpus', '2', '--', '--recipe', 'fast')
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == launch_command(tmp_path / 'z3.json', 'deepspeed', 2, train_args=['--recipe', 'fast'])
    assert read_ds_config(tmp_path / 'z3.json')['zero_optimization']['stage'] == 3

def test_impossible_combination_is_a_clear_error(cli, tmp_path):
    ds = write_zero3(tmp_path / 'z3.json')
    r = cli('train', '--deepspeed', ds, '--quant', '8bit', '--max_steps', '1', '--output_dir', tmp_path / 'out')
    assert r.returncode == 1 and "quant='8bit' cannot run under ZeRO-3" in r.stderr and 'Traceback' not in r.stderr, r.stderr[-2000:]

def test_distillation_under_zero3(job, tmp_path):
    "The teacher's term reads the hidden states and the LM head while ZeRO-3 holds them partitioned: two processes distil and save a whole adapter."
    import math, random
    from med_llm_ft.data import PUBMEDQA_LABELS, load_records, sample_path
    recs, rng = load_records(sample_path()), random.Random(0)
    (tmp_path / 'teacher/fold0').mkdir(parents=True)
    (tmp_path / 'teacher/fold0/scores.json').write_text(json.dumps({'labels': list(PUBMEDQA_LABELS), 'dev_ids': [r.id for r in recs],
                                                                    'dev_scores': [[rng.gauss(0, 1) for _ in PUBMEDQA_LABELS] for _ in recs]}))
    s = {**SETTINGS, 'model': job['tiny'], 'output_dir': tmp_path / 'out', 'max_steps': 2, 'save_steps': 0,
         'distill_from': tmp_path / 'teacher', 'distill_alpha': 0.5, 'decision_weight': 10.0}
    run(launch_command(job['ds'], 'deepspeed', 2, master_port=free_port(), train_args=[a for k, v in s.items() for a in (f'--{k}', str(v))]))
    m = json.loads((tmp_path / 'out/metrics.json').read_text())
    assert m['steps'] == 2 and math.isfinite(m['train_loss']), m
    check_adapter(tmp_path / 'out/adapter', LORA)
