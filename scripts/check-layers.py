#!/usr/bin/env python3
"""Checks the architecture rules of docs/architecture.md on the source tree.

1. Every #include "x.h" resolves to one header of the project, and points to
   the same folder or a lower layer (LAYERS below); never upwards, never
   sideways into another folder of the same layer.
2. The file-level include graph has no cycle.
3. No .c file over 800 lines; no function over 120 lines.

Usage: scripts/check-layers.py [--root DIR]. Prints every violation and exits
1 when there is one, 0 otherwise (the `lint.layers` ctest case runs it).
"""
import os
import re
import sys

# Folder -> layer. A folder may include headers of its own folder and of any
# folder with a lower number. refagent/ is a separate program and links none
# of these; bench/ and tests/ are clients of every layer.
LAYERS = {
    "harness/base": 0,
    "measure": 1,
    "faults": 1,
    "harness/protocol": 1,
    "harness/transport": 1,
    "harness/scenario": 2,
    "harness/record": 3,
    "harness": 4,
    "validators": 4,
    "reports": 5,
    "runners": 6,
}
MAX_FILE_LINES = 800
MAX_FUNC_LINES = 120

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
FUNC_START = re.compile(r"^[A-Za-z_][\w \*]*\b(\w+)\s*\([^;]*$")


def sources(root):
    for folder in LAYERS:
        d = os.path.join(root, folder)
        for name in sorted(os.listdir(d)):
            if name.endswith((".c", ".h")):
                yield folder, os.path.join(folder, name)


def long_functions(path, text):
    """Top-level function bodies: a line at column 0 that opens a body after a
    signature, to the matching closing brace at column 0."""
    out = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        if lines[i] == "{" and i > 0:
            j = i - 1
            while j > 0 and not FUNC_START.match(lines[j]) and lines[j].strip():
                j -= 1
            m = FUNC_START.match(lines[j]) if lines[j].strip() else None
            end = i + 1
            while end < len(lines) and lines[end] != "}":
                end += 1
            n = end - i + 1
            if m and n > MAX_FUNC_LINES:
                out.append(f"{path}:{j + 1}: function {m.group(1)} is {n} lines (max {MAX_FUNC_LINES})")
            i = end
        i += 1
    return out


def main():
    root = sys.argv[sys.argv.index("--root") + 1] if "--root" in sys.argv else \
        os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    files = list(sources(root))
    where = {}
    for folder, path in files:
        if path.endswith(".h"):
            where.setdefault(os.path.basename(path), []).append(folder)
    problems = []
    graph = {}
    for folder, path in files:
        text = open(os.path.join(root, path), encoding="utf-8").read()
        graph[path] = []
        for inc in INCLUDE.findall(text):
            if "/" in inc:
                problems.append(f"{path}: #include \"{inc}\": include by name; the build's include "
                                "path says which layers a folder may see")
                continue
            owners = where.get(inc, [])
            if len(owners) != 1:
                problems.append(f"{path}: #include \"{inc}\": "
                                + ("no such header in the layered folders" if not owners
                                   else "header name in several folders: " + ", ".join(owners)))
                continue
            to = owners[0]
            graph[path].append(os.path.join(to, inc))
            if to != folder and LAYERS[to] >= LAYERS[folder]:
                problems.append(f"{path}: includes {to}/{inc}: layer {LAYERS[to]} from layer "
                                f"{LAYERS[folder]} ({folder}); includes must point down")
        if path.endswith(".c"):
            n = text.count("\n")
            if n > MAX_FILE_LINES:
                problems.append(f"{path}: {n} lines (max {MAX_FILE_LINES})")
            problems += long_functions(path, text)
    # Cycles, by depth-first search over the include graph.
    state = {}

    def visit(node, stack):
        state[node] = 1
        for nxt in graph.get(node, []):
            if state.get(nxt) == 1:
                problems.append("include cycle: " + " -> ".join(stack[stack.index(nxt):] + [nxt])
                                if nxt in stack else f"include cycle through {nxt}")
            elif not state.get(nxt):
                visit(nxt, stack + [nxt])
        state[node] = 2

    for node in graph:
        if not state.get(node):
            visit(node, [node])
    for p in problems:
        print(p)
    print(f"check-layers: {len(files)} files, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
