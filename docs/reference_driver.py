"""Times (or profiles) the PyTorch reference, gpt_reference.py, step by step, without modifying it:
its definitions up to the training loop are executed as they are, with the same key=value
arguments, then WARMUP unmeasured and STEPS measured training steps (get_batch, forward with loss,
zero_grad, backward, AdamW step: the reference's loop body), then the reference's own generate()
for GEN tokens. Prints one JSON line: per-step wall and CPU milliseconds, tokens/s of generation.
streamgpt's `bench model --pytorch-reference` runs it; docs/model-performance.md explains it.

usage: python3 reference_driver.py gpt_reference.py DATA.txt WARMUP STEPS GEN [PROFILE_PREFIX|-]
           [key=value ...]
  PROFILE_PREFIX: write each measured step as a Chrome trace PREFIX-i.json
  (torch.autograd.profiler; sum it with profile_summary.py). '-' profiles nothing.
"""
import json
import sys
import time

ref, data, warmup, steps, gen, profile = sys.argv[1:7]
warmup, steps, gen = int(warmup), int(steps), int(gen)
source = open(ref, encoding="utf-8").read()
definitions = source[: source.index("\nmodel = GPT()")]
sys.argv = [ref, data] + sys.argv[7:]
env = {"__name__": "gpt_reference"}
exec(compile(definitions, ref, "exec"), env)
torch, GPT, get_batch, cfg = env["torch"], env["GPT"], env["get_batch"], env["cfg"]

model = GPT()
opt = torch.optim.AdamW(model.parameters(), lr=cfg["learning_rate"])


def step():
    xb, yb = get_batch("train")
    _, loss = model(xb, yb)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss.item()


wall, cpu, losses = [], [], []
for i in range(warmup + steps):
    profiled = i >= warmup and profile != "-"
    t0, c0 = time.perf_counter(), time.process_time()
    if profiled:
        with torch.autograd.profiler.profile(record_shapes=True) as prof:
            loss = step()
    else:
        loss = step()
    ms, cpu_ms = 1000 * (time.perf_counter() - t0), 1000 * (time.process_time() - c0)
    if profiled:
        prof.export_chrome_trace(f"{profile}-{i - warmup}.json")
    if i >= warmup:
        wall.append(ms)
        cpu.append(cpu_ms)
        losses.append(loss)
    print(json.dumps({"step": i, "ms": round(ms, 1), "cpu_ms": round(cpu_ms, 1),
                      "loss": round(loss, 4)}), file=sys.stderr, flush=True)

gen_tokens_per_s = None
if gen > 0:
    model.eval()
    with torch.no_grad():
        model.generate(torch.zeros((1, 1), dtype=torch.long), 20)  # warm-up
        t0 = time.perf_counter()
        model.generate(torch.zeros((1, 1), dtype=torch.long), gen)
        gen_tokens_per_s = gen / (time.perf_counter() - t0)


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return None if n == 0 else (xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2)


print(json.dumps({"summary": True, "torch": torch.__version__, "threads": torch.get_num_threads(),
                  "params": sum(p.numel() for p in model.parameters()),
                  "ms_per_step": median(wall), "cpu_ms_per_step": median(cpu),
                  "ms_per_step_all": [round(x, 1) for x in wall],
                  "cpu_ms_per_step_all": [round(x, 1) for x in cpu],
                  "losses": [round(x, 4) for x in losses],
                  "gen_tokens": gen, "gen_tokens_per_s": gen_tokens_per_s}), flush=True)
