#!/usr/bin/env python3
"""Rewrites a CUDA source file (kernels/*.cu) into host C++ for the CUDA emulation.

    transform_cu.py INPUT.cu OUTPUT.cpp

The output compiles against tests/emulation/include (fake cuda_runtime.h and friends) and
keeps the input's line numbers (it starts with a #line directive and every rewrite stays on
the lines it replaces), so compiler diagnostics, sanitizer reports and the emulation's own
reports point into the .cu file. The rewrites:

  kernel<<<grid, block, smem, stream>>>(args)
      -> ::cuda_emu::Launcher(kernel, "kernel", __FILE__, __LINE__, grid, block, smem, stream)(args)
  __global__ void __launch_bounds__(N, ...) k(...) { body }
      -> void k(...) { CUDA_EMU_KERNEL_ENTRY(N, synchronises) body }
         where `synchronises` says whether the body can reach a barrier, a warp shuffle or a
         warp vote, directly or through functions defined in this file or the headers it
         includes with quotes (name-based, so it errs towards true); the runtime stops with
         a report if a kernel classified false ever synchronises
  __shared__ __align__(A) T name[D1][D2];
      -> static char site; auto& name = ::cuda_emu::block_shared<T[D1][D2]>(A, &site, "name");
  extern __shared__ __align__(A) T name[];
      -> T* const name = ::cuda_emu::dynamic_shared<T>();
  __CUDA_ARCH__ -> CUDA_EMU_ARCH (defined: the kernel file is compiled as device code)
  #pragma unroll [N] -> removed (GCC has no such pragma)

Anything this script does not understand (a __shared__ declaration with two names or an
initialiser, a launch without a kernel name) is an error, not a silent miscompilation.
Standard library only.
"""

import os
import re
import sys

SYNC_PRIMITIVES = {
    "__syncthreads", "__syncthreads_count", "__syncthreads_and", "__syncthreads_or", "__syncwarp",
    "__shfl_sync", "__shfl_up_sync", "__shfl_down_sync", "__shfl_xor_sync",
    "__ballot_sync", "__any_sync", "__all_sync",
}

NOT_FUNCTIONS = {
    "if", "for", "while", "switch", "catch", "return", "sizeof", "alignof", "decltype", "static_assert",
    "__launch_bounds__", "__align__", "defined", "noexcept", "throw",
}

IDENT = re.compile(r"[A-Za-z_]\w*")


class TransformError(Exception):
    pass


def mask(text):
    """The text with comments, string and character literals blanked out (same length, same
    newlines), so that searches see only code."""
    out = list(text)
    i, n = 0, len(text)

    def blank(a, b):
        for k in range(a, b):
            if out[k] != "\n":
                out[k] = " "

    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            blank(i, j)
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            blank(i, j)
            i = j
        elif c == '"' or c == "'":
            # Raw string literals are not used by the kernels; plain literals end at the
            # matching unescaped quote.
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            blank(i + 1, min(j, n))
            i = j + 1
        else:
            i += 1
    return "".join(out)


def line_of(text, pos):
    return text.count("\n", 0, pos) + 1


def match_close(m, pos, open_ch, close_ch):
    """Index of the bracket closing the one at m[pos]."""
    depth = 0
    for k in range(pos, len(m)):
        if m[k] == open_ch:
            depth += 1
        elif m[k] == close_ch:
            depth -= 1
            if depth == 0:
                return k
    raise TransformError("unbalanced %r" % open_ch)


def split_top_level(s):
    parts, depth, cur = [], 0, ""
    for ch in s:
        if ch in "([{<":
            depth += 1
        elif ch in ")]}>":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return [p.strip() for p in parts]


def keep_newlines(replaced, replacement):
    """`replacement`, followed by the newlines of the text it replaces (line numbers stay)."""
    return replacement + "\n" * replaced.count("\n")


class Rewriter:
    def __init__(self, text):
        self.text = text
        self.masked = mask(text)
        self.edits = []  # (start, end, replacement)

    def replace(self, start, end, replacement):
        self.edits.append((start, end, keep_newlines(self.text[start:end], replacement)))

    def insert(self, pos, s):
        self.edits.append((pos, pos, s))

    def result(self):
        out = self.text
        last = None
        for start, end, rep in sorted(self.edits, key=lambda e: (e[0], e[1]), reverse=True):
            if last is not None and end > last:
                raise TransformError("overlapping rewrites at line %d" % line_of(self.text, start))
            out = out[:start] + rep + out[end:]
            last = start
        return out


