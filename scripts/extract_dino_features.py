#!/usr/bin/python3
"""Per-frame DINO ViT descriptors for jnerf's `file` feature prior.

Writes one <out>/<image stem>.npy per frame: float16, shape H' x W' x D, the "key" facet
of the last block of dino_vits8 with the patch-embedding stride lowered from 8 to 4 (the
dino-vit-features settings the JacobiNeRF reference uses). Images are resized so their
short side is --load-size (360) with Lanczos resampling, then normalised with the ImageNet
mean / std; H' = (H_resized - 8) // 4 + 1 and W' likewise, so a 320 x 240 frame
(480 x 360 after resizing) gives an 89 x 119 x 384 grid. See docs/FEATURE_PRIORS.md.

Model sources (downloads may be impossible, so local files come first):
  --weights FILE             DINO ViT-S/8 state dict (dino_deitsmall8_pretrain.pth); the
                             network is built here with DINO's parameter names
  --hub-dir DIR [--weights]  a local clone of facebookresearch/dino, built via torch.hub
  (neither)                  torch.hub.load('facebookresearch/dino:main', ...): the hub
                             cache or the network
  --tiny-random              a tiny randomly initialised ViT (patch 8, stride 4, dim 16,
                             2 blocks, 2 heads, seeded) through the same extraction code,
                             for offline tests of the output format

Inputs: --images FOLDER (*.png, *.jpg) or --data DATASET_ROOT with a Replica layout
(rgb/rgb_<n>.png). Without Pillow, PNGs (8-bit grey / RGB / RGBA, non-interlaced) are
read and Lanczos-resized by code here that follows Pillow's fixed-point resampler.

Exit status: 0 success, 2 bad input or a missing dependency (the message says which),
1 any other failure. Run it with Debian's /usr/bin/python3 (python3-torch, python3-numpy).
"""
import argparse
import math
import os
import re
import struct
import sys
import zlib

import numpy as np

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class UsageError(Exception):
    """Bad input or a missing dependency: exit status 2."""


# ---- images --------------------------------------------------------------------------------

def _have_pil():
    try:
        import PIL.Image  # noqa: F401
        return True
    except ImportError:
        return False


def _paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def read_png(path):
    """8-bit PNG (grey, grey+alpha, RGB, RGBA; not interlaced) -> H x W x C uint8."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise UsageError(f"{path}: not a PNG file")
    pos, ihdr, idat = 8, None, []
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    if ihdr is None:
        raise UsageError(f"{path}: PNG without IHDR")
    width, height, depth, colour, _, _, interlace = ihdr
    channels = {0: 1, 2: 3, 4: 2, 6: 4}.get(colour)
    if depth != 8 or channels is None or interlace != 0:
        raise UsageError(f"{path}: only 8-bit grey/RGB/RGBA non-interlaced PNGs can be read "
                         f"without Pillow (bit depth {depth}, colour type {colour}, interlace {interlace}); "
                         "install python3-pil")
    try:
        raw = zlib.decompress(b"".join(idat))
    except zlib.error as e:
        raise UsageError(f"{path}: corrupt PNG data ({e})")
    stride = width * channels
    if len(raw) < height * (stride + 1):
        raise UsageError(f"{path}: truncated PNG data")
    out = np.zeros((height, stride), dtype=np.uint8)
    prev = np.zeros(stride, dtype=np.int32)
    for y in range(height):
        ftype = raw[y * (stride + 1)]
        line = np.frombuffer(raw, dtype=np.uint8, count=stride, offset=y * (stride + 1) + 1).astype(np.int32)
        if ftype == 0:
            cur = line
        elif ftype == 2:
            cur = (line + prev) & 0xFF
        elif ftype == 1:
            # Sub: a running sum per channel
            cur = (np.cumsum(line.reshape(width, channels), axis=0) & 0xFF).reshape(stride).astype(np.int32)
        elif ftype in (3, 4):
            cur_l = line.tolist()
            up = prev.tolist()
            for i in range(stride):
                a = cur_l[i - channels] if i >= channels else 0
                if ftype == 3:
                    cur_l[i] = (cur_l[i] + ((a + up[i]) >> 1)) & 0xFF
                else:
                    c = up[i - channels] if i >= channels else 0
                    cur_l[i] = (cur_l[i] + _paeth(a, up[i], c)) & 0xFF
            cur = np.array(cur_l, dtype=np.int32)
        else:
            raise UsageError(f"{path}: bad PNG filter type {ftype}")
        out[y] = cur
        prev = cur
    return out.reshape(height, width, channels)


def load_rgb(path):
    """The image as H x W x 3 uint8, as PIL's Image.open(path).convert('RGB') gives it."""
    if _have_pil():
        from PIL import Image
        try:
            with Image.open(path) as im:
                return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()
        except OSError as e:
            raise UsageError(f"{path}: cannot read the image ({e})")
    if not path.lower().endswith(".png"):
        raise UsageError(f"{path}: reading this image needs Pillow (apt-get install python3-pil); "
                         "without it only PNGs can be read")
    img = read_png(path)
    if img.shape[2] in (1, 2):
        img = np.repeat(img[:, :, :1], 3, axis=2)
    return np.ascontiguousarray(img[:, :, :3])


