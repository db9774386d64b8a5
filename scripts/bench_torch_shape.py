#!/usr/bin/env python3
"""Times the JacobiNeRF shaping step in PyTorch, for side-by-side comparison with
`jnerf bench --stage shape` (same model, batch, samples, Jacobians and threads).

The step is the reference's: coarse + fine forward (stratified jitter, density noise,
importance sampling), then one torch.autograd.grad(create_graph=True) call per ray for the
Jacobian of the ray's mean fine colour w.r.t. the fine rgb_linear.weight, the contrastive
mutual-information loss and the norm loss on those Jacobians, the photometric MSE of both
stages, total.backward() through the double backward, and an Adam step.

The contrastive loss is vectorised by default (one Gram matrix for all anchor/sample
pairs; the adaptive threshold is still walked anchor by anchor, as the reference does),
which is faster than the reference's per-pair Python loops and so favours PyTorch;
--loss loops runs the reference's loops literally (4096 similarity terms at 64 rays).

The affinity matrix is random with the same construction as jnerf's bench: rays in
--groups groups, within-group affinity in [0.92, 1], across groups in [-0.3, 0.45].

Run with Debian's interpreter:
  GLIBC_TUNABLES=glibc.malloc.hugetlb=1 /usr/bin/python3 scripts/bench_torch_shape.py --threads 2
For a fair comparison install an optimized BLAS first (apt-get install libopenblas0-pthread).
Prints one JSON object on its last line.
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "oracle"))
sys.path.insert(0, os.path.dirname(__file__))
from semantic_nerf_oracle import Net  # noqa: E402  (sets float64; reset below)
from torch_bench_common import blas_library, coarse_fine_render  # noqa: E402


def grouped_affinity(B, groups, gen):
    group = torch.arange(B) % groups
    group = group[torch.randperm(B, generator=gen)]
    same = 0.92 + 0.08 * torch.rand(B, B, generator=gen, dtype=torch.float64)
    other = -0.3 + 0.75 * torch.rand(B, B, generator=gen, dtype=torch.float64)
    a = torch.where(group[:, None] == group[None, :], same, other)
    a = torch.triu(a, 1)
    a = a + a.T
    a.fill_diagonal_(1.0)
    return a


class Threshold:
    """The reference's adaptive positive threshold (kept on its trainer)."""

    def __init__(self, args):
        self.tau = args.tau
        self.lower, self.upper, self.step = 0.5, 0.9, 1e-3
        self.ratio_lower, self.ratio_upper = 0.05, 0.15

    def masks(self, affinity):
        """Each anchor's positive set with tau as the reference adapts it, anchor by anchor."""
        n = affinity.shape[0]
        rows = []
        for index in range(n):
            pos = affinity[index] > self.tau
            count = int(pos.sum())
            if count < int(self.ratio_lower * n) and self.tau > self.lower:
                self.tau -= self.step
            elif count > int(self.ratio_upper * n) and self.tau < self.upper:
                self.tau += self.step
            rows.append(pos)
        return torch.stack(rows, 0)


def mi_loss_vectorised(jac, positive):
    norms = torch.linalg.norm(jac, dim=-1)
    sim = torch.abs(jac @ jac.T) / (norms[:, None] * norms[None, :] + 1e-7)
    e = torch.exp(sim)
    pos_sim = (e * positive).sum(1)
    neg_sim = (e * ~positive).sum(1)
    valid = (pos_sim > 0) & (neg_sim > 0)
    terms = -torch.log(pos_sim / (pos_sim + neg_sim) + 1e-7)
    count = int(valid.sum())
    return terms[valid].sum() / max(count, 1)


