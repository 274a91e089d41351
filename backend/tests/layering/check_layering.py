#!/usr/bin/env python3
"""Checks the layering of backend/src (docs/architecture.md, "Layers").

Every folder of SRC is a layer, declared bottom up with --layers. A file of a layer may include
"<layer>/..." only for its own layer and the layers before it, never through "..". The
--thread-free layers own no threads: they include no threading header of the standard library
and no header of the --threads layer (the queues and workers), and name no std::thread,
std::jthread or std::async. Exits 1 and names each violation, 0 when there is none.
"""

import argparse
import re
import sys
from pathlib import Path

# <mutex>, <shared_mutex> and <atomic> stay allowed: a thread-free class may be thread-safe.
THREADING_HEADERS = {
    "thread", "condition_variable", "future", "semaphore", "latch", "barrier", "stop_token"
}
SOURCE_SUFFIXES = {".hpp", ".cpp", ".h", ".cc", ".in"}
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
THREAD_NAMES = re.compile(r"\bstd::(thread|jthread|async)\b")


def violations_in(path, layer, layers, thread_free, threads_layer):
    below = layers[:layers.index(layer)]
    allowed = f"{layer} may include: {' '.join(below) or 'no other layer'}"
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        where = f"{path}:{number}"
        include = INCLUDE.match(line)
        if include:
            bracket, name = include.groups()
            folder = name.split("/")[0] if "/" in name else None
            if ".." in name.split("/"):
                yield f'{where}: {layer} includes "{name}": no ".." in includes, name the layer'
            elif folder in layers and folder != layer and folder not in below:
                yield f'{where}: {layer} includes "{name}": {folder} is above {layer} ({allowed})'
            elif bracket == '"' and folder is not None and folder not in layers:
                yield f'{where}: {layer} includes "{name}": {folder} is not a layer ({allowed})'
            elif layer in thread_free and bracket == "<" and name in THREADING_HEADERS:
                yield f"{where}: {layer} includes <{name}>: {layer} owns no threads"
            elif layer in thread_free and folder == threads_layer:
                yield (f'{where}: {layer} includes "{name}": {layer} owns no threads, the '
                       f"{threads_layer} layer's queues and workers are wired in by a layer above")
        elif layer in thread_free:
            thread_name = THREAD_NAMES.search(line.split("//")[0])
            if thread_name:
                yield f"{where}: {layer} names {thread_name.group(0)}: {layer} owns no threads"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("src", type=Path, help="the folder holding one folder per layer")
    parser.add_argument("--layers", nargs="+", required=True, help="the layers, bottom up")
    parser.add_argument("--thread-free", nargs="*", default=[], help="layers that own no threads")
    parser.add_argument("--threads", help="the layer of threads and queues")
    args = parser.parse_args()

    found = []
    checked = 0
    folders = sorted(p for p in args.src.iterdir() if p.is_dir())
    if not folders:
        found.append(f"{args.src}: no layer folders found")
    for folder in folders:
        if folder.name not in args.layers:
            found.append(f"{folder}: not a declared layer (declared: {' '.join(args.layers)})")
            continue
        for path in sorted(folder.rglob("*")):
            if path.suffix in SOURCE_SUFFIXES and path.is_file():
                checked += 1
                found.extend(
                    violations_in(path, folder.name, args.layers, args.thread_free, args.threads))

    for violation in found:
        print(violation)
    if found:
        print(f"layering check failed: {len(found)} violation(s) in {checked} files")
        return 1
    print(f"layering ok: {checked} files of {len(folders)} layers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
