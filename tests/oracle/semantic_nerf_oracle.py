#!/usr/bin/env python3
"""PyTorch oracle for the semantic_nerf pipeline (run with Debian's /usr/bin/python3).

Reads a case written by tests/test_oracle_torch.cpp (model sizes, sampler settings, the
flat parameter array with its named segments, rays and targets), evaluates the paper's
coarse-to-fine pipeline with torch autograd in float64, and writes the rendered colours,
the loss and the gradient of every parameter segment.

Independent of the C++ code: the network follows the nerf-pytorch / Semantic-NeRF layout,
sampling is deterministic (linspace coarse samples, sample_pdf with det=True), compositing
uses the exact transmittance exp(-cumsum(sigma * delta)) with a 1e10 last delta, as jnerf
documents.

usage: semantic_nerf_oracle.py CASE.json RESULT.json
"""
import json
import sys

import torch

torch.set_default_dtype(torch.float64)


def embed(x, frequencies, scale):
    x = x * scale
    parts = [x]
    for i in range(frequencies):
        f = 2.0 ** i
        parts += [torch.sin(x * f), torch.cos(x * f)]
    return torch.cat(parts, -1)


class Net(torch.nn.Module):
    def __init__(self, spec):
        super().__init__()
        P = 3 + 6 * spec["position_frequencies"]
        V = 3 + 6 * spec["direction_frequencies"]
        W = spec["trunk_width"]
        self.skips = spec["skips"]
        self.spec = spec
        layers = [torch.nn.Linear(P, W)]
        for i in range(spec["trunk_depth"] - 1):
            layers.append(torch.nn.Linear(W + P if i in self.skips else W, W))
        self.pts_linears = torch.nn.ModuleList(layers)
        self.feature_linear = torch.nn.Linear(W, W)
        self.alpha_linear = torch.nn.Linear(W, 1)
        self.views_linears = torch.nn.ModuleList([torch.nn.Linear(W + V, spec["view_width"])])
        self.rgb_linear = torch.nn.Linear(spec["view_width"], 3)

    def forward(self, points, view_dirs):
        x = embed(points, self.spec["position_frequencies"], self.spec["position_scale"])
        d = embed(view_dirs, self.spec["direction_frequencies"], 1.0)
        h = x
        for i, layer in enumerate(self.pts_linears):
            h = torch.relu(layer(h))
            if i in self.skips:
                h = torch.cat([x, h], -1)
        alpha = self.alpha_linear(h)
        feature = self.feature_linear(h)
        h = torch.relu(self.views_linears[0](torch.cat([feature, d], -1)))
        return self.rgb_linear(h), alpha


def composite(raw_rgb, raw_alpha, z, dir_norm, background):
    delta = torch.cat([z[:, 1:] - z[:, :-1], torch.full_like(z[:, :1], 1e10)], -1) * dir_norm[:, None]
    tau = torch.relu(raw_alpha[..., 0]) * delta
    alpha = 1.0 - torch.exp(-tau)
    transmittance = torch.exp(-torch.cat([torch.zeros_like(tau[:, :1]), torch.cumsum(tau, -1)[:, :-1]], -1))
    w = transmittance * alpha
    rgb = (w[..., None] * torch.sigmoid(raw_rgb)).sum(1)
    if background is not None:
        rgb = rgb + (1.0 - w.sum(1))[:, None] * background
    return rgb, w


def sample_pdf(bins, weights, n, eps=1e-5):
    weights = weights + eps
    pdf = weights / weights.sum(-1, keepdim=True)
    cdf = torch.cat([torch.zeros_like(pdf[:, :1]), torch.cumsum(pdf, -1)], -1)
    u = torch.linspace(0.0, 1.0, n).expand(cdf.shape[0], n).contiguous()
    idx = torch.searchsorted(cdf, u, right=True)
    below = torch.clamp(idx - 1, min=0)
    above = torch.clamp(idx, max=cdf.shape[-1] - 1)
    cdf_b, cdf_a = torch.gather(cdf, 1, below), torch.gather(cdf, 1, above)
    bins_b, bins_a = torch.gather(bins, 1, below), torch.gather(bins, 1, above)
    denom = cdf_a - cdf_b
    denom = torch.where(denom < eps, torch.ones_like(denom), denom)
    t = (u - cdf_b) / denom
    return bins_b + t * (bins_a - bins_b)


def main(case_path, result_path):
    case = json.load(open(case_path))
    spec, sampler = case["spec"], case["sampler"]
    R = case["rays"]
    origins = torch.tensor(case["origins"]).reshape(3, R).T
    dirs = torch.tensor(case["dirs"]).reshape(3, R).T
    target = torch.tensor(case["target"]).reshape(3, R).T
    background = torch.tensor(sampler["background"]) if sampler["use_background"] else None

    nets = {"coarse.": Net(spec), "fine.": Net(spec)}
    flat = torch.tensor(case["params"])
    params = {}
    for seg in case["layout"]:
        prefix = "coarse." if seg["name"].startswith("coarse.") else "fine."
        module_name = seg["name"][len(prefix):]
        p = dict(nets[prefix].named_parameters())[module_name]
        n = p.numel()
        with torch.no_grad():
            p.copy_(flat[seg["offset"]:seg["offset"] + n].reshape(p.shape))
        params[seg["name"]] = p

    dir_norm = dirs.norm(dim=-1)
    view_dirs = dirs / dir_norm[:, None]
    S, Nf = sampler["coarse_samples"], sampler["fine_samples"]
    z = torch.linspace(sampler["near"], sampler["far"], S).expand(R, S).contiguous()

    def stage(net, z):
        points = origins[:, None, :] + dirs[:, None, :] * z[..., None]
        vd = view_dirs[:, None, :].expand(points.shape)
        raw_rgb, raw_alpha = net(points.reshape(-1, 3), vd.reshape(-1, 3))
        return composite(raw_rgb.reshape(R, -1, 3), raw_alpha.reshape(R, -1, 1), z, dir_norm, background)

    rgb_c, w_c = stage(nets["coarse."], z)
    mids = 0.5 * (z[:, 1:] + z[:, :-1])
    fine_z = sample_pdf(mids, w_c[:, 1:-1].detach(), Nf).detach()
    z_all, _ = torch.sort(torch.cat([z, fine_z], -1), -1)
    rgb_f, _ = stage(nets["fine."], z_all)

    loss = ((rgb_c - target) ** 2).mean() + ((rgb_f - target) ** 2).mean()
    loss.backward()
    json.dump({
        "loss": loss.item(),
        "rgb_coarse": rgb_c.T.reshape(-1).tolist(),
        "rgb_fine": rgb_f.T.reshape(-1).tolist(),
        "grads": {name: p.grad.reshape(-1).tolist() for name, p in params.items()},
    }, open(result_path, "w"))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
