#!/usr/bin/env python3
"""PyTorch oracle for JacobiNeRF shaping (run with Debian's /usr/bin/python3).

Reads a case written by tests/test_oracle_shaping.cpp and writes the oracle's answer.
Two modes, chosen by the case's "mode":

shaping
    Rebuilds the coarse and fine semantic_nerf networks from the flat parameter array
    (the network, compositing and importance sampling of semantic_nerf_oracle.py), renders
    the rays deterministically in float64, takes each ray's Jacobian of its grey colour
    w.r.t. the fine RGB head weight with torch.autograd.grad(create_graph=True), runs the
    JacobiNeRF anchor loop on them with the case's affinity matrix and tau state, and
    back-propagates
        total = MSE(coarse) + MSE(fine) + weight_mi * L_MI + weight_norm * L_norm
    through the double backward. Writes the losses, tau after every anchor, the
    Jacobians, and the gradient of every parameter segment (of the total, and of the
    shaping part alone).

tau_trajectory
    Runs only the anchor loop (values, with the adaptive threshold) on a sequence of
    (Jacobians, affinity) batches, carrying tau from batch to batch, and writes each
    anchor's positive count and the tau after it, and each batch's L_MI.

The anchor loop is a line-by-line transcription of the JacobiNeRF reference training
step (its per-anchor Python loops over positives and negatives, cosine similarity with
its 1e-7 denominators, the threshold adapted right after an anchor's positives are
taken), not of the C++ code. The reference has no temperature (it is 1).

usage: shaping_oracle.py CASE.json RESULT.json
"""
import json
import sys

import torch

from semantic_nerf_oracle import Net, composite, sample_pdf

torch.set_default_dtype(torch.float64)


class ThresholdState:
    """The reference keeps its adaptive positive threshold on the trainer object."""

    def __init__(self, shape):
        self.pos_threshold = shape["tau"]
        self.adaptive = shape["tau_adaptive"]
        self.lower = shape["tau_min"]
        self.upper = shape["tau_max"]
        self.step = shape["tau_step"]
        self.ratio_lower = shape["positive_low_fraction"]
        self.ratio_upper = shape["positive_high_fraction"]
        self.absolute = shape["similarity"] == "abs_cosine"


def similarity_term(anchor, sample, state):
    """exp of the (absolute) cosine of two Jacobians, as the reference writes it."""
    if state.absolute:
        return torch.exp(abs(torch.dot(anchor, sample) / (torch.linalg.norm(anchor) * torch.linalg.norm(sample) + 1e-7)))
    return torch.exp(torch.dot(anchor, sample) / (torch.linalg.norm(anchor) * torch.linalg.norm(sample) + 1e-7))


def anchor_loop(jacobians, affinity, state):
    """L_MI over the batch; `state.pos_threshold` is updated in place.

    affinity[index] is the anchor's similarity list (the reference's
    sampled_features @ sample_feature). n_rays is the batch size.
    """
    n_rays = jacobians.shape[0]
    mi_contrastive_loss = torch.tensor(0, dtype=torch.float64)
    anchor_num = 0
    counts, taus = [], []
    for index in range(n_rays):
        sim_list = affinity[index]
        pos_condition = sim_list > state.pos_threshold
        if state.adaptive:
            if pos_condition.sum() < int(state.ratio_lower * n_rays) and state.pos_threshold > state.lower:
                state.pos_threshold -= state.step
            elif pos_condition.sum() > int(state.ratio_upper * n_rays) and state.pos_threshold < state.upper:
                state.pos_threshold += state.step
        counts.append(int(pos_condition.sum()))
        taus.append(state.pos_threshold)
        pos_sim = torch.tensor(0, dtype=torch.float64)
        for pos_sample in jacobians[pos_condition]:
            pos_sim += similarity_term(jacobians[index], pos_sample, state)
        neg_sim = torch.tensor(0, dtype=torch.float64)
        for neg_sample in jacobians[~pos_condition]:
            neg_sim += similarity_term(jacobians[index], neg_sample, state)
        if pos_sim > 0 and neg_sim > 0:
            mi_contrastive_loss -= torch.log(pos_sim / (pos_sim + neg_sim) + 1e-7)
            anchor_num += 1
    if anchor_num > 0:
        mi_contrastive_loss /= anchor_num
    return mi_contrastive_loss, anchor_num, counts, taus


