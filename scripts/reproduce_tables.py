#!/usr/bin/python3
"""Reproduces the label-propagation tables of JacobiNeRF with the jnerf program.

For every scene of a suite (by default the generated rooms room0_small, room1_small and
room2_small; real Replica / ScanNet folders with --scene NAME=PATH[:FORMAT]) it trains a
NeRF once (stage nerf), shapes it once (stage shape), then propagates labels for every
combination of annotation setting (sparse clicks per class, regions, dense), response mode
and label kind, and writes

    OUT/tables/results.md          one table per setting (scenes x methods) and a summary
    OUT/tables/results.csv         one row per scene / setting / method, every number
    OUT/tables/miou_vs_clicks.png  mIoU against clicks per class, mean over scenes
    OUT/tables/runs.json           every command run, its exit status and duration

Stages whose results already exist are skipped, so an interrupted run resumes where it
stopped. Exit status: 0 when everything ran, 1 when a jnerf command failed (the others
still run), 2 for bad input (missing jnerf binary, scene folder, config, bad option).

    scripts/reproduce_tables.py --out runs/tables
    scripts/reproduce_tables.py --quick --out /tmp/tables_quick
    scripts/reproduce_tables.py --scenes none --scene room0=data/replica/room_0/Sequence_1:replica
"""
import argparse
import csv
import json
import math
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ROOMS = ["room0_small", "room1_small", "room2_small"]
ROOM_CONFIG = "configs/room0_small_cpu.json"
REAL_CONFIG = "configs/replica_room0_nerf.json"
MODES = ("perturb2d", "linear2d", "first_order2d", "perturb3d", "linear3d", "cosine2d")
LABEL_KINDS = ("semantic", "instance")
ANNOTATIONS = ("sparse", "regions", "dense")
BASELINES = ("unshaped", "nearest_click", "semantic_nerf")
# Baselines whose labels do not depend on the response mode.
MODE_FREE = ("nearest_click", "semantic_nerf")
REAL_FORMATS = ("replica", "scannet", "auto")
METRICS = ("miou", "miou_valid", "acc_total", "acc_class")
METRIC_TITLES = ("mIoU", "mIoU (valid)", "total acc.", "class acc.")
# --quick: a tiny model on tiny renders, for tests and smoke checks.
QUICK_SIZE = {"width": 48, "height": 36, "frames": 24}
QUICK_ITERS = {"nerf": 20, "shape": 10}
QUICK_MAX_VIEWS = 4
QUICK_TRAIN_SETS = [
    "model.hash_grid.levels=8", "model.hash_grid.log2_table_size=14", "model.hash_grid.max_resolution=128",
    "sampler.coarse_samples=16", "sampler.fine_samples=16", "train.rays_per_batch=256",
    "train.val_every=0", "train.log_every=10", "shape.rays_per_batch=32", "shape.log_every=5",
]
CSV_COLUMNS = [
    "scene", "setting", "annotation", "clicks_per_class", "region_fraction", "mode", "labels", "seed", "method",
    "miou", "miou_valid", "acc_total", "acc_class", "seconds", "views", "clicks", "status", "metrics_json",
]


class InputProblem(Exception):
    """Bad input: reported with exit status 2."""


# ----------------------------------------------------------------------------- the plan

@dataclass
class Scene:
    name: str
    kind: str  # "generated" or "real"
    path: Path
    config: Path
    data_format: str
    preset: str = ""


@dataclass(frozen=True)
class Setting:
    annotation: str
    clicks: int = 0
    fraction: float = 0.0

    @property
    def key(self) -> str:
        if self.annotation == "sparse":
            return "sparse-%d" % self.clicks
        if self.annotation == "regions":
            return "regions-%g%%" % (100 * self.fraction)
        return "dense"

    @property
    def folder(self) -> str:
        if self.annotation == "sparse":
            return "sparse_%d" % self.clicks
        if self.annotation == "regions":
            return "regions_%g" % self.fraction
        return "dense"

    @property
    def title(self) -> str:
        if self.annotation == "sparse":
            return "sparse, %d click%s per class" % (self.clicks, "" if self.clicks == 1 else "s")
        if self.annotation == "regions":
            return "regions, %g%% of each class" % (100 * self.fraction)
        return "dense"

    def propagate_sets(self) -> List[str]:
        sets = ["propagate.annotation=" + self.annotation]
        if self.annotation == "sparse":
            sets.append("propagate.clicks_per_class=%d" % self.clicks)
        if self.annotation == "regions":
            sets.append("propagate.region_fraction=%r" % self.fraction)
        return sets


