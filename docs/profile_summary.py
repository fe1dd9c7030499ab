"""Sums a libtorch/PyTorch autograd-profiler Chrome trace by op: self (exclusive) time per op name,
optionally per input shape. Works on traces from streamgpt's StepProfile (DJL's
JniUtils.stopProfile) and from profile_reference.py (torch.autograd.profiler export_chrome_trace).

usage: python3 profile_summary.py TRACE.json [--shapes] [--top N] [--groups]
  --groups: totals per kind of work (matmul, dropout RNG, elementwise, softmax, copies, ...)
"""
import json
import sys
from collections import defaultdict


def load(path):
    text = open(path).read().strip()
    if text.endswith(","):
        text = text[:-1]
    if not text.endswith("]"):
        text += "]"
    data = json.loads(text)
    if isinstance(data, dict):
        data = data.get("traceEvents", [])
    return [e for e in data if e.get("ph") == "X" and "dur" in e]


def self_times(events, by_shape):
    total = defaultdict(float)
    count = defaultdict(int)
    by_tid = defaultdict(list)
    for e in events:
        by_tid[e.get("tid")].append(e)
    for evs in by_tid.values():
        evs.sort(key=lambda e: (float(e["ts"]), -float(e["dur"])))
        stack = []  # [end, key, child_time]
        def pop():
            end, key, child, dur = stack.pop()
            total[key] += dur - child
            count[key] += 1
        for e in evs:
            ts, dur = float(e["ts"]), float(e["dur"])
            while stack and stack[-1][0] <= ts + 1e-6:
                pop()
            if stack:
                stack[-1][2] += dur
            key = e["name"]
            if by_shape:
                key += " " + json.dumps(e.get("shape", e.get("args", {}).get("Input Dims", "")))
            stack.append([ts + dur, key, 0.0, dur])
        while stack:
            pop()
    return total, count


GROUPS = [
    ("matmul (mm, addmm, bmm)", ("aten::mm", "aten::addmm", "aten::bmm")),
    ("dropout RNG (bernoulli_, uniform_)", ("aten::bernoulli_", "aten::uniform_")),
    ("elementwise mul/div/add/compare", ("aten::mul", "aten::mul_", "aten::div", "aten::div_",
                                         "aten::add", "aten::add_", "aten::ge", "aten::masked_fill_",
                                         "aten::where", "aten::sub", "aten::neg")),
    ("softmax fwd+bwd", ("aten::_softmax", "aten::_softmax_backward_data", "aten::_log_softmax",
                         "aten::_log_softmax_backward_data")),
    ("copies (copy_, cat, clone)", ("aten::copy_", "aten::cat", "aten::clone")),
    ("relu fwd+bwd", ("aten::clamp_min", "aten::threshold_backward", "aten::relu")),
    ("layer norm fwd+bwd", ("aten::native_layer_norm", "aten::native_layer_norm_backward")),
    ("sum (bias grads)", ("aten::sum",)),
]


def main():
    args = sys.argv[1:]
    path = args[0]
    by_shape = "--shapes" in args
    top = int(args[args.index("--top") + 1]) if "--top" in args else 40
    events = load(path)
    total, count = self_times(events, by_shape)
    grand = sum(total.values())
    print(f"{path}: {len(events)} events, self time total {grand / 1000:.1f} ms")
    if "--groups" in args:
        rest = grand
        for label, names in GROUPS:
            us = sum(v for k, v in total.items() if k.split(" [")[0] in names)
            rest -= us
            print(f"{us / 1000:10.1f} ms {100 * us / grand:5.1f}%  {label}")
        print(f"{rest / 1000:10.1f} ms {100 * rest / grand:5.1f}%  everything else (views, autograd, optimizer)")
        return
    for key, us in sorted(total.items(), key=lambda kv: -kv[1])[:top]:
        print(f"{us / 1000:10.1f} ms {100 * us / grand:5.1f}% {count[key]:6d}x  {key}")


main()
