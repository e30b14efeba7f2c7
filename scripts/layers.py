#!/usr/bin/env python3
"""Checks the decoder's and the shim's structure from the objects' own
symbol references (nm): no circle among decoder files, none among shim
files, no decoder file using a shim symbol, and every decoder file using
only its own layer and those below it (the order of DEC_LAYERS in the
Makefile, given with --layers).  Prints one line per finding and exits 1
when there is any.

  scripts/layers.py --layers "base conn ..." --objdir build/obj
"""
import argparse
import os
import subprocess
import sys


def symbols(obj):
    out = subprocess.run(["nm", "-P", obj], capture_output=True, text=True,
                         check=True).stdout
    defined, undefined = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 2:
            continue
        name, kind = parts[0], parts[1]
        if kind == "U":
            undefined.add(name)
        elif kind in "TDBRVWG":  # global definitions only
            defined.add(name)
    return defined, undefined


def cycles(graph):
    """Strongly connected components of more than one node (or a node
    that uses itself), each as a sorted list."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--layers", required=True)
    ap.add_argument("--objdir", default="build/obj")
    ap.add_argument("--graph", action="store_true",
                    help="print who uses whom, then check")
    a = ap.parse_args()
    layers = a.layers.split()
    objs = {}
    for root, _, files in os.walk(a.objdir):
        for f in files:
            if f.endswith(".o"):
                path = os.path.join(root, f)
                src = os.path.relpath(path, a.objdir)[:-2] + ".c"
                if os.path.exists(src):  # stale objects are not ours
                    objs[src] = path
    owner, uses = {}, {}
    for src, obj in sorted(objs.items()):
        defined, undefined = symbols(obj)
        for s in defined:
            owner[s] = src
        uses[src] = undefined
    graph = {src: set() for src in objs}
    why = {}
    for src, undefined in uses.items():
        for s in undefined:
            dst = owner.get(s)
            if dst and dst != src:
                graph[src].add(dst)
                why.setdefault((src, dst), s)
    bad = []
    rank = {l: i for i, l in enumerate(layers)}

    def layer(src):
        parts = src.split("/")
        return parts[1] if parts[0] == "decoder" and len(parts) > 2 else None

    for src in sorted(graph):
        if not src.startswith("decoder/"):
            continue
        if layer(src) not in rank:
            bad.append(f"{src}: not in a layer of {layers}")
            continue
        for dst in sorted(graph[src]):
            if not dst.startswith("decoder/"):
                bad.append(f"{src} uses {why[(src, dst)]} of {dst}: the "
                           f"decoder uses no shim symbol")
            elif rank.get(layer(dst), -1) > rank[layer(src)]:
                bad.append(f"{src} ({layer(src)}) uses {why[(src, dst)]} "
                           f"of {dst} ({layer(dst)}), a layer above it")
    for part in ("decoder/", "shim/"):
        sub = {v: {w for w in ws if w.startswith(part)}
               for v, ws in graph.items() if v.startswith(part)}
        for comp in cycles(sub):
            edges = [f"{v} -> {w} ({why[(v, w)]})" for v in comp
                     for w in sorted(sub[v]) if w in comp]
            bad.append("circle: " + "; ".join(edges))
    if a.graph:
        for src in sorted(graph):
            print(f"{src}: {' '.join(sorted(graph[src])) or '-'}")
    for b in bad:
        print(b)
    print(f"layers: {len(objs)} objects, {len(bad)} finding(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