@dataclass(frozen=True)
class Combo:
    setting: Setting
    mode: str
    labels: str
    baselines: Tuple[str, ...]
    seed: int = 0  # of the simulated clicks (propagate.seed)

    @property
    def key(self) -> str:
        return "%s/%s/%s/seed%d" % (self.setting.key, self.mode, self.labels, self.seed)

    @property
    def folder(self) -> str:
        """The setting's folder; seeds other than 0 get their own (seed 0 keeps the plain name)."""
        return self.setting.folder + ("_seed%d" % self.seed if self.seed else "")

    @property
    def group(self) -> Tuple[str, str, str]:
        """What the summary averages over scenes and seeds."""
        return (self.setting.key, self.mode, self.labels)


@dataclass
class Record:
    scene: str
    stage: str
    detail: str
    cmd: List[str]
    status: str = "planned"  # ok, failed, n/a, skipped, reused, planned
    rc: Optional[int] = None
    seconds: float = 0.0
    note: str = ""
    stdout_log: str = ""
    stderr_log: str = ""
    stderr_tail: str = ""

    def to_json(self) -> dict:
        j = {"scene": self.scene, "stage": self.stage, "detail": self.detail, "command": shell_line(self.cmd),
             "argv": self.cmd, "status": self.status, "rc": self.rc, "seconds": round(self.seconds, 3)}
        for k in ("note", "stdout_log", "stderr_log", "stderr_tail"):
            if getattr(self, k):
                j[k] = getattr(self, k)
        return j


def shell_line(cmd: List[str]) -> str:
    return " ".join(shlex.quote(c) for c in cmd)


def parse_list(text: str, allowed: Tuple[str, ...], option: str) -> List[str]:
    items = [t.strip() for t in text.split(",") if t.strip()]
    if text.strip().lower() == "none":
        return []
    for t in items:
        if t not in allowed:
            raise InputProblem("%s: unknown value '%s' (expected %s)" % (option, t, ", ".join(allowed)))
    if not items:
        raise InputProblem("%s: empty list" % option)
    return list(dict.fromkeys(items))


def parse_numbers(text: str, kind, option: str, low: float, high: float) -> list:
    out = []
    for t in [t.strip() for t in text.split(",") if t.strip()]:
        try:
            v = kind(t)
        except ValueError:
            raise InputProblem("%s: '%s' is not a number" % (option, t))
        if not (low <= v <= high):
            raise InputProblem("%s: %s is outside [%g, %g]" % (option, t, low, high))
        out.append(v)
    if not out:
        raise InputProblem("%s: empty list" % option)
    return sorted(set(out))


def parse_real_scene(spec: str, config: Path) -> Scene:
    if "=" not in spec:
        raise InputProblem("--scene %s: expected NAME=PATH[:FORMAT]" % spec)
    name, rest = spec.split("=", 1)
    name = name.strip()
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
        raise InputProblem("--scene %s: the name '%s' must be letters, digits, '_', '-' or '.'" % (spec, name))
    data_format = "auto"
    head, sep, tail = rest.rpartition(":")
    if sep and tail in REAL_FORMATS:
        rest, data_format = head, tail
    elif sep and tail and not os.path.exists(rest):
        raise InputProblem("--scene %s: unknown format '%s' (expected %s)" % (spec, tail, ", ".join(REAL_FORMATS)))
    path = Path(rest).expanduser()
    if not path.is_dir():
        raise InputProblem("--scene %s: the dataset folder %s does not exist" % (spec, path))
    return Scene(name, "real", path.resolve(), config, data_format)


def preset_sizes(jnerf: Path) -> Dict[str, Tuple[int, int, int]]:
    """The presets `jnerf synth --list` knows, with their default width, height and frames."""
    proc = subprocess.run([str(jnerf), "synth", "--list"], capture_output=True, text=True)
    if proc.returncode != 0:
        raise InputProblem("%s synth --list failed (exit %d): %s" % (jnerf, proc.returncode, proc.stderr.strip()))
    sizes = {}
    for line in proc.stdout.splitlines():
        m = re.match(r"^(\S+)\s+(\d+)x(\d+), (\d+) frames", line)
        if m:
            sizes[m.group(1)] = (int(m.group(2)), int(m.group(3)), int(m.group(4)))
    return sizes


def build_combos(args) -> List[Combo]:
    settings: List[Setting] = []
    for annotation in args.annotations:
        if annotation == "sparse":
            settings += [Setting("sparse", clicks=n) for n in args.clicks]
        elif annotation == "regions":
            settings += [Setting("regions", fraction=f) for f in args.regions]
        else:
            settings.append(Setting("dense"))
    combos = []
    for labels in args.labels:
        for mode in args.modes:
            for i, setting in enumerate(settings):
                first = i == 0 and labels == args.labels[0]
                wanted = args.baselines_in == "all" or (args.baselines_in == "first" and first)
                for seed in args.seeds:
                    combos.append(Combo(setting, mode, labels, tuple(args.baselines) if wanted else (), seed))
    return combos


# ----------------------------------------------------------------------------- running

