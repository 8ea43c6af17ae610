#!/usr/bin/env bash
# Regenerates the ygot Go structs from the YANG modules in yang/.
# Usage: scripts/gen.sh [OUTPUT_DIR]   (default: gen)
# Run through `make gen` or `go generate ./gen`. -trimpath keeps the
# generated header identical on every machine.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-gen}"
mkdir -p "$out"
go run -trimpath github.com/openconfig/ygot/generator \
  -path=yang \
  -output_file="$out/ntpagent.go" \
  -package_name=gen \
  -generate_fakeroot -fakeroot_name=device \
  -compress_paths=false \
  -shorten_enum_leaf_names \
  -typedef_enum_with_defmod \
  -enum_suffix_for_simple_union_enums \
  -generate_simple_unions \
  -generate_getters -generate_leaf_getters -generate_leaf_setters \
  -generate_delete -generate_append -generate_populate_defaults \
  -generate_rename -include_model_data -yangpresence \
  -include_schema -ignore_unsupported \
  yang/ntpagent-ntp.yang yang/ntpagent-system.yang
gofmt -w "$out/ntpagent.go"
