#!/usr/bin/env python3
"""Prints a `swift test --skip` regular expression matching every suite tagged `.integration` (specs that
need the local stack or start child processes), read from the test sources. `scripts/test.sh --unit`
runs everything else: the unit specs, in-process, in seconds."""
import glob, os, re, sys

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
names = []
for path in sorted(glob.glob(os.path.join(root, "Tests", "*Tests", "*.swift"))):
    text = open(path, encoding="utf-8").read()
    for match in re.finditer(r"@Suite\((?:[^()]|\([^()]*\))*\.tags\(\.integration\)(?:[^()]|\([^()]*\))*\)\s*(?:(?:public|final|internal)\s+)*(?:struct|class|enum|actor)\s+(\w+)", text):
        names.append(match.group(1))
if not names:
    sys.exit("no suite is tagged .integration")
print(r"\.(" + "|".join(sorted(set(names))) + r")/")