class Runner:
    def __init__(self, args, jnerf: Path, out: Path):
        self.args = args
        self.jnerf = jnerf
        self.out = out
        self.dry = args.dry_run
        self.records: List[Record] = []
        self.started = time.strftime("%Y-%m-%dT%H:%M:%S")
        self.runs_json = out / "tables" / "runs.json"
        # Commands of earlier invocations into the same folder (an interrupted or resumed
        # suite) are kept under "earlier".
        self.earlier = []
        old = None if self.dry else read_json(self.runs_json)
        if isinstance(old, dict):
            self.earlier = list(old.get("earlier") or [])
            ran = [c for c in old.get("commands") or [] if c.get("rc") is not None]
            if ran:
                self.earlier.append({"started": old.get("started"), "commands": ran})

    def global_options(self) -> List[str]:
        opts = []
        if self.args.device:
            opts += ["--device", self.args.device]
        if self.args.threads:
            opts += ["--threads", str(self.args.threads)]
        return opts

    def jnerf_cmd(self, *parts: str) -> List[str]:
        return [str(self.jnerf)] + self.global_options() + list(parts)

    def skip(self, scene: str, stage: str, detail: str, cmd: List[str], note: str, status: str = "skipped") -> Record:
        r = Record(scene, stage, detail, cmd, status=status, note=note)
        self.records.append(r)
        print("  skip  %-10s %s (%s)" % (stage, detail, note), flush=True)
        return r

    def run(self, scene: str, stage: str, detail: str, cmd: List[str], log_name: str,
            not_available_ok: bool = False) -> Record:
        r = Record(scene, stage, detail, cmd)
        self.records.append(r)
        if self.dry:
            print(shell_line(cmd), flush=True)
            return r
        log_dir = self.out / "logs" / scene
        log_dir.mkdir(parents=True, exist_ok=True)
        out_path, err_path = log_dir / (log_name + ".out"), log_dir / (log_name + ".err")
        r.stdout_log, r.stderr_log = str(out_path), str(err_path)
        print("  run   %-10s %s ..." % (stage, detail), end="", flush=True)
        t0 = time.monotonic()
        with open(out_path, "w") as fo, open(err_path, "w") as fe:
            try:
                r.rc = subprocess.run(cmd, stdout=fo, stderr=fe, cwd=str(ROOT)).returncode
            except OSError as e:
                fe.write("cannot run %s: %s\n" % (cmd[0], e))
                r.rc = 127
        r.seconds = time.monotonic() - t0
        err_text = err_path.read_text(errors="replace")
        both = err_text + out_path.read_text(errors="replace")
        if r.rc == 0:
            r.status = "ok"
        elif not_available_ok and r.rc == 2 and "not available" in both:
            r.status = "n/a"
            r.note = "not available in this version of jnerf"
        else:
            r.status = "failed"
            r.stderr_tail = "\n".join(err_text.strip().splitlines()[-15:])
        print(" %s (%.1f s)" % (r.status, r.seconds), flush=True)
        if r.status == "failed":
            print("  jnerf exited with status %d: %s\n  stderr (last lines, full log %s):" % (r.rc, shell_line(cmd), err_path),
                  file=sys.stderr)
            for line in (r.stderr_tail or "(empty)").splitlines():
                print("    " + line, file=sys.stderr)
        self.write_runs_json()
        return r

    def failures(self) -> int:
        return sum(1 for r in self.records if r.status == "failed")

    def write_runs_json(self, finished: bool = False) -> None:
        if self.dry:
            return
        self.runs_json.parent.mkdir(parents=True, exist_ok=True)
        doc = {"started": self.started, "finished": time.strftime("%Y-%m-%dT%H:%M:%S") if finished else None,
               "argv": sys.argv, "jnerf": str(self.jnerf), "out": str(self.out), "failed": self.failures(),
               "commands": [r.to_json() for r in self.records], "earlier": self.earlier}
        tmp = self.runs_json.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(doc, indent=2) + "\n")
        tmp.replace(self.runs_json)


def checkpoint_step(run: Path, stage: str) -> int:
    """The newest checkpoint's step of a stage in a run folder, -1 when there is none."""
    best = -1
    folder = run / "checkpoints"
    if folder.is_dir():
        for f in folder.iterdir():
            m = re.fullmatch(re.escape(stage) + r"_(\d+)\.ckpt", f.name)
            if m:
                best = max(best, int(m.group(1)))
    return best


def read_json(path: Path) -> Optional[dict]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def move_aside(path: Path, out: Path, why: str) -> None:
    """Moves a stale result folder under OUT/stale/ (never deletes)."""
    if not path.exists():
        return
    target_root = out / "stale"
    target_root.mkdir(parents=True, exist_ok=True)
    n = 0
    while (target_root / ("%s.%d" % (path.name, n))).exists():
        n += 1
    target = target_root / ("%s.%d" % (path.name, n))
    shutil.move(str(path), str(target))
    print("  note  %s is stale (%s): moved to %s" % (path, why, target), flush=True)


