#!/usr/bin/env python3
"""Do other integration paths localise this detector's evidence better than the straight line?

A research probe, outside CI, for issue 5's mask-enrichment figure. It reads the files written by
`glassbox faithfulness SET --maps DIR` (crop, blend mask and our attribution map per fake), rebuilds the
spatial network in PyTorch from the same weights file (the `bench/torch_reference.py` mirror), and for
each crop computes attributions along three kinds of path:

  straight  integrated gradients on the straight line from a baseline (Sundararajan et al. 2017), the
            path `glassbox` uses; with the black baseline it must reproduce our map (a parity check of
            the probe itself, printed as the largest relative difference)
  guided    Guided IG (Kapishnikov et al., CVPR 2021): at each step the features with the smallest
            |gradient| move towards the input first, within a window around the straight line's
            progress, so that features the model is sensitive to move late and collect less noise
  blurpath  Blur IG (Xu et al., CVPR 2020, "Attribution in Scale and Space"): the path runs from a
            heavily blurred crop to the crop through decreasing Gaussian blur, so that detail is added
            scale by scale instead of all scales at once

For each it prints the mean per-pixel mask enrichment (positive attribution inside the mask over the
mask's area share; inside = blend weight above half the mask's peak, as `glassbox faithfulness`
counts it), the share of fakes at 2x or more, and the completeness error; and, for the maps in the
files, the enrichment under other readings of "inside" a soft mask (`mask_definitions`). Usage:

    glassbox faithfulness SET --max 24 --baseline black --maps /tmp/maps-black
    .venv/bin/python bench/attribution_paths.py /tmp/maps-black --weights weights/detector.safetensors

Needs torch, numpy and scipy (`.venv/bin/pip install torch numpy scipy`).
"""
import argparse, glob, json, os, sys

import numpy as np
import torch
from scipy.ndimage import gaussian_filter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_reference import read_safetensors, SpatialNetwork  # noqa: E402


def load_detector(path):
    weights, meta = read_safetensors(path)
    prefix = "spatial." if "spatial_configuration" in meta else ""
    cfg = json.loads(meta["spatial_configuration" if prefix else "configuration"])
    assert cfg.get("pixelRange") == "0...1" and not cfg.get("antialiased"), "probe mirrors plain 0...1 networks only"
    net = SpatialNetwork(cfg)
    state = {k[len(prefix):]: torch.from_numpy(v) for k, v in weights.items() if k.startswith(prefix)}
    missing, unexpected = net.load_state_dict(state, strict=False)
    assert not unexpected and all(k.endswith("num_batches_tracked") for k in missing), (missing, unexpected)
    net.eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return net


class Probe:
    def __init__(self, net):
        self.net = net

    def gradients(self, points):
        """Fake logits and their input gradients for a batch of crops [N, 3, S, S]."""
        t = torch.from_numpy(np.ascontiguousarray(points, dtype=np.float32)).requires_grad_(True)
        logits = self.net(t)[:, 0]
        logits.sum().backward()
        return logits.detach().numpy().astype(np.float64), t.grad.numpy().astype(np.float64)

    def logit(self, x):
        return self.gradients(x[None])[0][0]

    def straight(self, x, baseline, steps):
        """IG on the straight line, Gauss-Legendre nodes (as `glassbox` integrates by default)."""
        nodes, weights = np.polynomial.legendre.leggauss(steps)
        nodes, weights = (nodes + 1) / 2, weights / 2
        total = np.zeros_like(x, dtype=np.float64)
        for first in range(0, steps, 16):
            alphas = nodes[first:first + 16]
            points = baseline[None] + alphas[:, None, None, None] * (x - baseline)[None]
            _, g = self.gradients(points)
            total += (weights[first:first + 16, None, None, None] * g).sum(0)
        return (x - baseline) * total

    def guided(self, x, baseline, steps, fraction=0.25, window=0.1):
        """Guided IG. Each step takes the gradient once at the current point, then moves the `fraction`
        of not-yet-capped features with the smallest |gradient| towards the input until the L1
        distance left equals the straight line's at this step. A feature never runs more than
        `window` (in path fraction) ahead of the straight line's progress, and one that lags more
        than `window` behind is pulled up first. Attribution is the sum of each move times the
        gradient of its step (a left Riemann sum along the path, so completeness needs many steps)."""
        x, b = x.astype(np.float64), baseline.astype(np.float64)
        span = x - b
        moving = span != 0
        safe_span = np.where(moving, span, 1)
        total_distance = np.abs(span).sum()
        point, attribution = b.copy(), np.zeros_like(x)

        def progress(p):
            return np.where(moving, (p - b) / safe_span, 1.0)

        for step in range(1, steps + 1):
            _, g = self.gradients(point[None])
            g = g[0]
            alpha = step / steps
            low, high = max(alpha - window, 0.0), min(alpha + window, 1.0)
            target = total_distance * (1 - alpha)
            before = point.copy()
            lagging = moving & (progress(point) < low)
            point[lagging] = b[lagging] + low * span[lagging]
            cap = b + high * span
            while True:
                left = np.abs(x - point).sum()
                if left <= target * (1 + 1e-9) + 1e-12:
                    break
                free = moving & (progress(point) < high - 1e-12)
                if not free.any():
                    break
                magnitudes = np.abs(g[free])
                k = max(1, int(np.ceil(fraction * magnitudes.size)))
                cutoff = np.partition(magnitudes, k - 1)[k - 1]
                chosen = np.zeros_like(free)
                chosen[free] = magnitudes <= cutoff
                room = np.abs(cap - point)[chosen].sum()
                if room <= left - target:
                    point[chosen] = cap[chosen]
                else:
                    point[chosen] += (left - target) / room * (cap[chosen] - point[chosen])
            attribution += (point - before) * g
        return attribution

    def blur_path(self, x, steps, max_sigma=32.0):
        """Blur IG: from blur(x, max_sigma) to x through sigma_k = max_sigma * (1 - k / steps); each
        segment's change times the gradient at its midpoint image (midpoint rule)."""
        x = x.astype(np.float64)

        def blurred(sigma):
            if sigma <= 0:
                return x
            return np.stack([gaussian_filter(c, sigma, mode="reflect") for c in x])

        sigmas = [max_sigma * (1 - k / steps) for k in range(steps + 1)]
        images = [blurred(s) for s in sigmas]
        mids = np.stack([blurred((sigmas[k] + sigmas[k + 1]) / 2) for k in range(steps)])
        attribution = np.zeros_like(x)
        for first in range(0, steps, 16):
            _, g = self.gradients(mids[first:first + 16])
            for j in range(g.shape[0]):
                k = first + j
                attribution += (images[k + 1] - images[k]) * g[j]
        return attribution, images[0]


