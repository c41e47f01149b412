#!/usr/bin/env python3
"""PyTorch reference for Glassbox's SpatialNetwork: parity and throughput side by side.

Builds the same network in PyTorch from a safetensors file written by our engine, checks that logits
and input gradients match ours (max relative error), and times forward, forward + input gradient and a
training step at batch 1, 8, 32 and 1 and 2 threads for both engines.

    .venv/bin/python bench/torch_reference.py --ours "glassbox bench nn" [--json] [--seconds 1] [--rounds 5]

Throughput is measured in rounds: each round times every case of both engines at one thread count, the
engine that goes first alternating between rounds, so both see the same stretch of a shared machine. A
cell's ratio is the median over rounds of that round's ours / PyTorch; its images/s are the medians.

`--ours` is a command that understands `export-weights OUT`, `parity W IN OUT` and `bench --json`
(`NetworkBenchCommand` in Sources/Detector/Network). Outside CI: torch is a large install.
"""
import argparse, json, os, shlex, struct, subprocess, sys, tempfile, time

import numpy as np
import torch
import torch.nn as nn


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    base = 8 + n
    out = {}
    for name, info in header.items():
        assert info["dtype"] == "F32", info["dtype"]
        b, e = info["data_offsets"]
        out[name] = np.frombuffer(data[base + b:base + e], dtype="<f4").reshape(info["shape"]).copy()
    return out, meta


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name], dtype="<f4")
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}
        blobs.append(a.tobytes()); off += a.nbytes
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h))); f.write(h)
        for b in blobs: f.write(b)


class ConvBNAct(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.act = nn.SiLU()

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class SpatialNetwork(nn.Module):
    """Mirror of Sources/Detector/Network/SpatialNetwork.swift (same parameter names)."""
    def __init__(self, cfg):
        super().__init__()
        self.register_buffer("mean", torch.tensor(cfg["inputMean"]).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(cfg["inputStd"]).view(1, 3, 1, 1), persistent=False)
        self.stem = ConvBNAct(3, cfg["stemChannels"], 2)
        stages, cin = [], cfg["stemChannels"]
        for c in cfg["stageChannels"]:
            stages.append(nn.Sequential(*[ConvBNAct(cin if b == 0 else c, c, 2 if b == 0 else 1)
                                          for b in range(cfg["blocksPerStage"])]))
            cin = c
        self.stages = nn.ModuleList(stages)
        self.dropout = nn.Dropout(cfg["dropout"])
        self.head = nn.Linear(cin, 1)

    def embedding(self, x):
        x = self.stem((x - self.mean) / self.std)
        for s in self.stages: x = s(x)
        return x.mean(dim=(2, 3))

    def forward(self, x):
        return self.head(self.dropout(self.embedding(x)))


def timeit(fn, seconds):
    fn()
    times, start = [], time.perf_counter()
    while len(times) < 3 or (time.perf_counter() - start < seconds and len(times) < 1000):
        t0 = time.perf_counter(); fn(); times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2]