def scene_size_wanted(args, scene: Scene, presets) -> Tuple[int, int, int]:
    w, h, f = presets[scene.preset]
    if args.quick:
        w, h, f = QUICK_SIZE["width"], QUICK_SIZE["height"], QUICK_SIZE["frames"]
    return (args.width or w, args.height or h, args.frames or f)


def prepare_scene(runner: Runner, scene: Scene, presets) -> bool:
    """Generates a generated room when it is absent (or of another size); False on failure."""
    if scene.kind != "generated":
        return True
    w, h, f = scene_size_wanted(runner.args, scene, presets)
    meta = read_json(scene.path / "jnerf_scene.json")
    cmd = runner.jnerf_cmd("synth", "--preset", scene.preset, "--out", str(scene.path), "--width", str(w),
                           "--height", str(h), "--frames", str(f), "--seed", str(runner.args.synth_seed))
    if meta and meta.get("preset") == scene.preset and meta.get("width") == w and meta.get("height") == h \
            and meta.get("frames") == f and meta.get("seed") == runner.args.synth_seed:
        runner.skip(scene.name, "synth", "%dx%d, %d frames" % (w, h, f), cmd, "scene exists")
        return True
    return runner.run(scene.name, "synth", "%dx%d, %d frames" % (w, h, f), cmd, "synth").status in ("ok", "planned")


def train_sets(runner: Runner, scene: Scene) -> List[str]:
    sets = ["data.path=" + str(scene.path)]
    if scene.kind == "real":
        sets.append("data.format=" + scene.data_format)
    if runner.args.quick:
        sets += QUICK_TRAIN_SETS
    sets += runner.args.set
    return sets


def train_scene(runner: Runner, scene: Scene, run: Path) -> Tuple[bool, bool]:
    """Stages nerf and shape. Returns (usable, changed): changed when a stage ran now."""
    args = runner.args
    signature = {"scene": str(scene.path), "config": str(scene.config), "sets": train_sets(runner, scene)}
    sig_file = run.parent / (run.name + ".json")
    old = read_json(sig_file)
    if run.exists() and old is not None and old != signature and not runner.dry:
        move_aside(run, runner.out, "trained with other data or settings")
        move_aside(runner.out / "propagate" / scene.name, runner.out, "from the stale run")
    changed = False
    nerf_iters = args.nerf_iters
    run_config = read_json(run / "config.json")
    if nerf_iters is None and run_config is not None:
        nerf_iters = run_config.get("train", {}).get("iters")
    step = checkpoint_step(run, "nerf")
    if step >= 0 and (nerf_iters is None or step >= nerf_iters):
        runner.skip(scene.name, "nerf", "%d steps" % step, [], "checkpoint nerf_%09d.ckpt exists" % step)
    else:
        if step >= 0:
            cmd = runner.jnerf_cmd("train", "--resume", "--out", str(run), "--set", "train.iters=%d" % nerf_iters)
            detail = "resume %d -> %d steps" % (step, nerf_iters)
        else:
            cmd = runner.jnerf_cmd("train", "--config", str(scene.config), "--out", str(run))
            for s in train_sets(runner, scene) + (["train.iters=%d" % nerf_iters] if nerf_iters else []):
                cmd += ["--set", s]
            detail = "%s steps" % (nerf_iters or "config")
            if not runner.dry:
                run.parent.mkdir(parents=True, exist_ok=True)
                sig_file.write_text(json.dumps(signature, indent=2) + "\n")
        if runner.run(scene.name, "nerf", detail, cmd, "train_nerf").status not in ("ok", "planned"):
            return False, True
        changed = True
        if checkpoint_step(run, "shape") >= 0 and not runner.dry:
            stale = run / "stale_shape"
            stale.mkdir(exist_ok=True)
            for f in (run / "checkpoints").glob("shape_*.ckpt"):
                shutil.move(str(f), str(stale / f.name))
            print("  note  the NeRF changed: old shape checkpoints moved to %s" % stale, flush=True)

    shape_iters = args.shape_iters
    run_config = read_json(run / "config.json")
    if shape_iters is None and run_config is not None:
        shape_iters = run_config.get("shape", {}).get("iters")
    step = checkpoint_step(run, "shape")
    if step >= 0 and (shape_iters is None or step >= shape_iters):
        runner.skip(scene.name, "shape", "%d steps" % step, [], "checkpoint shape_%09d.ckpt exists" % step)
        return True, changed
    cmd = runner.jnerf_cmd("train", "--stage", "shape", "--out", str(run))
    if step >= 0:
        cmd.insert(cmd.index("--out"), "--resume")
        detail = "resume %d -> %d steps" % (step, shape_iters)
    else:
        detail = "%s steps" % (shape_iters or "config")
    if shape_iters:
        cmd += ["--set", "shape.iters=%d" % shape_iters]
    ok = runner.run(scene.name, "shape", detail, cmd, "train_shape").status in ("ok", "planned")
    return ok, True