def mi_loss_loops(jac, positive):
    """The reference's anchor loop, literally (per-pair similarity terms)."""
    def term(a, b):
        return torch.exp(abs(torch.dot(a, b) / (torch.linalg.norm(a) * torch.linalg.norm(b) + 1e-7)))

    loss = torch.zeros((), dtype=jac.dtype)
    anchors = 0
    for index in range(jac.shape[0]):
        pos = torch.zeros((), dtype=jac.dtype)
        for sample in jac[positive[index]]:
            pos = pos + term(jac[index], sample)
        neg = torch.zeros((), dtype=jac.dtype)
        for sample in jac[~positive[index]]:
            neg = neg + term(jac[index], sample)
        if pos > 0 and neg > 0:
            loss = loss - torch.log(pos / (pos + neg) + 1e-7)
            anchors += 1
    return loss / max(anchors, 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rays", type=int, default=64)
    ap.add_argument("--coarse", type=int, default=64)
    ap.add_argument("--fine", type=int, default=128)
    ap.add_argument("--width", type=int, default=256)
    ap.add_argument("--depth", type=int, default=8)
    ap.add_argument("--skips", type=str, default="4", help="comma-separated skip layers ('' for none)")
    ap.add_argument("--view-width", type=int, default=128)
    ap.add_argument("--near", type=float, default=0.1)
    ap.add_argument("--far", type=float, default=6.0)
    ap.add_argument("--groups", type=int, default=8)
    ap.add_argument("--tau", type=float, default=0.8)
    ap.add_argument("--weight-mi", type=float, default=1e-2)
    ap.add_argument("--weight-norm", type=float, default=1e-2)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--loss", choices=["vectorised", "loops"], default="vectorised")
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    args = ap.parse_args()
    torch.set_default_dtype(torch.float32)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    skips = [int(s) for s in args.skips.split(",") if s.strip()]
    spec = {"position_frequencies": 10, "direction_frequencies": 4, "position_scale": 0.1,
            "trunk_depth": args.depth, "trunk_width": args.width, "skips": skips,
            "view_width": args.view_width}
    coarse, fine = Net(spec), Net(spec)
    head = fine.rgb_linear.weight
    opt = torch.optim.Adam(list(coarse.parameters()) + list(fine.parameters()), lr=args.lr)
    R = args.rays
    origins = torch.rand(R, 3) - 0.5
    dirs = torch.cat([torch.rand(R, 2) - 0.5, torch.ones(R, 1)], -1)
    target = torch.rand(R, 3)
    gen = torch.Generator().manual_seed(1)
    affinity = grouped_affinity(R, min(args.groups, R), gen)
    threshold = Threshold(args)
    mi_loss = mi_loss_vectorised if args.loss == "vectorised" else mi_loss_loops

    def step():
        marks = [time.perf_counter()]
        rgb_c, rgb_f = coarse_fine_render(coarse, fine, origins, dirs, args.near, args.far, args.coarse, args.fine)
        marks.append(time.perf_counter())
        # One grad call per ray, as the reference (its Jacobian of the grey colour).
        jac = torch.stack([torch.autograd.grad(feature.mean(), head, create_graph=True)[0].view(-1)
                           for feature in rgb_f], 0)
        marks.append(time.perf_counter())
        positive = threshold.masks(affinity)
        mi = mi_loss(jac.double(), positive)
        norm_loss = torch.mean((torch.linalg.norm(jac, dim=-1) - 1.0) ** 2)
        total = ((rgb_c - target) ** 2).mean() + ((rgb_f - target) ** 2).mean()
        total = total + args.weight_mi * mi.float() + args.weight_norm * norm_loss
        marks.append(time.perf_counter())
        opt.zero_grad()
        total.backward()
        opt.step()
        marks.append(time.perf_counter())
        return [b - a for a, b in zip(marks, marks[1:])]

    times, parts = [], []
    for i in range(args.warmup + args.iters):
        t0 = time.perf_counter()
        p = step()
        dt = time.perf_counter() - t0
        print(f"iteration {i + 1}: {dt:.4f} s (forward {p[0]:.3f}, jacobians {p[1]:.3f}, loss {p[2]:.3f}, "
              f"backward + adam {p[3]:.3f}){' (warm-up)' if i < args.warmup else ''}", file=sys.stderr)
        if i >= args.warmup:
            times.append(dt)
            parts.append(p)
    med = statistics.median(times)
    part = [statistics.median(p[k] for p in parts) for k in range(4)]
    samples = 2 * args.coarse + args.fine
    print(json.dumps({"stage": "shape", "device": "cpu-torch", "torch": torch.__version__, "threads": args.threads,
                      "model": "semantic_nerf", "trunk": f"{args.depth}x{args.width}", "loss": args.loss,
                      "rays_per_iter": R, "samples_per_ray": samples, "iters": args.iters,
                      "sec_per_iter_median": med, "sec_per_iter_min": min(times),
                      "rays_per_sec": R / med, "samples_per_sec": R * samples / med,
                      "forward_sec_median": part[0], "jacobians_sec_median": part[1],
                      "loss_sec_median": part[2], "backward_adam_sec_median": part[3],
                      "tau_after": threshold.tau, "blas": blas_library()}))



if __name__ == "__main__":
    main()