def resized_size(width, height, short_side):
    """torchvision's Resize(int) rule: the short side becomes `short_side`, the long side
    short_side * long / short truncated."""
    if width <= height:
        return short_side, int(short_side * height / width)
    return int(short_side * width / height), short_side


def _lanczos(x):
    def sinc(v):
        if v == 0.0:
            return 1.0
        v = v * math.pi
        return math.sin(v) / v
    return sinc(x) * sinc(x / 3) if -3.0 <= x < 3.0 else 0.0


_PRECISION_BITS = 32 - 8 - 2


def _pil_coeffs(in_size, out_size):
    """Pillow's precompute_coeffs + normalize_coeffs_8bpc for the Lanczos filter:
    (first source index, fixed-point weights) per output index."""
    scale = float(in_size) / out_size
    filterscale = max(scale, 1.0)
    support = 3.0 * filterscale
    ksize = int(math.ceil(support)) * 2 + 1
    index = np.zeros((out_size, ksize), dtype=np.int64)
    weight = np.zeros((out_size, ksize), dtype=np.int64)
    for xx in range(out_size):
        center = (xx + 0.5) * scale
        ss = 1.0 / filterscale
        xmin = max(int(center - support + 0.5), 0)
        xmax = min(int(center + support + 0.5), in_size) - xmin
        w = [_lanczos((x + xmin - center + 0.5) * ss) for x in range(xmax)]
        ww = 0.0
        for v in w:
            ww += v
        if ww != 0.0:
            w = [v / ww for v in w]
        for x, v in enumerate(w):
            index[xx, x] = xmin + x
            weight[xx, x] = int(-0.5 + v * (1 << _PRECISION_BITS)) if v < 0 else int(0.5 + v * (1 << _PRECISION_BITS))
        index[xx, xmax:] = xmin
    return index, weight


def _resample_axis(img, out_size, axis):
    index, weight = _pil_coeffs(img.shape[axis], out_size)
    src = np.moveaxis(img.astype(np.int64), axis, 0)            # n x ... x C
    acc = np.full((out_size,) + src.shape[1:], 1 << (_PRECISION_BITS - 1), dtype=np.int64)
    for k in range(index.shape[1]):
        acc += src[index[:, k]] * weight[:, k].reshape((-1,) + (1,) * (src.ndim - 1))
    out = np.clip(acc >> _PRECISION_BITS, 0, 255).astype(np.uint8)
    return np.moveaxis(out, 0, axis)


def lanczos_resize(img, width, height):
    """H x W x 3 uint8 -> height x width x 3 uint8 as PIL's Image.resize(..., LANCZOS)
    computes it (horizontal pass, 8-bit intermediate, vertical pass)."""
    if _have_pil():
        from PIL import Image
        lanczos = getattr(Image, "Resampling", Image).LANCZOS
        return np.asarray(Image.fromarray(img).resize((width, height), lanczos), dtype=np.uint8).copy()
    out = img
    if width != img.shape[1]:
        out = _resample_axis(out, width, 1)
    if height != img.shape[0]:
        out = _resample_axis(out, height, 0)
    return out