def propagate_scene(runner: Runner, scene: Scene, run: Path, combos: List[Combo], changed: bool) -> Dict[str, Tuple[Path, str]]:
    """Runs every combination; returns combo key -> (output folder, status)."""
    args = runner.args
    results = {}
    for combo in combos:
        out = runner.out / "propagate" / scene.name / combo.labels / combo.mode / combo.folder
        cmd = runner.jnerf_cmd("propagate", "--run", str(run), "--out", str(out))
        sets = combo.setting.propagate_sets() + [
            "propagate.mode=" + combo.mode, "propagate.labels=" + combo.labels, "propagate.seed=%d" % combo.seed,
            "propagate.baselines=" + json.dumps(list(combo.baselines), separators=(",", ":"))]
        max_views = args.max_views if args.max_views is not None else (QUICK_MAX_VIEWS if args.quick else None)
        if max_views is not None:
            sets.append("propagate.max_views=%d" % max_views)
        if args.quick:
            sets.append("output.save_images=false")
        sets += args.propagate_set
        for s in sets:
            cmd += ["--set", s]
        detail = "%s %s %s seed %d%s" % (combo.setting.key, combo.mode, combo.labels, combo.seed,
                                         " +baselines" if combo.baselines else "")
        request = out / "request.json"
        if not changed and (out / "metrics.json").exists() and read_json(request) == {"argv": cmd}:
            runner.skip(scene.name, "propagate", detail, cmd, "metrics.json exists", status="reused")
            results[combo.key] = (out, "reused")
            continue
        if (out / "metrics.json").exists() and not runner.dry:
            (out / "metrics.json").unlink()
        log_name = "propagate_%s_%s_%s" % (combo.labels, combo.mode, combo.folder)
        r = runner.run(scene.name, "propagate", detail, cmd, log_name, not_available_ok=combo.setting.annotation == "dense")
        if r.status == "ok":
            request.write_text(json.dumps({"argv": cmd}) + "\n")
        results[combo.key] = (out, r.status)
    return results


# ----------------------------------------------------------------------------- tables

def number(v) -> Optional[float]:
    return float(v) if isinstance(v, (int, float)) and math.isfinite(v) else None


def collect_rows(scenes: List[Scene], combos: List[Combo], outcomes) -> List[dict]:
    rows = []
    for scene in scenes:
        for combo in combos:
            folder, status = outcomes.get(scene.name, {}).get(combo.key, (None, "not run"))
            base = {"scene": scene.name, "setting": combo.setting.key, "annotation": combo.setting.annotation,
                    "clicks_per_class": combo.setting.clicks if combo.setting.annotation == "sparse" else "",
                    "region_fraction": combo.setting.fraction if combo.setting.annotation == "regions" else "",
                    "mode": combo.mode, "labels": combo.labels, "seed": combo.seed, "_combo": combo}
            metrics = read_json(folder / "metrics.json") if folder is not None and status in ("ok", "reused") else None
            if metrics is None:
                rows.append(dict(base, method="shaped", status=status if status != "ok" else "failed",
                                 metrics_json="", seconds=None, views="", clicks="",
                                 **{k: None for k in METRICS}))
                continue
            mpath = str(folder / "metrics.json")
            methods = [(metrics.get("method", "shaped"), metrics)]
            rank = {name: i for i, name in enumerate(BASELINES)}
            methods += sorted((metrics.get("baselines") or {}).items(), key=lambda nm: (rank.get(nm[0], 99), nm[0]))
            for name, m in methods:
                rows.append(dict(base, method=name, status="ok", metrics_json=mpath, seconds=number(m.get("seconds")),
                                 views=metrics.get("views", ""), clicks=metrics.get("clicks", ""),
                                 **{k: number(m.get(k)) for k in METRICS}))
    return rows


def write_csv(path: Path, rows: List[dict]) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(CSV_COLUMNS)
        for r in rows:
            w.writerow(["" if r.get(c) is None else (repr(r[c]) if isinstance(r[c], float) else r[c])
                        for c in CSV_COLUMNS])


def pct(v: Optional[float]) -> str:
    return "n/a" if v is None else "%.2f" % (100 * v)


def method_order(rows: List[dict]) -> List[str]:
    order = ["shaped", "unshaped", "nearest_click", "semantic_nerf"]
    for r in rows:
        if r["method"] not in order:
            order.append(r["method"])
    return order


