"""One rank of a ZeRO-3 job for tests/test_zero3.py: `med_llm_ft.qlora.train` on a config, then the live model's logits.

Run under a launcher (torchrun, deepspeed, accelerate launch):  zero3_worker.py --deepspeed DS.json --set key=value ... --probe OUT.pt
Every rank trains and runs the probe forward pass (ZeRO-3 gathers each layer's weights across ranks for it); rank 0 saves
the logits and what the trainer saw of the job (world size, steps).
"""
import json, os, sys
import torch
from med_llm_ft.config import load_config
from med_llm_ft.qlora import train

def main(argv):
    probe = argv[argv.index('--probe') + 1]
    ov = dict(s.split('=', 1) for s in argv[argv.index('--set') + 1:argv.index('--probe')] if '=' in s) if '--set' in argv else {}
    ov['deepspeed'] = argv[argv.index('--deepspeed') + 1]
    res = train(load_config(None, ov))
    tr = res.pop('trainer')
    # ZeRO-3 keeps gathered weights around after a forward pass (up to stage3_max_live_parameters); release them, as after
    # a training step, and save the PEFT model directly, without gathering: the adapter a plain save_pretrained writes.
    tr.model_wrapped.empty_partition_cache()
    if tr.is_world_process_zero(): tr.model.save_pretrained(os.path.join(os.path.dirname(probe), 'naive_adapter'))
    ids = torch.tensor([list(range(3, 40))])
    tr.model.eval()
    with torch.no_grad(): logits = tr.model(input_ids=ids).logits.float()
    if tr.is_world_process_zero():
        torch.save({'input_ids': ids, 'logits': logits, 'world_size': tr.args.world_size,
                    'num_processes': tr.accelerator.num_processes, 'deepspeed': tr.is_deepspeed_enabled,
                    'zero_stage': tr.accelerator.state.deepspeed_plugin.zero_stage, 'metrics': res}, probe)

if __name__ == '__main__': main(sys.argv[1:])
