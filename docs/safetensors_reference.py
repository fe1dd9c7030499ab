"""Moves models between streamgpt and the PyTorch reference, gpt_reference.py, through safetensors
files, without modifying the reference: its definitions up to the training loop are executed as
they are (as reference_driver.py does), with the same key=value arguments. streamgpt's
SafetensorsPytorchTest runs it; docs/operations.md (safetensors) explains the files.

usage: python3 safetensors_reference.py gpt_reference.py DATA.txt COMMAND ARGS... [key=value ...]
  loss IN.safetensors BATCH.json          load IN into the reference's GPT (load_state_dict, strict)
                                          and print {"loss", "logits"} of the batch, in eval mode
  resave IN.safetensors OUT.safetensors   load IN, write the model's own state_dict() to OUT
  train OUT.safetensors STEPS BATCH.json  the reference's GPT from its seed, STEPS AdamW steps on its
                                          own random batches, state_dict() to OUT, then as `loss`
BATCH.json: {"inputs": [[token ids]], "targets": [[token ids]]}, ids of sorted(set(DATA)).

The safetensors package is used when installed; otherwise the format (8-byte little-endian header
length, JSON header, raw little-endian float32 tensors) is read and written here with json/struct.
"""
import json
import struct
import sys

ref, data, command = sys.argv[1:4]
n_args = {"loss": 2, "resave": 2, "train": 3}[command]
args = sys.argv[4:4 + n_args]
source = open(ref, encoding="utf-8").read()
definitions = source[: source.index("\nmodel = GPT()")]
sys.argv = [ref, data] + sys.argv[4 + n_args:]
env = {"__name__": "gpt_reference"}
exec(compile(definitions, ref, "exec"), env)
torch, GPT, get_batch, cfg = env["torch"], env["GPT"], env["get_batch"], env["cfg"]

try:
    from safetensors.torch import load_file, save_file  # the real library, when installed
except ImportError:
    def save_file(tensors, path, metadata=None):
        header, blobs, offset = {}, [], 0
        if metadata:
            header["__metadata__"] = metadata
        for name, t in tensors.items():
            blob = t.detach().to(torch.float32).contiguous().numpy().astype("<f4").tobytes()
            header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(blob)]}
            blobs.append(blob)
            offset += len(blob)
        h = json.dumps(header, separators=(",", ":")).encode("utf-8")
        h += b" " * (-len(h) % 8)
        with open(path, "wb") as f:
            f.write(struct.pack("<Q", len(h)))
            f.write(h)
            for blob in blobs:
                f.write(blob)

    def load_file(path):
        raw = open(path, "rb").read()
        (n,) = struct.unpack("<Q", raw[:8])
        header = json.loads(raw[8:8 + n])
        header.pop("__metadata__", None)
        out = {}
        for name, info in header.items():
            if info["dtype"] != "F32":
                raise ValueError(f"{name} is {info['dtype']}, only F32 is read here")
            begin, end = info["data_offsets"]
            buf = bytearray(raw[8 + n + begin:8 + n + end])
            out[name] = torch.frombuffer(buf, dtype=torch.float32).reshape(info["shape"]).clone()
        return out


def evaluate(model, batch_file):
    batch = json.load(open(batch_file))
    x = torch.tensor(batch["inputs"], dtype=torch.long)
    y = torch.tensor(batch["targets"], dtype=torch.long)
    model.eval()
    with torch.no_grad():
        logits, loss = model(x, y)
    return {"loss": loss.item(), "logits": logits.reshape(-1).tolist()}


model = GPT()
if command == "train":
    out, steps, batch_file = args[0], int(args[1]), args[2]
    opt = torch.optim.AdamW(model.parameters(), lr=cfg["learning_rate"])
    for _ in range(steps):
        xb, yb = get_batch("train")
        _, loss = model(xb, yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    save_file(model.state_dict(), out)
    print(json.dumps(evaluate(model, batch_file)))
else:
    model.load_state_dict(load_file(args[0]))  # strict: every name and shape must match
    if command == "resave":
        save_file(model.state_dict(), args[1])
    else:
        print(json.dumps(evaluate(model, args[1])))
