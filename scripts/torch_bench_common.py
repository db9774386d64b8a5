"""What the PyTorch timing scripts (bench_torch_nerf.py, bench_torch_shape.py) share: the
paper's coarse-to-fine render of a ray batch, and the BLAS library torch runs on."""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "oracle"))
from semantic_nerf_oracle import composite, sample_pdf  # noqa: E402  (sets float64; the scripts reset it)


def coarse_fine_render(coarse, fine, origins, dirs, near, far, n_coarse, n_fine):
    """One training-mode render as the reference does it: n_coarse jittered stratified samples
    on [near, far], n_fine importance samples from the coarse weights, both networks with
    density noise of std 1. Returns (rgb_coarse, rgb_fine), R x 3 each."""
    R = origins.shape[0]
    dir_norm = dirs.norm(dim=-1)
    view_dirs = dirs / dir_norm[:, None]

    def stage(net, z):
        points = origins[:, None, :] + dirs[:, None, :] * z[..., None]
        vd = view_dirs[:, None, :].expand(points.shape)
        raw_rgb, raw_alpha = net(points.reshape(-1, 3), vd.reshape(-1, 3))
        raw_alpha = raw_alpha + torch.randn_like(raw_alpha)  # density noise, std 1
        return composite(raw_rgb.reshape(R, -1, 3), raw_alpha.reshape(R, -1, 1), z, dir_norm, None)

    z = torch.linspace(near, far, n_coarse).expand(R, n_coarse)
    mids = 0.5 * (z[:, 1:] + z[:, :-1])
    lower = torch.cat([z[:, :1], mids], -1)
    upper = torch.cat([mids, z[:, -1:]], -1)
    z = lower + (upper - lower) * torch.rand(R, n_coarse)
    rgb_c, w_c = stage(coarse, z)
    zf = sample_pdf(0.5 * (z[:, 1:] + z[:, :-1]), w_c[:, 1:-1].detach(), n_fine).detach()
    z_all, _ = torch.sort(torch.cat([z, zf], -1), -1)
    rgb_f, _ = stage(fine, z_all)
    return rgb_c, rgb_f


def blas_library():
    """Which BLAS Debian's torch loads: libblas.so.3 is chosen by update-alternatives."""
    link = "/etc/alternatives/libblas.so.3-x86_64-linux-gnu"
    return os.path.realpath(link) if os.path.exists(link) else "unknown"
