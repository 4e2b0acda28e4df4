"`bench/fp8_linear.py` (the float8 linears behind `bench_label_scoring.py --fp8`) on CPU: close to the float model, only the decoder layers' linears."
import sys
import torch
from conftest import ROOT
sys.path.insert(0, str(ROOT / 'bench'))
from fp8_linear import FP8Linear, apply_fp8, quant_rows, fp8_blocker


def test_fp8_linear_close():
    torch.manual_seed(0)
    lin = torch.nn.Linear(64, 48)
    f8, x = FP8Linear(lin), torch.randn(3, 5, 64)
    y, y8 = lin(x), f8(x)
    assert y8.shape == y.shape and y8.dtype == torch.float32 and f8.weight.dtype == torch.float8_e4m3fn
    assert (y8 - y).abs().max() < 0.05 * y.abs().max()  # e4m3 keeps about 2 significant digits
    q, s = quant_rows(x.reshape(-1, 64))
    assert torch.allclose((q.float() * s).abs().amax(1), x.reshape(-1, 64).abs().amax(1), rtol=1e-5)  # each row's largest value is exact


def test_apply_fp8_model():
    from transformers import AutoModelForCausalLM, LlamaConfig
    from peft import LoraConfig, get_peft_model
    assert fp8_blocker('cpu') is None
    cfg = LlamaConfig(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, vocab_size=256)
    torch.manual_seed(0)
    m = AutoModelForCausalLM.from_config(cfg, dtype=torch.float32).eval()
    ids = torch.randint(0, 256, (2, 12))
    with torch.no_grad(): ref = m(ids).logits
    apply_fp8(m)
    with torch.no_grad(): got = m(ids).logits
    assert {type(x).__name__ for n, x in m.named_modules() if n.endswith(('q_proj', 'o_proj', 'down_proj'))} == {'FP8Linear'}
    assert type(m.lm_head) is torch.nn.Linear  # the LM head as it was
    assert torch.nn.functional.cosine_similarity(got.flatten(), ref.flatten(), 0) > 0.99
    pm = apply_fp8(get_peft_model(AutoModelForCausalLM.from_config(cfg), LoraConfig(r=16, target_modules=['q_proj'])))
    q = pm.base_model.model.model.layers[0].self_attn.q_proj
    assert type(q.base_layer).__name__ == 'FP8Linear' and type(q.lora_A['default']) is torch.nn.Linear  # under an adapter: its base layer
    odd = torch.nn.Sequential(); odd.layers = torch.nn.ModuleList([torch.nn.Linear(60, 32)])
    assert type(apply_fp8(odd).layers[0]) is torch.nn.Linear  # 60 is not a multiple of 16: left as it was
