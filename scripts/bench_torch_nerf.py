#!/usr/bin/env python3
"""Times the paper's NeRF training step in PyTorch, for side-by-side comparison with
`jnerf bench --stage nerf` (same model, batch, samples and threads).

Run with Debian's interpreter: /usr/bin/python3 scripts/bench_torch_nerf.py --rays 64
For a fair comparison install an optimized BLAS (apt-get install libopenblas0-pthread) and
set GLIBC_TUNABLES=glibc.malloc.hugetlb=1. Prints one JSON object on its last line.
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rays", type=int, default=1024)
    ap.add_argument("--coarse", type=int, default=64)
    ap.add_argument("--fine", type=int, default=128)
    ap.add_argument("--width", type=int, default=256)
    ap.add_argument("--depth", type=int, default=8)
    ap.add_argument("--view-width", type=int, default=128)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    args = ap.parse_args()
    torch.set_default_dtype(torch.float32)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    spec = {"position_frequencies": 10, "direction_frequencies": 4, "position_scale": 0.1,
            "trunk_depth": args.depth, "trunk_width": args.width, "skips": [4] if args.depth > 5 else [],
            "view_width": args.view_width}
    coarse, fine = Net(spec), Net(spec)
    opt = torch.optim.Adam(list(coarse.parameters()) + list(fine.parameters()), lr=5e-4)
    R = args.rays
    origins = torch.rand(R, 3) - 0.5
    dirs = torch.cat([torch.rand(R, 2) - 0.5, torch.ones(R, 1)], -1)
    target = torch.rand(R, 3)

    def step():
        rgb_c, rgb_f = coarse_fine_render(coarse, fine, origins, dirs, 0.1, 10.0, args.coarse, args.fine)
        loss = ((rgb_c - target) ** 2).mean() + ((rgb_f - target) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()

    times = []
    for i in range(args.warmup + args.iters):
        t0 = time.perf_counter()
        step()
        if i >= args.warmup:
            times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    samples = 2 * args.coarse + args.fine
    print(json.dumps({"stage": "nerf", "device": "cpu-torch", "torch": torch.__version__, "threads": args.threads,
                      "rays_per_iter": R, "sec_per_iter_median": med, "sec_per_iter_min": min(times),
                      "rays_per_sec": R / med, "samples_per_sec": R * samples / med,
                      "blas": blas_library()}))



if __name__ == "__main__":
    main()
