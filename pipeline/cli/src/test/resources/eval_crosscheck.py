"""The loss of a streamgpt model file on given batches, in PyTorch, for EvalCommandTest.

usage: python3 eval_crosscheck.py MODEL.bin BATCHES.json   (prints {"loss": mean over batches})
Reads the model file format of io.streamgpt.model.ModelFile (magic, version, JSON header, float32
little-endian parameters in the header's tensor order, CRC32) and runs the reference's forward pass
(gpt_reference.py's GPT: per-head q/k/v, scale head_size^-0.5, causal softmax, ReLU MLP, LayerNorm
eps 1e-5) written functionally on those tensors. c_attn's 3C rows are q, k, v, each head_size rows
per head, as in nanoGPT.
"""
import json
import struct
import sys
import zlib

import torch
from torch.nn import functional as F

torch.set_num_threads(1)
raw = open(sys.argv[1], "rb").read()
assert raw[:4] == b"SGPT", "not a streamgpt model file"
assert zlib.crc32(raw[:-8]) == struct.unpack(">q", raw[-8:])[0], "checksum mismatch"
version, header_len = struct.unpack(">ii", raw[4:12])
header = json.loads(raw[12:12 + header_len].decode("utf-8"))
flat = torch.frombuffer(bytearray(raw[12 + header_len:-8]), dtype=torch.float32)
P, offset = {}, 0
for t in header["tensors"]:
    n = 1
    for d in t["shape"]:
        n *= d
    P[t["name"]] = flat[offset:offset + n].view(*t["shape"])
    offset += n
assert offset == flat.numel() == header["parameter_count"]
cfg = header["config"]
C, H, L, V = cfg["n_embd"], cfg["n_head"], cfg["n_layer"], cfg["vocab_size"]
hs = C // H


def loss(idx, targets):
    B, T = idx.shape
    x = P["wte"][idx] + P["wpe"][:T]
    mask = torch.tril(torch.ones(T, T)) == 0
    for l in range(L):
        p = "h.%d." % l
        h = F.layer_norm(x, (C,), P[p + "ln_1.weight"], P[p + "ln_1.bias"], 1e-5)
        q, k, v = F.linear(h, P[p + "attn.c_attn.weight"]).split(C, dim=2)
        q, k, v = (a.view(B, T, H, hs).transpose(1, 2) for a in (q, k, v))
        att = (q @ k.transpose(-2, -1)) * hs ** -0.5
        att = F.softmax(att.masked_fill(mask, float("-inf")), dim=-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, C)
        x = x + F.linear(y, P[p + "attn.c_proj.weight"], P[p + "attn.c_proj.bias"])
        h = F.layer_norm(x, (C,), P[p + "ln_2.weight"], P[p + "ln_2.bias"], 1e-5)
        h = F.relu(F.linear(h, P[p + "mlp.c_fc.weight"], P[p + "mlp.c_fc.bias"]))
        x = x + F.linear(h, P[p + "mlp.c_proj.weight"], P[p + "mlp.c_proj.bias"])
    x = F.layer_norm(x, (C,), P["ln_f.weight"], P["ln_f.bias"], 1e-5)
    logits = F.linear(x, P["lm_head.weight"], P["lm_head.bias"])
    return F.cross_entropy(logits.view(-1, V), targets.view(-1)).item()


batches = json.load(open(sys.argv[2]))
with torch.no_grad():
    losses = [loss(torch.tensor(b["inputs"]), torch.tensor(b["targets"])) for b in batches]
print(json.dumps({"loss": sum(losses) / len(losses), "batches": len(losses)}))
