#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""docs/api.md against the built library and green.h.

Usage: tests/api_docs.py LIBGREEN_SO SOURCE_DIR

Fails (exit 1, names printed) when
  (a) a green_* function libgreen.so exports (nm -D --defined-only, T or W) has no entry,
  (b) an entry (a "### green_x" heading) names a function green.h does not declare with
      GREEN_EXTERN, or the library does not export,
  (c) scripts/api-docs --check reports docs/api.md stale.
"""
import os
import re
import subprocess
import sys


def exported(lib):
    out = subprocess.run(["nm", "-D", "--defined-only", lib], check=True, capture_output=True,
                         text=True).stdout
    names = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in ("T", "W") and parts[2].startswith("green_"):
            names.add(parts[2].split("@")[0])
    return names


def declared(header):
    with open(header, encoding="utf-8") as f:
        text = f.read()
    return set(re.findall(r"^GREEN_EXTERN\b[^;(]*?\b(green_\w+)\s*\(", text, re.M))


def entries(doc):
    with open(doc, encoding="utf-8") as f:
        heads = re.findall(r"^### (\S+)\s*$", f.read(), re.M)
    dups = sorted({h for h in heads if heads.count(h) > 1})
    return set(heads), dups


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    lib, src = sys.argv[1], sys.argv[2]
    syms = exported(lib)
    decls = declared(os.path.join(src, "include", "green.h"))
    docs, dups = entries(os.path.join(src, "docs", "api.md"))
    failed = False

    def report(what, names):
        nonlocal failed
        if names:
            failed = True
            print("api_docs: %s (%d): %s" % (what, len(names), " ".join(sorted(names))))

    if len(syms) < 50 or len(decls) < 50:  # a broken nm or parse must not pass as "no gaps"
        print("api_docs: only %d exported and %d declared green_* functions found"
              % (len(syms), len(decls)))
        return 1
    report("exported but without an entry in docs/api.md", syms - docs)
    report("entries that green.h does not declare", docs - decls)
    report("entries that libgreen.so does not export", docs - syms)
    report("entries written twice", dups)
    check = subprocess.run([sys.executable, os.path.join(src, "scripts", "api-docs"), "--check",
                            "-o", os.path.join(src, "docs", "api.md")], capture_output=True,
                           text=True)
    if check.returncode != 0:
        failed = True
        print("api_docs: scripts/api-docs --check failed (%d): %s"
              % (check.returncode, check.stderr.strip()))
    if not failed:
        print("api_docs: %d exported functions, %d entries, docs/api.md up to date"
              % (len(syms), len(docs)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
