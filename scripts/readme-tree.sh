#!/usr/bin/env bash
# Rewrites the YANG tree in README.md (between the yang-tree markers) from
# `yanglint -f tree`; yang.TestReadmeTreeIsCurrent fails when it is stale.
set -euo pipefail
cd "$(dirname "$0")/.."
tree="$(cd yang && yanglint -p ietf -f tree ntpagent-ntp.yang ntpagent-system.yang)"
python3 - "$tree" <<'PY'
import sys, re
tree = sys.argv[1]
s = open("README.md").read()
new = "<!-- yang-tree:begin -->\n```\n" + tree.rstrip("\n") + "\n```\n<!-- yang-tree:end -->"
s2 = re.sub(r"<!-- yang-tree:begin -->.*?<!-- yang-tree:end -->", lambda m: new, s, flags=re.S)
open("README.md", "w").write(s2)
PY
