#!/usr/bin/python3
"""Pixel agreement between the label maps of two `jnerf propagate` outputs.

Compares `<method>/labels_<view>.png` of every test view present in both folders (the
same clicks and views, e.g. one run with propagate.mode=perturb2d and one with linear2d) and
prints the fraction of pixels with the same label, per view and over all of them.

    /usr/bin/python3 scripts/label_agreement.py OUT_A OUT_B [--method shaped] [--json FILE]

Exit status: 0 on success, 2 on bad input (missing folders, no common views, different
image sizes). Needs numpy and matplotlib (Debian's python3-numpy, python3-matplotlib).
"""
import argparse
import json
import pathlib
import re
import sys

import numpy as np
from matplotlib import image as mpimg


class BadInput(Exception):
    pass


def label_maps(folder, method):
    """View id -> path of <folder>/<method>/labels_<id>.png."""
    d = pathlib.Path(folder) / method
    if not d.is_dir():
        raise BadInput(f"{d} is not a folder (is {folder} a jnerf propagate output with method '{method}'?)")
    maps = {}
    for f in d.glob("labels_*.png"):
        m = re.fullmatch(r"labels_(.+)\.png", f.name)
        if m:
            maps[m.group(1)] = f
    return maps


def read_labels(path):
    # matplotlib gives 16-bit PNGs as floats in [0, 1]; equality of labels is all we need,
    # so the raw values are compared as read.
    return np.asarray(mpimg.imread(str(path)))


def view_key(view):
    return (0, int(view)) if view.isdigit() else (1, view)


def agreement(folder_a, folder_b, method):
    a, b = label_maps(folder_a, method), label_maps(folder_b, method)
    common = sorted(set(a) & set(b), key=view_key)
    if not common:
        raise BadInput(f"no view has labels in both {folder_a} and {folder_b} (method '{method}')")
    views, same, total = [], 0, 0
    for v in common:
        la, lb = read_labels(a[v]), read_labels(b[v])
        if la.shape != lb.shape:
            raise BadInput(f"view {v}: label maps of different sizes {la.shape} and {lb.shape}")
        s, n = int(np.count_nonzero(la == lb)), int(la.size)
        views.append({"view": v, "pixels": n, "agreeing": s, "agreement": s / n})
        same += s
        total += n
    return {"method": method, "a": str(folder_a), "b": str(folder_b), "views": views, "pixels": total,
            "agreeing": same, "agreement": same / total}


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("a", help="first jnerf propagate output folder")
    p.add_argument("b", help="second jnerf propagate output folder")
    p.add_argument("--method", default="shaped", help="method subfolder to compare (default: shaped)")
    p.add_argument("--json", help="also write the result to this JSON file")
    args = p.parse_args(argv)
    try:
        r = agreement(args.a, args.b, args.method)
    except BadInput as e:
        print(f"label_agreement: {e}", file=sys.stderr)
        return 2
    for v in r["views"]:
        print(f"view {v['view']}: {100 * v['agreement']:.2f}% of {v['pixels']} pixels")
    print(f"all {len(r['views'])} views: {100 * r['agreement']:.2f}% of {r['pixels']} pixels agree")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(r, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
