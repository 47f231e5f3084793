#!/usr/bin/env python3
"""Builds a Python Portico plugin into a sandboxed component:

    python guest-sdk-py/build.py <plugin-dir> [-o <out.wasm>] [--no-pack]

1. makes a component of the ``mapper`` world from ``<plugin-dir>/src/app.py`` with componentize-py
   (the bindings, ``wit_world``, are generated from ``wit/`` as it builds; this SDK is on the
   path), and
2. embeds ``portico.toml`` with ``portico plugin pack``, which also runs every check an upload
   runs.

Run it with the Python that has ``componentize-py`` (``requirements.txt``). The portico binary is
$PORTICO_BIN, else target/debug/portico or target/release/portico of this repository, else
``portico`` on the PATH.
"""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

SDK = Path(__file__).resolve().parent
REPO = SDK.parent


def main() -> int:
    args = sys.argv[1:]
    # --no-pack: stop before `portico plugin pack` and write the bare component (for tools that
    # embed the manifest themselves, such as the test suite).
    no_pack = "--no-pack" in args
    if no_pack:
        args.remove("--no-pack")
    out = None
    if "-o" in args:
        i = args.index("-o")
        out = Path(args[i + 1]).resolve()
        del args[i : i + 2]
    if len(args) != 1:
        print("usage: python guest-sdk-py/build.py <plugin-dir> [-o <out.wasm>] [--no-pack]", file=sys.stderr)
        return 2
    plugin = Path(args[0]).resolve()
    name = plugin.name
    for needed in ("src/app.py", "portico.toml"):
        if not (plugin / needed).exists():
            print(f"{plugin} has no {needed}", file=sys.stderr)
            return 2
    target = out or REPO / "target" / "plugins" / "py" / f"{name}.wasm"
    work = REPO / "target" / "plugins-py" / name
    work.mkdir(parents=True, exist_ok=True)
    target.parent.mkdir(parents=True, exist_ok=True)

    componentize = shutil.which("componentize-py", path=str(Path(sys.executable).parent)) or shutil.which(
        "componentize-py"
    )
    if componentize is None:
        print("componentize-py is not installed: pip install -r guest-sdk-py/requirements.txt", file=sys.stderr)
        return 2
    started = time.monotonic()
    raw = work / "component.wasm"
    built = subprocess.run(
        [componentize, "-d", str(REPO / "wit"), "-w", "mapper", "componentize", "app",
         "-p", str(plugin / "src"), "-p", str(SDK), "-o", str(raw)],
        check=False,
    )
    if built.returncode != 0:
        return built.returncode
    print(f"componentized ({raw.stat().st_size / 1e6:.1f} MB) in {time.monotonic() - started:.1f} s")

    if no_pack:
        shutil.copyfile(raw, target)
        return 0

    started = time.monotonic()
    portico = os.environ.get("PORTICO_BIN") or next(
        (str(p) for p in (REPO / "target" / "debug" / "portico", REPO / "target" / "release" / "portico") if p.exists()),
        "portico",
    )
    packed = subprocess.run(
        [portico, "plugin", "pack", str(raw), "--manifest", str(plugin / "portico.toml"), "-o", str(target)],
        check=False,
    )
    if packed.returncode != 0:
        return packed.returncode
    print(f"packed and checked in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