def write_markdown(path: Path, rows: List[dict], combos: List[Combo], scenes: List[Scene], args) -> None:
    order = method_order(rows)
    rank = {m: i for i, m in enumerate(order)}
    lines = ["# Label propagation results", ""]
    lines.append("Scenes: %s. Values in per cent; each table's rows are scenes x methods. "
                 "`shaped` is the JacobiNeRF-shaped NeRF; `n/a` marks settings jnerf does not provide." %
                 ", ".join(s.name for s in scenes))
    if args.quick:
        lines.append("")
        lines.append("**Quick run** (%dx%d renders, %d frames, a tiny model): a smoke test, not the paper's numbers." %
                     (QUICK_SIZE["width"], QUICK_SIZE["height"], QUICK_SIZE["frames"]))
    lines.append("")
    header = "| scene | method | " + " | ".join(METRIC_TITLES) + " |"
    rule = "| --- | --- |" + " ---: |" * len(METRICS)
    for combo in combos:
        sel = sorted([r for r in rows if r["_combo"] == combo], key=lambda r: rank[r["method"]])
        seed = ", click seed %d" % combo.seed if len(args.seeds) > 1 else ""
        lines.append("## %s | %s | %s labels%s" % (combo.setting.title, combo.mode, combo.labels, seed))
        lines.append("")
        lines.append(header)
        lines.append(rule)
        for scene in scenes:
            for r in [r for r in sel if r["scene"] == scene.name]:
                if r["status"] == "ok":
                    cells = [pct(r[k]) for k in METRICS]
                elif r["status"] == "n/a":
                    cells = ["n/a"] * len(METRICS)
                else:
                    cells = [r["status"]] + [""] * (len(METRICS) - 1)
                lines.append("| %s | %s | %s |" % (scene.name, r["method"], " | ".join(cells)))
        got = {r["method"] for r in sel}
        missing = [b for b in combo.baselines if b not in got and any(r["status"] == "ok" for r in sel)]
        if missing:
            lines.append("")
            lines.append("Baselines requested but not reported by jnerf: %s." % ", ".join(missing))
        lines.append("")
    seeds = len(args.seeds) > 1
    lines.append("## Summary: mean over scenes" + (" and click seeds (%s)" % ", ".join(map(str, args.seeds))
                                                   if seeds else ""))
    lines.append("")
    if seeds:
        lines.append("runs: scenes x seeds that finished; +- is the standard deviation of mIoU over them.")
        lines.append("")
    lines.append("| setting | mode | labels | method | %s | " % ("runs" if seeds else "scenes") +
                 " | ".join(METRIC_TITLES) + " |")
    lines.append("| --- | --- | --- | --- | ---: |" + " ---: |" * len(METRICS))
    for group in dict.fromkeys(combo.group for combo in combos):  # first-seen order
        sel = [r for r in rows if r["_combo"].group == group]
        for method in order:
            mine = [r for r in sel if r["method"] == method]
            if not mine:
                continue
            good = [r for r in mine if r["status"] == "ok"]
            cells = [pct(mean([r[k] for r in good])) for k in METRICS]
            spread = std([r["miou"] for r in good])
            if seeds and spread is not None:
                cells[0] += " +- %.2f" % (100 * spread)
            lines.append("| %s | %s | %s | %s | %d | %s |" % (group + (method, len(good), " | ".join(cells))))
    lines.append("")
    path.write_text("\n".join(lines))