def enrichment(attribution, mask):
    """Per-pixel positive attribution inside the mask over the mask's area share (channels summed)."""
    plane = attribution.sum(0)
    positive = np.maximum(plane, 0)
    inside = mask > 0.5 * mask.max()
    if not inside.any() or positive.sum() == 0:
        return 0.0
    return float(positive[inside].sum() / positive.sum() / inside.mean())


def mask_definitions(attribution_plane, mask):
    """Our map's per-pixel enrichment under other readings of "inside a soft mask": above half the
    peak (what glassbox counts), above a tenth of the peak, above 0.02 (every pixel the blend
    touched), and weighted by the blend weight itself (share of positive mass times weight over the
    mean weight)."""
    positive = np.maximum(attribution_plane, 0)
    peak = mask.max()
    out = {}
    for name, inside in (("half peak", mask > 0.5 * peak), ("tenth of peak", mask > 0.1 * peak), ("> 0.02", mask > 0.02)):
        out[name] = float(positive[inside].sum() / positive.sum() / inside.mean()) if inside.any() else 0.0
    weight = mask / peak if peak > 0 else mask
    out["weighted"] = float((positive * weight).sum() / positive.sum() / weight.mean()) if peak > 0 else 0.0
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("maps", help="folder written by glassbox faithfulness --maps")
    ap.add_argument("--weights", default="weights/detector.safetensors")
    ap.add_argument("--paths", default="straight-black,straight-noise,guided-black,guided-noise,blurpath",
                    help="comma-separated: straight-black, straight-noise, guided-black, guided-noise, blurpath")
    ap.add_argument("--steps", type=int, default=32, help="straight-line and blur-path steps")
    ap.add_argument("--guided-steps", type=int, default=128)
    ap.add_argument("--seed", type=int, default=0, help="noise baseline draws")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    probe = Probe(load_detector(args.weights))
    files = sorted(glob.glob(os.path.join(args.maps, "*.safetensors")))
    if not files:
        sys.exit(f"{args.maps}: no .safetensors files (write them with glassbox faithfulness --maps)")
    rng = np.random.default_rng(args.seed)
    paths = [p for p in args.paths.split(",") if p]
    results = {p: [] for p in paths}
    definitions = []
    parity = []
    for path in files:
        tensors, meta = read_safetensors(path)
        x, mask = tensors["crop"].astype(np.float64), tensors["mask"]
        ours = tensors["attribution"]
        definitions.append(mask_definitions(ours.sum(0), mask))
        black = np.zeros_like(x)
        for name in paths:
            if name == "blurpath":
                attribution, start = probe.blur_path(x, args.steps)
                difference = probe.logit(x) - probe.logit(start)
            else:
                kind, base = name.split("-")
                baseline = black if base == "black" else rng.random(x.shape)
                attribution = (probe.straight(x, baseline, args.steps) if kind == "straight"
                               else probe.guided(x, baseline, args.guided_steps))
                difference = probe.logit(x) - probe.logit(baseline)
                if name == "straight-black" and meta.get("baseline") == "black" and int(meta.get("steps", 0)) == args.steps:
                    parity.append(float(np.abs(attribution - ours).max() / max(np.abs(ours).max(), 1e-12)))
            error = abs(attribution.sum() - difference) / max(abs(difference), 1e-12)
            results[name].append((meta.get("method", "?"), enrichment(attribution, mask), error))
        print(f"{os.path.basename(path)}: ours {definitions[-1]['half peak']:.2f}x"
              + "".join(f", {n} {results[n][-1][1]:.2f}x" for n in paths), flush=True)
    if parity:
        print(f"parity of the straight black-baseline path with our maps: largest relative difference {max(parity):.2e}")
    print(f"\n{len(files)} fakes; our maps' per-pixel mask enrichment by reading of inside: "
          + ", ".join(f"{k} {np.mean([d[k] for d in definitions]):.2f}x" for k in definitions[0]))
    print(f"per-pixel mask enrichment (goal >= 2x) along each path, completeness error")
    for name in paths:
        rows = results[name]
        values = np.array([r[1] for r in rows])
        errors = np.array([r[2] for r in rows])
        by_method = {}
        for method, value, _ in rows:
            by_method.setdefault(method, []).append(value)
        methods = ", ".join(f"{m} {np.mean(v):.2f}x" for m, v in sorted(by_method.items()))
        print(f"  {name:15s} mean {values.mean():.2f}x, >= 2x in {100 * (values >= 2).mean():.0f}%; "
              f"completeness error median {np.median(errors):.2g}, max {errors.max():.2g}; {methods}")


if __name__ == "__main__":
    main()
