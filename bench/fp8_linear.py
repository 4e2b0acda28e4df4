"""Float8 linears for `bench_label_scoring.py --fp8` (an experiment's lever, not the library's: on one H200 it made scoring 1.04x
faster at the Qwen2.5-1.5B shape and changed a fifth of the real SmolLM2's choices; experiments/label-scoring-speed).

`apply_fp8(model)` makes each decoder layer's `Linear` float8 (e4m3) in place: weights with one scale per output row, each input row
quantized as it comes (one scale per token; on a GPU by one compiled kernel) before `torch._scaled_mm`. The LM head, the embeddings,
the norms and an adapter's own small matrices stay as they were; a linear whose sizes are not multiples of 16 too. Needs a GPU of
compute capability 8.9 or newer, or the CPU (slow; for tests)."""
import functools
import torch

FP8_MAX = 448.0  # the largest float8 e4m3 value


def fp8_blocker(device=None):
    "Why FP8 matrix products cannot run on `device` (default: the GPU if any, else the CPU), or None where they can."
    if not hasattr(torch, 'float8_e4m3fn') or not hasattr(torch, '_scaled_mm'): return f"torch {torch.__version__} has no float8 matrix products"
    dev = torch.device(device or ('cuda' if torch.cuda.is_available() else 'cpu'))
    if dev.type == 'cuda' and torch.cuda.get_device_capability(dev) < (8, 9):
        return f"{torch.cuda.get_device_name(dev)} has no FP8 units (compute capability {'.'.join(map(str, torch.cuda.get_device_capability(dev)))}, 8.9 needed)"
    return None


def quant_rows(x):
    "(float8 e4m3 rows of the 2-d `x`, their float32 scales (rows, 1)): x is about q * s, each row's largest value at 448."
    s = x.abs().amax(-1, keepdim=True).float().clamp(min=1e-12) / FP8_MAX
    return (x.float() / s).clamp(-FP8_MAX, FP8_MAX).to(torch.float8_e4m3fn), s


@functools.lru_cache(maxsize=None)
def _gpu_quant_rows():
    "`quant_rows` compiled (an eager one reads and writes the activations five times)."
    from torch.utils._triton import has_triton
    return torch.compile(quant_rows, dynamic=True) if has_triton() else quant_rows


class FP8Linear(torch.nn.Module):
    "A frozen `Linear` in float8 for inference: e4m3 weights, one scale per output row; each input row quantized as it comes."
    def __init__(self, lin):
        super().__init__()
        w = lin.weight.detach().float()
        s = w.abs().amax(1, keepdim=True).clamp(min=1e-12) / FP8_MAX
        self.in_features, self.out_features = lin.in_features, lin.out_features
        self.register_buffer('weight', (w / s).to(torch.float8_e4m3fn))
        self.register_buffer('weight_scale', s.t().contiguous())
        self.register_buffer('bias', None if lin.bias is None else lin.bias.detach().clone())

    def forward(self, x):
        q, s = (_gpu_quant_rows() if x.is_cuda else quant_rows)(x.reshape(-1, self.in_features))
        y = torch._scaled_mm(q, self.weight.t(), scale_a=s, scale_b=self.weight_scale, out_dtype=x.dtype)
        if self.bias is not None: y = y + self.bias
        return y.reshape(*x.shape[:-1], self.out_features)

    def extra_repr(self): return f'in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}, float8_e4m3fn'


def apply_fp8(model):
    "`model` with every `Linear` of its decoder layers an `FP8Linear`, in place; the LM head and embeddings as they were."
    if why := fp8_blocker(next(model.parameters()).device): raise RuntimeError(f"fp8: {why}")
    todo = [(n, m) for n, m in model.named_modules() if type(m) is torch.nn.Linear and '.layers.' in f'.{n}' and 'lora_' not in n
            and m.in_features % 16 == 0 and m.out_features % 16 == 0]  # (an adapter's own small matrices stay as they are)
    for n, m in todo:
        parent, _, child = n.rpartition('.')
        setattr(model.get_submodule(parent), child, FP8Linear(m))
    return model