# ---- sync analysis --------------------------------------------------------------------------

def function_bodies(masked):
    """(name, body) for every function-like definition `name(...) qualifiers { ... }`."""
    found = []
    for mt in re.finditer(r"\b([A-Za-z_]\w*)\s*\(", masked):
        name = mt.group(1)
        if name in NOT_FUNCTIONS:
            continue
        try:
            close = match_close(masked, mt.end() - 1, "(", ")")
        except TransformError:
            continue
        rest = masked[close + 1:close + 400]
        q = re.match(r"\s*(?:(?:const|noexcept|override|final|volatile|mutable|&|&&)\s*)*"
                     r"(?:->\s*[\w:<>,\s*&]+?\s*)?\{", rest)
        if not q:
            continue
        brace = close + 1 + q.end() - 1
        try:
            end = match_close(masked, brace, "{", "}")
        except TransformError:
            continue
        found.append((name, masked[brace:end + 1]))
    return found


def quoted_includes(masked_path_pairs, path, text, seen):
    """The file and, recursively, the headers it includes with quotes that exist next to it."""
    if path in seen:
        return
    seen.add(path)
    masked_path_pairs.append((path, mask(text)))
    for inc in re.findall(r'^\s*#\s*include\s+"([^"]+)"', text, flags=re.M):
        cand = os.path.join(os.path.dirname(path), inc)
        if os.path.isfile(cand):
            with open(cand, encoding="utf-8") as f:
                quoted_includes(masked_path_pairs, os.path.abspath(cand), f.read(), seen)


def synchronising_names(path, text):
    files = []
    quoted_includes(files, os.path.abspath(path), text, set())
    bodies = []
    for _, masked in files:
        bodies.extend(function_bodies(masked))
    idents = [(name, set(IDENT.findall(body))) for name, body in bodies]
    sync = set()
    changed = True
    while changed:
        changed = False
        for name, ids in idents:
            if name not in sync and (ids & SYNC_PRIMITIVES or ids & sync):
                sync.add(name)
                changed = True
    return sync


# ---- the rewrites ---------------------------------------------------------------------------

def rewrite_kernels(rw, sync_names):
    m = rw.masked
    count = 0
    for mt in re.finditer(r"\b__global__\b", m):
        start = mt.start()
        depth, k = 0, mt.end()
        while k < len(m):
            ch = m[k]
            if ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
            elif depth == 0 and ch in "{;":
                break
            k += 1
        else:
            raise TransformError("__global__ at line %d: no declaration follows" % line_of(m, start))
        header = m[mt.end():k]
        bound = "0"
        lb = re.search(r"\b__launch_bounds__\s*\(", header)
        if lb:
            lb_open = mt.end() + lb.end() - 1
            lb_close = match_close(m, lb_open, "(", ")")
            args = split_top_level(rw.text[lb_open + 1:lb_close])
            bound = args[0]
            rw.replace(mt.end() + lb.start(), lb_close + 1, "")
        rw.replace(start, mt.end(), "")
        if m[k] == ";":
            continue  # a declaration
        # The kernel's name: the identifier before its parameter list.
        head = header[:lb.start()] + " " * (lb_close + 1 - mt.end() - lb.start()) + header[lb_close + 1 - mt.end():] \
            if lb else header
        paren = head.find("(")
        names = IDENT.findall(head[:paren]) if paren >= 0 else []
        if not names:
            raise TransformError("__global__ at line %d: cannot find the kernel's name" % line_of(m, start))
        name = names[-1]
        end = match_close(m, k, "{", "}")
        body_ids = set(IDENT.findall(m[k:end + 1]))
        synchronises = bool(body_ids & SYNC_PRIMITIVES or (body_ids - {name}) & sync_names)
        rw.insert(k + 1, " CUDA_EMU_KERNEL_ENTRY(%s, %s)" % (bound, "true" if synchronises else "false"))
        count += 1
    return count


SHARED_DECL = re.compile(
    r"^(extern\s+)?__shared__\s+(?:__align__\s*\(\s*(\d+)\s*\)\s+)?(.+?)\s+(?:__align__\s*\(\s*(\d+)\s*\)\s+)?"
    r"([A-Za-z_]\w*)\s*((?:\[[^\]]*\]\s*)*);$", re.S)


