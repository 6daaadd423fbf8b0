#!/usr/bin/env python3
"""Checks that stagger's declared rust-version holds for what a user builds.

Two halves, one per place an MSRV breaks:

- stagger's own code: clippy's `incompatible_msrv` lint (on by default, an
  error under `-D warnings` in scripts/test.sh) flags any std API newer than
  `rust-version`.
- its dependencies: this script. It walks the normal (not dev, not build,
  not `cfg(loom)`) dependencies of stagger with every feature on, as the lock file resolves
  them, and fails if one declares a `rust-version` newer than stagger's.
  Packages that declare none are listed: nothing can be checked for them
  short of building with that toolchain.

Usage: python3 scripts/msrv.py   (from the repository; needs cargo)
"""

import json
import subprocess
import sys


def version_tuple(version):
    parts = [int(part) for part in version.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


def main():
    metadata = json.loads(
        subprocess.run(
            ["cargo", "metadata", "--format-version", "1", "--locked", "--all-features"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    packages = {package["id"]: package for package in metadata["packages"]}
    nodes = {node["id"]: node for node in metadata["resolve"]["nodes"]}
    root = next(p for p in metadata["packages"] if p["name"] == "stagger")
    msrv = root["rust_version"]

    # Normal dependencies, transitively, from stagger.
    seen, stack = set(), [root["id"]]
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        for dep in nodes[current]["deps"]:
            # A user never builds what only `--cfg loom` (stagger's model
            # checking, scripts/test.sh) brings in.
            if any(
                kind["kind"] is None and kind.get("target") != "cfg(loom)"
                for kind in dep["dep_kinds"]
            ):
                stack.append(dep["pkg"])
    seen.discard(root["id"])

    newer, undeclared = [], []
    for package_id in sorted(seen, key=lambda i: packages[i]["name"]):
        package = packages[package_id]
        declared = package.get("rust_version")
        label = f"{package['name']} {package['version']}"
        if declared is None:
            undeclared.append(label)
        elif version_tuple(declared) > version_tuple(msrv):
            newer.append(f"{label} needs Rust {declared}")

    print(f"stagger's rust-version: {msrv}; {len(seen)} dependencies checked (all features)")
    if undeclared:
        print(f"declare no rust-version (not checked): {', '.join(undeclared)}")
    if newer:
        print("newer than stagger's rust-version:")
        for line in newer:
            print(f"  {line}")
        return 1
    print(f"every dependency that declares a rust-version builds on {msrv}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