def torch_bench(cfg, state, batches, threads, seconds):
    out = []
    for t in threads:
        torch.set_num_threads(t)
        for b in batches:
            s = cfg["inputSize"]
            net = SpatialNetwork(cfg); net.load_state_dict(state, strict=False)
            x = torch.rand(b, 3, s, s)
            y = torch.tensor([float(i % 2) for i in range(b)]).view(b, 1)
            net.eval()
            def fwd():
                with torch.no_grad(): net(x)
            def igrad():
                for p in net.parameters(): p.requires_grad_(False)
                xi = x.clone().requires_grad_(True)
                net(xi).sum().backward()
                for p in net.parameters(): p.requires_grad_(True)
            opt = torch.optim.AdamW(net.parameters(), lr=1e-4)
            loss_fn = nn.BCEWithLogitsLoss()
            def train():
                net.train(); opt.zero_grad(set_to_none=False)
                loss = loss_fn(net(x), y); loss.backward()
                torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0); opt.step()
                net.eval()
            for mode, fn in (("forward", fwd), ("inputGradient", igrad), ("training", train)):
                m = timeit(fn, seconds)
                out.append({"mode": mode, "batchSize": b, "threads": t, "medianSeconds": m, "imagesPerSecond": b / m})
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ours", default=os.environ.get("GLASSBOX_NNBENCH", "glassbox bench nn"),
                    help="command of our network benchmark (default: $GLASSBOX_NNBENCH or 'glassbox bench nn')")
    ap.add_argument("--batches", default="1,8,32")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--seconds", type=float, default=1.0, help="time budget per case")
    ap.add_argument("--rounds", type=int, default=5,
                    help="paired rounds per thread count; a cell's ratio is the median of the rounds' ratios")
    ap.add_argument("--parity-batch", type=int, default=4)
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args()
    ours = shlex.split(args.ours)
    batches = [int(v) for v in args.batches.split(",")]
    threads = [int(v) for v in args.threads.split(",")]

    tmp = tempfile.mkdtemp(prefix="glassbox-torchref-")
    wpath, ipath, opath = (os.path.join(tmp, n) for n in ("w.safetensors", "in.safetensors", "out.safetensors"))
    subprocess.run(ours + ["export-weights", wpath], check=True, stdout=subprocess.DEVNULL)
    weights, meta = read_safetensors(wpath)
    cfg = json.loads(meta["configuration"])
    net = SpatialNetwork(cfg)
    state = {k: torch.from_numpy(v) for k, v in weights.items()}
    missing, unexpected = net.load_state_dict(state, strict=False)
    assert not unexpected and all(k.endswith("num_batches_tracked") for k in missing), (missing, unexpected)
    net.eval()

    # Parity on random crops in inference mode.
    torch.set_num_threads(2)
    rng = np.random.default_rng(0)
    x = rng.random((args.parity_batch, 3, cfg["inputSize"], cfg["inputSize"]), dtype=np.float32)
    write_safetensors(ipath, {"input": x})
    subprocess.run(ours + ["parity", wpath, ipath, opath], check=True, stdout=subprocess.DEVNULL)
    theirs, _ = read_safetensors(opath)
    with torch.no_grad():
        net64 = SpatialNetwork(cfg).double(); net64.load_state_dict({k: v.double() for k, v in state.items()}, strict=False); net64.eval()
    xt = torch.from_numpy(x).double().requires_grad_(True)
    logits = net64(xt); logits.sum().backward()
    def rel(a, b):
        b = np.asarray(b, dtype=np.float64); return float(np.max(np.abs(np.asarray(a, np.float64) - b)) / max(np.max(np.abs(b)), 1e-12))
    parity = {
        "maxRelativeError": max(rel(theirs["logits"], logits.detach().numpy()), rel(theirs["input_gradient"], xt.grad.numpy())),
        "logits": rel(theirs["logits"], logits.detach().numpy()),
        "inputGradient": rel(theirs["input_gradient"], xt.grad.numpy()),
        "embedding": rel(theirs["embedding"], net64.embedding(xt).detach().numpy()),
        "reference": "PyTorch float64 on the same weights and input",
    }
    # Float32 PyTorch against float64, to show the floor of float32 error.
    xt32 = torch.from_numpy(x).requires_grad_(True)
    l32 = net(xt32); l32.sum().backward()
    parity["torchFloat32"] = max(rel(l32.detach().numpy(), logits.detach().numpy()), rel(xt32.grad.numpy(), xt.grad.numpy()))

    # Throughput in paired rounds: within a round both engines time every case at one thread count, and
    # the engine that goes first alternates, so slow spells of a shared machine hit both alike.
    key = lambda e: (e["mode"], e["batchSize"], e["threads"])
    per_round = []  # (ours entries, torch entries) by key, one dict pair per round and thread count
    for t in threads:
        for rnd in range(args.rounds):
            def run_ours():
                r = subprocess.run(ours + ["bench", "--json", "--batches", args.batches, "--threads", str(t),
                                           "--seconds", str(args.seconds)], check=True, capture_output=True, text=True)
                return {key(e): e for e in json.loads(r.stdout)["entries"]}
            def run_torch():
                return {key(e): e for e in torch_bench(cfg, state, batches, [t], args.seconds)}
            if rnd % 2 == 0:
                o = run_ours(); p = run_torch()
            else:
                p = run_torch(); o = run_ours()
            per_round.append((o, p))
            print(f"round {rnd + 1}/{args.rounds} at {t} thread(s) done", file=sys.stderr, flush=True)
    def median(values):
        v = sorted(values); n = len(v)
        return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2
    rows = []
    for t in threads:
        for b in batches:
            for mode in ("forward", "inputGradient", "training"):
                k = (mode, b, t)
                pairs = [(o[k]["imagesPerSecond"], p[k]["imagesPerSecond"]) for o, p in per_round if k in o and k in p]
                ratios = [a / b_ for a, b_ in pairs]
                rows.append({"mode": mode, "batchSize": b, "threads": t,
                             "ours": round(median([a for a, _ in pairs]), 2), "torch": round(median([b_ for _, b_ in pairs]), 2),
                             "ratio": round(median(ratios), 3), "roundRatios": [round(r, 3) for r in ratios]})
    summary = {}
    for mode in ("forward", "inputGradient", "training"):
        sel = [r for r in rows if r["mode"] == mode and r["threads"] == 2 and r["batchSize"] == max(batches)] or \
              [r for r in rows if r["mode"] == mode]
        r = sel[-1]
        summary[mode] = {"ours": r["ours"], "torch": r["torch"], "ratio": r["ratio"], "batchSize": r["batchSize"], "threads": r["threads"]}
    result = {"parity": parity, **summary, "rows": rows, "torchVersion": torch.__version__}
    if args.json:
        print(json.dumps(result))
        return
    print(f"parity vs PyTorch float64: max relative error {parity['maxRelativeError']:.2e} "
          f"(logits {parity['logits']:.2e}, input gradient {parity['inputGradient']:.2e}; torch float32 itself {parity['torchFloat32']:.2e})")
    print(f"throughput: medians of {args.rounds} paired round(s); ratio = median of the rounds' ours / PyTorch")
    print(f"{'mode':<14}{'batch':>6}{'threads':>8}{'ours img/s':>12}{'torch img/s':>13}{'ratio':>8}  rounds' ratios")
    for r in rows:
        print(f"{r['mode']:<14}{r['batchSize']:>6}{r['threads']:>8}{r['ours']:>12.1f}{r['torch']:>13.1f}{r['ratio']:>8.2f}  "
              + " ".join(f"{x:.2f}" for x in r["roundRatios"]))


if __name__ == "__main__":
    main()