def build_networks(case):
    """The coarse and fine networks with the case's flat parameters, by segment name."""
    nets = {"coarse.": Net(case["spec"]), "fine.": Net(case["spec"])}
    flat = torch.tensor(case["params"])
    params = {}
    for seg in case["layout"]:
        prefix = "coarse." if seg["name"].startswith("coarse.") else "fine."
        p = dict(nets[prefix].named_parameters())[seg["name"][len(prefix):]]
        with torch.no_grad():
            p.copy_(flat[seg["offset"]:seg["offset"] + p.numel()].reshape(p.shape))
        params[seg["name"]] = p
    return nets, params


def render(case, nets):
    """Deterministic coarse-to-fine render: (R x 3 coarse colours, R x 3 fine colours)."""
    sampler = case["sampler"]
    R = case["rays"]
    origins = torch.tensor(case["origins"]).reshape(3, R).T
    dirs = torch.tensor(case["dirs"]).reshape(3, R).T
    background = torch.tensor(sampler["background"]) if sampler["use_background"] else None
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
    return rgb_c, rgb_f


def run_shaping(case):
    R = case["rays"]
    shape = case["shape"]
    nets, params = build_networks(case)
    rgb_c, rgb_f = render(case, nets)
    target = torch.tensor(case["target"]).reshape(3, R).T

    head = nets["fine."].rgb_linear.weight
    jacobians = []
    for feature in rgb_f:
        jacobians.append(torch.autograd.grad(feature.mean(), head, create_graph=True)[0].view(-1))
    jacobians = torch.stack(jacobians, 0)

    gradient_norm = torch.mean(torch.linalg.norm(jacobians, dim=-1))
    gradient_loss = torch.mean((torch.linalg.norm(jacobians, dim=-1) - 1.0) ** 2)

    affinity = torch.tensor(shape["affinity"]).reshape(R, R)
    state = ThresholdState(shape)
    mi, anchor_num, counts, taus = anchor_loop(jacobians, affinity, state)

    mse_c = ((rgb_c - target) ** 2).mean()
    mse_f = ((rgb_f - target) ** 2).mean()
    shaping = shape["weight_mi"] * mi + shape["weight_norm"] * gradient_loss
    total = mse_c + mse_f
    total += shaping

    names = list(params)
    shaping_grads = torch.autograd.grad(shaping, [params[n] for n in names], retain_graph=True, allow_unused=True)
    total.backward()

    def flat(t, p):
        return (t if t is not None else torch.zeros_like(p)).reshape(-1).tolist()

    return {
        "total": total.item(),
        "photometric": (mse_c + mse_f).item(),
        "mi": mi.item(),
        "norm": gradient_loss.item(),
        "mean_jacobian_norm": gradient_norm.item(),
        "counted": anchor_num,
        "counts": counts,
        "taus": taus,
        "tau_after": state.pos_threshold,
        "rgb_fine": rgb_f.T.reshape(-1).tolist(),
        "jacobians": jacobians.detach().reshape(-1).tolist(),
        "grads": {n: flat(params[n].grad, params[n]) for n in names},
        "shaping_grads": {n: flat(g, params[n]) for n, g in zip(names, shaping_grads)},
    }


def run_tau_trajectory(case):
    state = ThresholdState(case["shape"])
    batches = []
    with torch.no_grad():
        for batch in case["batches"]:
            B, D = batch["B"], batch["D"]
            jacobians = torch.tensor(batch["jacobians"]).reshape(B, D)
            affinity = torch.tensor(batch["affinity"]).reshape(B, B)
            tau_before = state.pos_threshold
            mi, anchor_num, counts, taus = anchor_loop(jacobians, affinity, state)
            batches.append({"tau_before": tau_before, "tau_after": state.pos_threshold, "mi": mi.item(),
                            "counted": anchor_num, "counts": counts, "taus": taus})
    return {"batches": batches}


def main(case_path, result_path):
    case = json.load(open(case_path))
    if case["mode"] == "shaping":
        result = run_shaping(case)
    elif case["mode"] == "tau_trajectory":
        result = run_tau_trajectory(case)
    else:
        raise SystemExit("unknown mode " + repr(case["mode"]))
    json.dump(result, open(result_path, "w"))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
