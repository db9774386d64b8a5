#!/usr/bin/env python3
"""PyTorch oracle for the hash_grid field (run with Debian's /usr/bin/python3).

Reads a case written by tests/test_hash_grid_field.cpp (model sizes, scene box, the flat
parameter array with its named segments, sample positions and unit view directions, and
the loss weights R1, R2, R3), evaluates the field with torch autograd in float64 and
writes raw density, raw rgb, head input (the RGB head's input) and the gradient of
L = sum(R1 * raw_rgb) + sum(R2 * raw_density) + sum(R3 * head_input) for every segment.

Independent of the C++ code, written from the documented conventions:
  * box -> [0,1]^3, clamped;
  * multiresolution hash grid (Mueller et al. 2022): level l has resolution
    N_l = floor(N_min * b^l), b = exp((ln N_max - ln N_min) / (L - 1)); vertices at integer
    positions of x * N_l (no half-cell offset); a level whose (N_l + 1)^3 vertices fit in
    the table of T entries is indexed densely, i + (N+1) (j + (N+1) k), otherwise hashed,
    (i ^ j * 2654435761 ^ k * 805459861) mod 2^32 mod T; trilinear interpolation;
    features of level l are rows l * F .. l * F + F - 1;
  * real spherical harmonics of bands 0..3 in tiny-cuda-nn's order and signs, evaluated on
    the unit direction itself;
  * density MLP (ReLU hidden layers, linear output 1 + geo), colour MLP on
    [geo features; SH] (ReLU hidden layers), linear rgb head.

usage: hash_grid_oracle.py CASE.json RESULT.json
"""
import json
import math
import sys

import torch

torch.set_default_dtype(torch.float64)

PRIME1, PRIME2 = 2654435761, 805459861
MASK32 = 0xFFFFFFFF


def level_resolutions(spec):
    L, n_min, n_max = spec["levels"], spec["base_resolution"], spec["max_resolution"]
    if L == 1:
        return [n_min]
    lnb = (math.log(n_max) - math.log(n_min)) / (L - 1)
    # 1e-9 relative allowance: integral values (N_{L-1} = N_max) are not rounded down.
    return [int(math.floor(n_min * math.exp(l * lnb) * (1 + 1e-9))) for l in range(L)]


def hash_encode(x01, table, spec):
    """x01: (n, 3); table: (L, T, F) -> (n, L * F)."""
    L, T, F = table.shape
    x = x01.clamp(0.0, 1.0)
    out = []
    for l, N in enumerate(level_resolutions(spec)):
        pos = x * N
        base = torch.floor(pos).long().clamp(max=N - 1)
        frac = pos - base
        dense = (N + 1) ** 3 <= T
        feats = torch.zeros(x.shape[0], F)
        for corner in range(8):
            hi = [(corner >> c) & 1 for c in range(3)]
            v = [base[:, c] + hi[c] for c in range(3)]
            w = torch.ones(x.shape[0])
            for c in range(3):
                w = w * (frac[:, c] if hi[c] else 1.0 - frac[:, c])
            if dense:
                idx = v[0] + (N + 1) * (v[1] + (N + 1) * v[2])
            else:
                h = (v[0] & MASK32) ^ ((v[1] * PRIME1) & MASK32) ^ ((v[2] * PRIME2) & MASK32)
                idx = h & (T - 1)
            feats = feats + w[:, None] * table[l][idx]
        out.append(feats)
    return torch.cat(out, 1)


def sh4(d):
    x, y, z = d[:, 0], d[:, 1], d[:, 2]
    pi = math.pi
    c0 = 1 / (2 * math.sqrt(pi))
    c1 = math.sqrt(3) / (2 * math.sqrt(pi))
    c2a = math.sqrt(15) / (2 * math.sqrt(pi))
    c2b = 3 * math.sqrt(5) / (4 * math.sqrt(pi))
    c2c = math.sqrt(5) / (4 * math.sqrt(pi))
    c2d = math.sqrt(15) / (4 * math.sqrt(pi))
    c3a = math.sqrt(70) / (8 * math.sqrt(pi))
    c3b = math.sqrt(105) / (2 * math.sqrt(pi))
    c3c = math.sqrt(42) / (8 * math.sqrt(pi))
    c3d = math.sqrt(7) / (4 * math.sqrt(pi))
    c3e = math.sqrt(105) / (4 * math.sqrt(pi))
    return torch.stack([
        torch.full_like(x, c0),
        -c1 * y,
        c1 * z,
        -c1 * x,
        c2a * x * y,
        -c2a * y * z,
        c2b * z * z - c2c,
        -c2a * x * z,
        c2d * (x * x - y * y),
        c3a * y * (-3 * x * x + y * y),
        c3b * x * y * z,
        c3c * y * (1 - 5 * z * z),
        c3d * z * (5 * z * z - 3),
        c3c * x * (1 - 5 * z * z),
        c3e * z * (x * x - y * y),
        c3a * x * (-x * x + 3 * y * y),
    ], 1)


def main(case_path, result_path):
    case = json.load(open(case_path))
    spec, prefix, n = case["spec"], case["prefix"], case["n"]
    flat = torch.tensor(case["params"])
    params = {}
    for seg in case["layout"]:
        size = math.prod(seg["shape"])
        p = flat[seg["offset"]:seg["offset"] + size].reshape(seg["shape"]).clone().requires_grad_(True)
        params[seg["name"][len(prefix):]] = p

    positions = torch.tensor(case["positions"]).reshape(3, n).T
    dirs = torch.tensor(case["dirs"]).reshape(3, n).T
    lo, hi = torch.tensor(case["box_min"]), torch.tensor(case["box_max"])
    x01 = (positions - lo) / (hi - lo)

    def linear(name, x):
        return torch.nn.functional.linear(x, params[name + ".weight"], params[name + ".bias"])

    h = hash_encode(x01, params["encoding.table"], spec)
    for i in range(spec["density_depth"]):
        h = torch.relu(linear(f"density_net.{i}", h))
    dens = linear(f"density_net.{spec['density_depth']}", h)
    raw_density = dens[:, 0]
    h = torch.cat([dens[:, 1:], sh4(dirs)], 1)
    for i in range(spec["colour_depth"]):
        h = torch.relu(linear(f"colour_net.{i}", h))
    head_input = h
    raw_rgb = linear("rgb_linear", h)

    r_rgb = torch.tensor(case["r_rgb"]).reshape(3, n).T
    r_density = torch.tensor(case["r_density"])
    r_head = torch.tensor(case["r_head"]).reshape(-1, n).T
    loss = (r_rgb * raw_rgb).sum() + (r_density * raw_density).sum() + (r_head * head_input).sum()
    loss.backward()
    json.dump({
        "loss": loss.item(),
        "raw_density": raw_density.tolist(),
        "raw_rgb": raw_rgb.T.reshape(-1).tolist(),
        "head_input": head_input.T.reshape(-1).tolist(),
        "grads": {prefix + name: p.grad.reshape(-1).tolist() for name, p in params.items()},
    }, open(result_path, "w"))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
