#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Write flatpak/cargo-sources.json from Cargo.lock, without network access.

flatpak-builder builds offline, so every crate in Cargo.lock becomes an
archive source (checked against the sha256 that Cargo.lock already records)
unpacked into cargo/vendor/NAME-VERSION, plus the .cargo-checksum.json and
the cargo config that make cargo use that directory instead of crates.io.
The hangar module sets CARGO_HOME=/run/build/hangar/cargo to pick it up.

Run it again whenever Cargo.lock changes:
    python3 flatpak/generate-cargo-sources.py            # from the project root
    python3 flatpak/generate-cargo-sources.py --check    # exit 1 if out of date
"""
import argparse
import json
import pathlib
import sys

try:
    import tomllib  # Python 3.11+
except ModuleNotFoundError:  # pragma: no cover
    sys.exit("needs Python 3.11 or newer (tomllib)")

CRATES_IO = "registry+https://github.com/rust-lang/crates.io-index"
CARGO_CONFIG = """[source.vendored-sources]
directory = "cargo/vendor"

[source.crates-io]
replace-with = "vendored-sources"
"""


def sources_for(lock):
    out = []
    for pkg in sorted(lock.get("package", []), key=lambda p: (p["name"], p["version"])):
        source = pkg.get("source")
        if source is None:
            continue  # a workspace member: built from the project's own tree
        if source != CRATES_IO:
            sys.exit(f"{pkg['name']} {pkg['version']}: unsupported source {source!r} "
                     "(only crates.io packages are handled)")
        name, version, checksum = pkg["name"], pkg["version"], pkg["checksum"]
        dest = f"cargo/vendor/{name}-{version}"
        out.append({
            "type": "archive",
            "archive-type": "tar-gzip",
            "url": f"https://static.crates.io/crates/{name}/{name}-{version}.crate",
            "sha256": checksum,
            "dest": dest,
        })
        out.append({
            "type": "inline",
            "contents": json.dumps({"package": checksum, "files": {}}),
            "dest": dest,
            "dest-filename": ".cargo-checksum.json",
        })
    out.append({
        "type": "inline",
        "contents": CARGO_CONFIG,
        "dest": "cargo",
        "dest-filename": "config.toml",
    })
    return out


def main():
    here = pathlib.Path(__file__).resolve().parent
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lock", type=pathlib.Path, default=here.parent / "Cargo.lock")
    ap.add_argument("--output", type=pathlib.Path, default=here / "cargo-sources.json")
    ap.add_argument("--check", action="store_true",
                    help="do not write; exit 1 if the output is missing or out of date")
    args = ap.parse_args()

    lock = tomllib.loads(args.lock.read_text())
    text = json.dumps(sources_for(lock), indent=4) + "\n"
    if args.check:
        current = args.output.read_text() if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is out of date: run {pathlib.Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    args.output.write_text(text)
    crates = sum(1 for s in json.loads(text) if s["type"] == "archive")
    print(f"wrote {args.output} ({crates} crates)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