def preprocess(path, load_size):
    """1 x 3 x H x W float32 tensor input, as dino-vit-features' ViTExtractor.preprocess."""
    import torch
    img = load_rgb(path)
    if load_size > 0:
        w, h = resized_size(img.shape[1], img.shape[0], load_size)
        img = lanczos_resize(img, w, h)
    x = torch.from_numpy(img.astype(np.float32) / np.float32(255.0)).permute(2, 0, 1)
    mean = torch.tensor(IMAGENET_MEAN, dtype=torch.float32).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD, dtype=torch.float32).view(3, 1, 1)
    return ((x - mean) / std).unsqueeze(0).contiguous()


# ---- the network ---------------------------------------------------------------------------

def build_vit(patch, dim, depth, heads, positions_side, mlp_ratio=4):
    """A ViT with DINO's module and parameter names (patch_embed.proj, cls_token, pos_embed,
    blocks[i].{norm1, attn.qkv, attn.proj, norm2, mlp.fc1, mlp.fc2}, norm)."""
    import torch
    from torch import nn

    class PatchEmbed(nn.Module):
        def __init__(self):
            super().__init__()
            self.patch_size = patch
            self.proj = nn.Conv2d(3, dim, kernel_size=patch, stride=patch)

    class Attention(nn.Module):
        def __init__(self):
            super().__init__()
            self.num_heads = heads
            self.scale = (dim // heads) ** -0.5
            self.qkv = nn.Linear(dim, dim * 3, bias=True)
            self.proj = nn.Linear(dim, dim)

    class Mlp(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(dim, dim * mlp_ratio)
            self.act = nn.GELU()
            self.fc2 = nn.Linear(dim * mlp_ratio, dim)

        def forward(self, x):
            return self.fc2(self.act(self.fc1(x)))

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.norm1 = nn.LayerNorm(dim, eps=1e-6)
            self.attn = Attention()
            self.norm2 = nn.LayerNorm(dim, eps=1e-6)
            self.mlp = Mlp()

    class ViT(nn.Module):
        def __init__(self):
            super().__init__()
            self.patch_embed = PatchEmbed()
            self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
            self.pos_embed = nn.Parameter(torch.zeros(1, positions_side * positions_side + 1, dim))
            self.blocks = nn.ModuleList([Block() for _ in range(depth)])
            self.norm = nn.LayerNorm(dim, eps=1e-6)

    return ViT()


def tiny_random_vit(seed):
    """Patch 8, dim 16, 2 blocks, 2 heads, a 4 x 4 positional grid; weights from `seed`."""
    import torch
    model = build_vit(patch=8, dim=16, depth=2, heads=2, positions_side=4)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias") and "norm" in name:
                p.zero_()
            elif "norm" in name:
                p.fill_(1.0)
            else:
                p.copy_(torch.randn(p.shape, generator=gen) * (0.02 if name.endswith("bias") else 0.3))
    return model.eval()


def _clean_state_dict(sd):
    if isinstance(sd, dict):
        for key in ("teacher", "student", "model", "state_dict"):
            if key in sd and isinstance(sd[key], dict):
                sd = sd[key]
                break
    out = {}
    for k, v in sd.items():
        for prefix in ("module.", "backbone."):
            if k.startswith(prefix):
                k = k[len(prefix):]
        if k.startswith("head."):
            continue
        out[k] = v
    return out


def load_weights(model, path):
    import torch
    if not os.path.isfile(path):
        raise UsageError(f"weights file not found: {path}")
    try:
        sd = torch.load(path, map_location="cpu")
    except Exception as e:  # noqa: BLE001 - any unreadable checkpoint is bad input
        raise UsageError(f"{path}: cannot read the weights ({e})")
    missing, unexpected = model.load_state_dict(_clean_state_dict(sd), strict=False)
    if missing or unexpected:
        raise UsageError(f"{path}: weights do not fit a ViT-S/8 (missing {list(missing)[:5]}, "
                         f"unexpected {list(unexpected)[:5]})")


def dino_vits8(hub_dir, weights):
    import torch
    if weights and not hub_dir:
        model = build_vit(patch=8, dim=384, depth=12, heads=6, positions_side=28)
        load_weights(model, weights)
        return model.eval()
    hub = getattr(torch, "hub", None)
    if hub is None:
        raise UsageError("torch.hub is not available in this torch; pass --weights FILE "
                         "(dino_deitsmall8_pretrain.pth) to build the network locally")
    try:
        if hub_dir:
            if not os.path.isdir(hub_dir):
                raise UsageError(f"--hub-dir {hub_dir}: not a folder (a clone of facebookresearch/dino)")
            model = hub.load(hub_dir, "dino_vits8", source="local", pretrained=weights is None)
        else:
            model = hub.load("facebookresearch/dino:main", "dino_vits8")
    except UsageError:
        raise
    except Exception as e:  # noqa: BLE001 - no network, no cache, a broken clone
        raise UsageError("cannot load dino_vits8 through torch.hub "
                         f"({type(e).__name__}: {e}); give --weights FILE (and optionally --hub-dir DIR) "
                         "with local copies")
    if weights:
        load_weights(model, weights)
    return model.eval()


# ---- extraction ----------------------------------------------------------------------------

def _interpolate_pos(model, rows, cols, patch):
    """dino-vit-features' positional-embedding interpolation for a rows x cols token grid."""
    import torch
    from torch.nn import functional as F
    pos = model.pos_embed
    n = pos.shape[1] - 1
    if rows * cols == n and rows == cols:
        return pos
    side = int(math.sqrt(n))
    dim = pos.shape[-1]
    grid = pos[:, 1:].reshape(1, side, side, dim).permute(0, 3, 1, 2)
    # +0.1 avoids floating-point error in the interpolation (as DINO does)
    grid = F.interpolate(grid, scale_factor=((rows + 0.1) / side, (cols + 0.1) / side), mode="bicubic",
                         align_corners=False, recompute_scale_factor=False)
    assert grid.shape[-2] == rows and grid.shape[-1] == cols
    grid = grid.permute(0, 2, 3, 1).reshape(1, rows * cols, dim)
    return torch.cat((pos[:, :1], grid), dim=1)


def _attention(attn, h, chunk=1024):
    """Multi-head self-attention of DINO's Attention module, queries in chunks (the token
    count at stride 4 makes the full attention matrix large)."""
    import torch
    b, t, c = h.shape
    heads = attn.num_heads
    qkv = attn.qkv(h).reshape(b, t, 3, heads, c // heads).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]
    scale = getattr(attn, "scale", (c // heads) ** -0.5)
    out = torch.empty_like(q)
    kt = k.transpose(-2, -1)
    for s in range(0, t, chunk):
        a = (q[:, :, s:s + chunk] @ kt) * scale
        out[:, :, s:s + chunk] = a.softmax(dim=-1) @ v
    return attn.proj(out.transpose(1, 2).reshape(b, t, c))


def key_descriptors(model, image, stride, layer):
    """The `key` facet of block `layer` for a 1 x 3 x H x W image, without the CLS token:
    H' x W' x D, each descriptor the heads' keys interleaved as dino-vit-features orders
    them (index = channel * heads + head)."""
    import torch
    from torch.nn import functional as F
    conv = model.patch_embed.proj
    patch = conv.kernel_size[0]
    if patch % stride != 0:
        raise UsageError(f"--stride {stride} must divide the patch size {patch}")
    if layer < 0:
        layer += len(model.blocks)
    if not 0 <= layer < len(model.blocks):
        raise UsageError(f"--layer {layer}: the network has {len(model.blocks)} blocks")
    _, _, height, width = image.shape
    if height < patch or width < patch:
        raise UsageError(f"image of {width}x{height} is smaller than one {patch}x{patch} patch")
    with torch.no_grad():
        x = F.conv2d(image, conv.weight, conv.bias, stride=stride)   # 1 x C x H' x W'
        _, dim, rows, cols = x.shape
        x = x.flatten(2).transpose(1, 2)
        x = torch.cat((model.cls_token.expand(x.shape[0], -1, -1), x), dim=1)
        x = x + _interpolate_pos(model, rows, cols, patch)
        for i, blk in enumerate(model.blocks):
            h = blk.norm1(x)
            if i == layer:
                b, t, c = h.shape
                heads = blk.attn.num_heads
                qkv = blk.attn.qkv(h).reshape(b, t, 3, heads, c // heads).permute(2, 0, 3, 1, 4)
                keys = qkv[1][:, :, 1:, :]                         # 1 x heads x (t-1) x d
                desc = keys.permute(0, 2, 3, 1).flatten(start_dim=-2)  # 1 x (t-1) x (d * heads)
                return desc.reshape(rows, cols, dim)
            x = x + _attention(blk.attn, h)
            x = x + blk.mlp(blk.norm2(x))
    raise AssertionError("unreachable")


# ---- frames --------------------------------------------------------------------------------

def _natural_key(name):
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name)]


def list_frames(args):
    if args.images:
        if not os.path.isdir(args.images):
            raise UsageError(f"--images {args.images}: not a folder")
        names = [n for n in os.listdir(args.images) if n.lower().endswith((".png", ".jpg", ".jpeg"))]
        files = [os.path.join(args.images, n) for n in sorted(names, key=_natural_key)]
        where = args.images
    else:
        rgb = os.path.join(args.data, "rgb")
        if not os.path.isdir(rgb):
            raise UsageError(f"--data {args.data}: no rgb/ folder (Replica layout rgb/rgb_<n>.png)")
        names = [n for n in os.listdir(rgb) if re.fullmatch(r"rgb_\d+\.png", n)]
        files = [os.path.join(rgb, n) for n in sorted(names, key=_natural_key)]
        where = rgb
    if not files:
        raise UsageError(f"no images found in {where}")
    return files


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--images", help="folder of *.png / *.jpg frames")
    src.add_argument("--data", help="dataset root with a Replica layout (rgb/rgb_<n>.png)")
    ap.add_argument("--out", required=True, help="output folder for <stem>.npy")
    ap.add_argument("--hub-dir", help="local clone of facebookresearch/dino for torch.hub (source='local')")
    ap.add_argument("--weights", help="local dino_vits8 weights (dino_deitsmall8_pretrain.pth)")
    ap.add_argument("--tiny-random", action="store_true", help="tiny random ViT for offline format tests")
    ap.add_argument("--seed", type=int, default=0, help="weights seed for --tiny-random (default 0)")
    ap.add_argument("--load-size", type=int, default=360, help="short side after resizing (default 360; 0 keeps the size)")
    ap.add_argument("--stride", type=int, default=4, help="patch-embedding stride (default 4)")
    ap.add_argument("--layer", type=int, default=-1, help="block whose keys are taken (default -1: the last, 11 for ViT-S/8)")
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    args = ap.parse_args(argv)

    try:
        try:
            import torch
        except ImportError:
            raise UsageError(f"{sys.executable} cannot import torch (apt-get install python3-torch)")
        if args.tiny_random and (args.hub_dir or args.weights):
            raise UsageError("--tiny-random takes no --hub-dir / --weights")
        if args.load_size < 0 or args.stride <= 0:
            raise UsageError("--load-size must be >= 0 and --stride > 0")
        frames = list_frames(args)
        device = args.device
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        elif device == "cuda" and not torch.cuda.is_available():
            raise UsageError("--device cuda: no usable GPU")
        model = tiny_random_vit(args.seed) if args.tiny_random else dino_vits8(args.hub_dir, args.weights)
        model = model.to(device)
        os.makedirs(args.out, exist_ok=True)
        for path in frames:
            image = preprocess(path, args.load_size).to(device)
            desc = key_descriptors(model, image, args.stride, args.layer).float().cpu().numpy()
            half = desc.astype(np.float16)
            if not np.isfinite(half).all():
                raise RuntimeError(f"{path}: descriptors are not finite in float16")
            stem = os.path.splitext(os.path.basename(path))[0]
            target = os.path.join(args.out, stem + ".npy")
            np.save(target, half)
            print(f"{target} {half.shape[0]}x{half.shape[1]}x{half.shape[2]}", flush=True)
    except UsageError as e:
        print(f"extract_dino_features: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