def mean(values) -> Optional[float]:
    vals = [v for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None


def std(values) -> Optional[float]:
    """Population standard deviation of the known values (None for fewer than two)."""
    vals = [v for v in values if v is not None]
    if len(vals) < 2:
        return None
    m = mean(vals)
    return math.sqrt(sum((v - m) ** 2 for v in vals) / len(vals))


def write_plot(path: Path, rows: List[dict], args) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    sparse = [r for r in rows if r["annotation"] == "sparse" and r["status"] == "ok"]
    kinds = [k for k in args.labels if any(r["labels"] == k for r in sparse)] or list(args.labels[:1])
    fig, axes = plt.subplots(1, len(kinds), figsize=(5.5 * len(kinds), 4.2), squeeze=False)
    for ax, kind in zip(axes[0], kinds):
        mine = [r for r in sparse if r["labels"] == kind]
        order = method_order(rows)
        lines = sorted({(r["method"], r["mode"]) for r in mine}, key=lambda mm: (order.index(mm[0]), mm[1]))
        # The baselines that do not use the response mode get one line each.
        first_mode = {m: md for m, md in reversed(lines)}
        for method, mode in lines:
            if method in MODE_FREE and mode != first_mode[method]:
                continue
            xs = sorted({r["clicks_per_class"] for r in mine if r["method"] == method and r["mode"] == mode})
            ys = [mean([r["miou"] for r in mine if r["method"] == method and r["mode"] == mode
                        and r["clicks_per_class"] == x]) for x in xs]
            pts = [(x, 100 * y) for x, y in zip(xs, ys) if y is not None]
            if not pts:
                continue
            arr = np.array(pts, dtype=float)
            ax.plot(arr[:, 0], arr[:, 1], marker="o", linestyle="-" if method == "shaped" else "--",
                    label=method if method in MODE_FREE else "%s (%s)" % (method, mode))
        ax.set_xlabel("clicks per class")
        ax.set_ylabel("mIoU (%%), mean over scenes%s" % (" and seeds" if len(args.seeds) > 1 else ""))
        ax.set_title("%s labels" % kind)
        ax.set_xticks(list(args.clicks))
        ax.grid(True, alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=8)
        else:
            ax.text(0.5, 0.5, "no sparse results", ha="center", va="center", transform=ax.transAxes)
    fig.tight_layout()
    fig.savefig(str(path), dpi=120)
    plt.close(fig)


# ----------------------------------------------------------------------------- main

def parse_args(argv):
    p = argparse.ArgumentParser(
        description="Reproduce the JacobiNeRF label-propagation tables with jnerf (train, shape, propagate).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Real datasets are GPU jobs (the paper's NeRF, 200k steps): "
               "--scenes none --scene room0=PATH:replica --device cuda.")
    p.add_argument("--out", default="runs/tables", help="output folder (default runs/tables)")
    p.add_argument("--jnerf", default=str(ROOT / "build" / "jnerf"), help="the jnerf program (default build/jnerf)")
    p.add_argument("--scenes", default=None,
                   help="generated rooms (jnerf synth presets), comma separated, or 'none' (default %s; "
                        "room0_small with --quick)" % ",".join(DEFAULT_ROOMS))
    p.add_argument("--scene", action="append", default=[], metavar="NAME=PATH[:FORMAT]",
                   help="a real dataset folder (Replica or ScanNet; FORMAT replica, scannet or auto); repeatable")
    p.add_argument("--config", default=None, help="config for the real datasets (default %s)" % REAL_CONFIG)
    p.add_argument("--room-config", default=ROOM_CONFIG, help="config for the generated rooms (default %(default)s)")
    p.add_argument("--nerf-iters", type=int, default=None, help="NeRF training steps (default: the config's)")
    p.add_argument("--shape-iters", type=int, default=None,
                   help="shaping steps (default: the run's config, 3000 for the generated rooms' preset)")
    p.add_argument("--modes", default="perturb2d,linear3d", help="response modes (default %(default)s)")
    p.add_argument("--labels", default="semantic,instance", help="label kinds (default %(default)s)")
    p.add_argument("--annotations", default="sparse,regions,dense", help="annotation settings (default %(default)s)")
    p.add_argument("--clicks", default="1,2,5", help="clicks per class of the sparse setting (default %(default)s)")
    p.add_argument("--regions", default="0.01,0.05", help="region fractions of the regions setting (default %(default)s)")
    p.add_argument("--baselines", default=",".join(BASELINES), help="baselines, or 'none' (default %(default)s)")
    p.add_argument("--baselines-in", choices=("first", "all"), default="first",
                   help="run the baselines in the first combination only (fewest clicks, first label kind, every "
                        "mode) or in all (default first)")
    p.add_argument("--max-views", type=int, default=None, help="evaluate on at most N test views (default all; 4 with --quick)")
    p.add_argument("--seeds", "--seed", dest="seeds", default="0",
                   help="seeds of the simulated clicks (propagate.seed), comma separated: every propagation runs "
                        "once per seed and the summary averages over them (default %(default)s)")
    p.add_argument("--synth-seed", type=int, default=0, help="seed of the generated rooms")
    p.add_argument("--width", type=int, default=0, help="generated room width (default the preset's; 48 with --quick)")
    p.add_argument("--height", type=int, default=0, help="generated room height (default the preset's; 36 with --quick)")
    p.add_argument("--frames", type=int, default=0, help="generated room frames (default the preset's; 24 with --quick)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="config override for training (kept in the run's config); repeatable")
    p.add_argument("--propagate-set", action="append", default=[], metavar="KEY=VALUE",
                   help="config override for every propagate command; repeatable")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default=None, help="jnerf --device (default: the config's)")
    p.add_argument("--threads", type=int, default=0, help="jnerf --threads (default all)")
    p.add_argument("--quick", action="store_true",
                   help="tiny run for tests: room0_small only, 48x36 renders, 24 frames, a small model, "
                        "20 + 10 steps, 4 evaluation views")
    p.add_argument("--dry-run", action="store_true", help="print the commands without running them")
    args = p.parse_args(argv)
    try:
        args.modes = parse_list(args.modes, MODES, "--modes")
        args.labels = parse_list(args.labels, LABEL_KINDS, "--labels")
        args.annotations = parse_list(args.annotations, ANNOTATIONS, "--annotations")
        args.baselines = parse_list(args.baselines, BASELINES, "--baselines")
        args.clicks = parse_numbers(args.clicks, int, "--clicks", 1, 10 ** 6)
        args.regions = parse_numbers(args.regions, float, "--regions", 1e-9, 1.0)
        args.seeds = parse_numbers(args.seeds, int, "--seeds", 0, 2 ** 63 - 1)
        if not args.modes or not args.labels or not args.annotations:
            raise InputProblem("--modes, --labels and --annotations need at least one value")
        for name in ("nerf_iters", "shape_iters"):
            v = getattr(args, name)
            if v is not None and v < 1:
                raise InputProblem("--%s must be >= 1" % name.replace("_", "-"))
        if args.max_views is not None and args.max_views < 0:
            raise InputProblem("--max-views must be >= 0")
    except InputProblem as e:
        p.error(str(e))
    if args.scenes is None:
        args.scenes = DEFAULT_ROOMS[0] if args.quick else ",".join(DEFAULT_ROOMS)
    if args.quick:
        args.nerf_iters = args.nerf_iters or QUICK_ITERS["nerf"]
        args.shape_iters = args.shape_iters or QUICK_ITERS["shape"]
    return args


def resolve_inputs(args) -> Tuple[Path, List[Scene], Path]:
    jnerf = Path(args.jnerf).expanduser()
    if not jnerf.is_absolute():
        jnerf = (ROOT / jnerf) if not jnerf.exists() else jnerf.resolve()
    if not (jnerf.is_file() and os.access(str(jnerf), os.X_OK)):
        raise InputProblem("the jnerf program %s does not exist or is not executable "
                           "(build it: cmake --build build --target jnerf -j2, or pass --jnerf PATH)" % jnerf)
    out = Path(args.out).expanduser().resolve()

    def config_path(text: str) -> Path:
        c = Path(text).expanduser()
        if not c.is_absolute() and not c.exists():
            c = ROOT / c
        if not c.is_file():
            raise InputProblem("config file %s does not exist" % c)
        return c.resolve()

    scenes: List[Scene] = []
    rooms = [] if args.scenes.strip().lower() in ("", "none") else [s.strip() for s in args.scenes.split(",") if s.strip()]
    presets = {}
    if rooms:
        presets = preset_sizes(jnerf)
        room_config = config_path(args.room_config)
        for name in rooms:
            if name not in presets:
                raise InputProblem("--scenes: unknown preset '%s' (jnerf synth --list: %s)" % (name, ", ".join(presets)))
            scenes.append(Scene(name, "generated", out / "scenes" / name, room_config, "replica", preset=name))
    real_config = None
    for spec in args.scene:
        real_config = real_config or config_path(args.config or REAL_CONFIG)
        scenes.append(parse_real_scene(spec, real_config))
    names = [s.name for s in scenes]
    for n in names:
        if names.count(n) > 1:
            raise InputProblem("scene name '%s' is used twice" % n)
    if not scenes:
        raise InputProblem("no scenes: pass --scenes PRESETS and/or --scene NAME=PATH")
    args._presets = presets
    return jnerf, scenes, out


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        jnerf, scenes, out = resolve_inputs(args)
    except InputProblem as e:
        print("reproduce_tables: error: %s" % e, file=sys.stderr)
        return 2
    combos = build_combos(args)
    runner = Runner(args, jnerf, out)
    t0 = time.monotonic()
    print("reproduce_tables: %d scene(s) x %d propagation setting(s) -> %s%s" %
          (len(scenes), len(combos), out, " (dry run: commands only)" if args.dry_run else ""), flush=True)
    outcomes: Dict[str, Dict[str, Tuple[Path, str]]] = {}
    try:
        for scene in scenes:
            print("scene %s (%s, %s)" % (scene.name, scene.kind, scene.path), flush=True)
            if not prepare_scene(runner, scene, args._presets):
                continue
            run = out / "runs" / scene.name
            usable, changed = train_scene(runner, scene, run)
            if not usable:
                print("  scene %s: training failed, no propagation" % scene.name, file=sys.stderr)
                continue
            outcomes[scene.name] = propagate_scene(runner, scene, run, combos, changed)
    except KeyboardInterrupt:
        runner.write_runs_json()
        print("\nreproduce_tables: interrupted; run it again to resume", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the output was piped into a program that stopped reading
        sys.stderr.close()
        return 1 if runner.failures() else 0
    if args.dry_run:
        return 0

    tables = out / "tables"
    tables.mkdir(parents=True, exist_ok=True)
    rows = collect_rows(scenes, combos, outcomes)
    write_csv(tables / "results.csv", rows)
    write_markdown(tables / "results.md", rows, combos, scenes, args)
    plot_failed = False
    try:
        write_plot(tables / "miou_vs_clicks.png", rows, args)
    except ImportError as e:
        plot_failed = True
        print("reproduce_tables: cannot draw miou_vs_clicks.png: %s (install python3-matplotlib)" % e, file=sys.stderr)
    runner.write_runs_json(finished=True)
    failed = runner.failures()
    print("tables: %s, %s, %s, %s" % (tables / "results.md", tables / "results.csv",
                                      tables / "miou_vs_clicks.png", runner.runs_json))
    print("total time %.1f s; %d command(s) failed" % (time.monotonic() - t0, failed))
    return 1 if failed or plot_failed else 0


if __name__ == "__main__":
    sys.exit(main())