def rewrite_shared(rw):
    m = rw.masked
    count = 0
    for mt in re.finditer(r"\b__shared__\b", m):
        start = mt.start()
        ext = re.search(r"\bextern\s+$", m[max(0, start - 40):start])
        if ext:
            start = start - (len(m[max(0, start - 40):start]) - ext.start())
        semi = m.find(";", mt.end())
        if semi < 0:
            raise TransformError("__shared__ at line %d: no ';'" % line_of(m, start))
        decl = " ".join(rw.text[start:semi + 1].split())
        d = SHARED_DECL.match(decl)
        if not d or "," in d.group(3) or "=" in decl:
            raise TransformError("__shared__ at line %d: unsupported declaration %r (one name, no initialiser)"
                                 % (line_of(m, start), decl))
        is_extern, type_, name, dims = d.group(1), d.group(3).strip(), d.group(5), d.group(6).strip()
        align = d.group(2) or d.group(4) or "0"
        if is_extern:
            if dims.replace(" ", "") != "[]":
                raise TransformError("extern __shared__ %s at line %d must be an unsized array" % (name, line_of(m, start)))
            rep = "%s* const %s = ::cuda_emu::dynamic_shared<%s>();" % (type_, name, type_)
        else:
            site = "cuda_emu_site_%s_%d" % (name, count)
            rep = 'static char %s; auto& %s = ::cuda_emu::block_shared<%s%s>(%s, &%s, "%s");' % (
                site, name, type_, dims, align, site, name)
        rw.replace(start, semi + 1, rep)
        count += 1
    return count


def kernel_expression_start(m, pos):
    """Start of the kernel expression that ends just before m[pos] (`ns::k<T, 4>`)."""
    k = pos
    while k > 0 and m[k - 1].isspace():
        k -= 1
    if k > 0 and m[k - 1] == ">":
        depth = 0
        while k > 0:
            k -= 1
            if m[k] == ">":
                depth += 1
            elif m[k] == "<":
                depth -= 1
                if depth == 0:
                    break
        while k > 0 and m[k - 1].isspace():
            k -= 1
    while k > 0 and (m[k - 1].isalnum() or m[k - 1] in "_:"):
        k -= 1
    return k


def rewrite_launches(rw):
    m = rw.masked
    count = 0
    for mt in re.finditer(r"<<<", m):
        close = m.find(">>>", mt.end())
        if close < 0:
            raise TransformError("launch at line %d: no '>>>'" % line_of(m, mt.start()))
        kstart = kernel_expression_start(m, mt.start())
        kernel = " ".join(rw.text[kstart:mt.start()].split())
        if not IDENT.match(kernel.lstrip(":")):
            raise TransformError("launch at line %d: cannot find the kernel" % line_of(m, mt.start()))
        config = rw.text[mt.end():close]
        if not split_top_level(config)[0] or len(split_top_level(config)) < 2:
            raise TransformError("launch at line %d: need at least <<<grid, block>>>" % line_of(m, mt.start()))
        rw.replace(kstart, mt.start(), "")
        rw.replace(mt.start(), mt.end(),
                   '::cuda_emu::Launcher(%s, "%s", __FILE__, __LINE__, ' % (kernel, kernel.replace('"', '\\"')))
        rw.replace(close, close + 3, ")")
        count += 1
    return count


def rewrite_misc(rw):
    m = rw.masked
    for mt in re.finditer(r"\b__CUDA_ARCH__\b", m):
        rw.replace(mt.start(), mt.end(), "CUDA_EMU_ARCH")
    for mt in re.finditer(r"^[ \t]*#[ \t]*pragma[ \t]+unroll\b[^\n]*", m, flags=re.M):
        rw.replace(mt.start(), mt.end(), "")


def transform(path, text):
    rw = Rewriter(text)
    sync_names = synchronising_names(path, text)
    kernels = rewrite_kernels(rw, sync_names)
    rewrite_shared(rw)
    launches = rewrite_launches(rw)
    rewrite_misc(rw)
    out = rw.result()
    if out.count("\n") != text.count("\n"):
        raise TransformError("internal error: the line count changed")
    header = '#line 1 "%s"\n' % os.path.abspath(path).replace("\\", "\\\\")
    return header + out, kernels, launches


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: transform_cu.py INPUT.cu OUTPUT.cpp\n")
        return 2
    src, dst = argv[1], argv[2]
    with open(src, encoding="utf-8") as f:
        text = f.read()
    try:
        out, _, _ = transform(src, text)
    except TransformError as e:
        sys.stderr.write("%s: %s\n" % (src, e))
        return 1
    tmp = dst + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(out)
    os.replace(tmp, dst)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
