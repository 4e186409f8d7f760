#!/usr/bin/env python3
"""MSRV check that needs only the one installed toolchain.

Only one Rust toolchain exists on the CI machine and none can be fetched, so the crates cannot
be built with the declared minimum supported Rust version (MSRV) itself. This checks what can be
checked without it:

1. every workspace crate declares `rust-version`, and the published ones all the same value;
2. every package in Cargo.lock (all features, dev-dependencies included) declares a
   `rust-version` no newer than the MSRV of the workspace crates that depend on it, so the
   locked dependencies build on the MSRV as far as their authors say;
3. the workspace uses cargo's MSRV-aware resolver (`resolver = "3"`, or
   `resolver.incompatible-rust-versions = "fallback"`), so `cargo update` and users' fresh
   resolutions keep choosing dependency versions that support the MSRV;
4. the installed toolchain is not older than the MSRV (otherwise the build proves nothing).

Not checked here: that our own code uses no language feature newer than the MSRV (rustc cannot
tell without the older toolchain). Standard-library APIs newer than the MSRV are caught by
clippy's `incompatible_msrv` lint, which reads `rust-version` and runs in `cargo clippy`.
"""
import json
import re
import subprocess
import sys
import tomllib


def version(text):
    parts = [int(p) for p in re.findall(r"\d+", text)[:3]]
    return tuple(parts + [0] * (3 - len(parts)))


def show(v):
    return ".".join(map(str, v))


def main():
    meta = json.loads(subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--locked", "--all-features"],
        check=True, capture_output=True, text=True).stdout)
    packages = {p["id"]: p for p in meta["packages"]}
    members = set(meta["workspace_members"])
    nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
    errors = []

    # 1. declared, and one value for the published crates
    published = {}
    for pid in members:
        p = packages[pid]
        if not p.get("rust_version"):
            errors.append(f"{p['name']}: no rust-version")
        elif p.get("publish") != []:
            published[p["name"]] = version(p["rust_version"])
    if len(set(published.values())) > 1:
        errors.append(f"published crates declare different MSRVs: {published}")
    msrv = max(published.values()) if published else (0, 0, 0)

    # 2. dependencies (normal, build and dev, every feature) against each member's MSRV
    worst = {}
    for pid in members:
        member = packages[pid]
        limit = version(member.get("rust_version") or "0")
        seen, stack = set(), [pid]
        while stack:
            cur = stack.pop()
            for dep in nodes[cur]["deps"]:
                # dev-dependencies of our own crates count (tests build at the MSRV too); those
                # of dependencies are never built.
                kinds = {k["kind"] for k in dep["dep_kinds"]}
                if cur != pid and kinds == {"dev"}:
                    continue
                if dep["pkg"] in seen:
                    continue
                seen.add(dep["pkg"])
                stack.append(dep["pkg"])
        for dep in seen - members:
            d = packages[dep]
            if d.get("rust_version"):
                v = version(d["rust_version"])
                if v > limit:
                    errors.append(f"{member['name']} (rust-version {show(limit)}) depends on "
                                  f"{d['name']} {d['version']}, which needs {d['rust_version']}")
                if v > worst.get(member["name"], ((0, 0, 0), ""))[0]:
                    worst[member["name"]] = (v, f"{d['name']} {d['version']}")

    # 3. the MSRV-aware resolver
    root = tomllib.load(open(meta["workspace_root"] + "/Cargo.toml", "rb"))
    resolver = str(root.get("workspace", {}).get("resolver", ""))
    fallback = False
    try:
        cfg = open(meta["workspace_root"] + "/.cargo/config.toml", "rb")
        fallback = tomllib.load(cfg).get("resolver", {}).get(
            "incompatible-rust-versions") == "fallback"
    except FileNotFoundError:
        pass
    if resolver != "3" and not fallback:
        errors.append('the workspace does not use the MSRV-aware resolver (resolver = "3")')

    # 4. the toolchain
    rustc = version(subprocess.run(["rustc", "--version"], check=True, capture_output=True,
                                   text=True).stdout.split()[1])
    if rustc < msrv:
        errors.append(f"rustc {show(rustc)} is older than the MSRV {show(msrv)}")

    print(f"MSRV {show(msrv)} (published crates), rustc {show(rustc)}, resolver {resolver or '?'}")
    for name in sorted(worst):
        v, who = worst[name]
        print(f"  {name}: newest dependency requirement {show(v)} ({who})")
    unknown = sum(1 for p in packages.values() if not p.get("rust_version"))
    print(f"  {len(packages)} packages in Cargo.lock, {unknown} declare no rust-version "
          "(not checkable)")
    for e in errors:
        print("error:", e, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
