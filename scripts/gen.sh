#!/usr/bin/env bash
# Regenerates the ygot Go structs from the YANG modules.
# Usage: scripts/gen.sh [OUTPUT_DIR [YANG_DIR]]   (defaults: gen, yang)
# Run through `make gen` or `go generate ./gen`.
#
# The generator is the version pinned by the `tool` line of go.mod, built with
# -trimpath; it runs in a staging folder where the modules sit under the
# relative name yang/, so the generated header is the same on every machine
# and for every YANG_DIR.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$(mkdir -p "${1:-$root/gen}" && cd "${1:-$root/gen}" && pwd)"
yangdir="$(cd "${2:-$root/yang}" && pwd)"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/yang"
# ietf-netconf-acm is the one standard module with configuration (/nacm,
# RFC 8341); ietf-yang-types is its import.
cp "$yangdir"/ntpagent-ntp.yang "$yangdir"/ntpagent-system.yang "$yangdir"/ntpagent-nacm-deviations.yang \
  "$yangdir"/ietf/ietf-netconf-acm@2018-02-14.yang "$yangdir"/ietf/ietf-yang-types@2013-07-15.yang "$stage/yang/"
(cd "$root" && go build -trimpath -o "$stage/generator" github.com/openconfig/ygot/generator)
cd "$stage"
# The options of every generated package: uncompressed paths (the XML codec
# walks the schema as YANG has it), a fake root named Device.
flags=(
  -generate_fakeroot -fakeroot_name=device
  -compress_paths=false
  -shorten_enum_leaf_names
  -typedef_enum_with_defmod
  -enum_suffix_for_simple_union_enums
  -generate_simple_unions
  -generate_getters -generate_leaf_getters -generate_leaf_setters
  -generate_delete -generate_append -generate_populate_defaults
  -generate_rename -include_model_data -yangpresence
  -include_schema -ignore_unsupported
  -generate_ordered_maps=true
)
./generator -path=yang -output_file="$out/ntpagent.go" -package_name=gen "${flags[@]}" \
  yang/ntpagent-ntp.yang yang/ntpagent-system.yang yang/ntpagent-nacm-deviations.yang \
  yang/ietf-netconf-acm@2018-02-14.yang
gofmt -w "$out/ntpagent.go"

# The OpenConfig view (gen/openconfig): openconfig-system as ntpagent
# deviates it; the top-level trees of the modules it imports are not the
# view's (-exclude_modules).
mkdir -p "$stage/openconfig" "$out/openconfig"
cp "$yangdir"/openconfig/*.yang "$stage/openconfig/"
./generator -path=openconfig -output_file="$out/openconfig/openconfig.go" -package_name=openconfig "${flags[@]}" \
  -exclude_modules=openconfig-platform,openconfig-messages \
  openconfig/openconfig-system@2022-12-19.yang openconfig/ntpagent-openconfig-deviations.yang
gofmt -w "$out/openconfig/openconfig.go"

# The Huawei legacy view (gen/huawei): our text of VRP's legacy NTP schema.
mkdir -p "$stage/views" "$out/huawei"
cp "$yangdir"/views/*.yang "$stage/views/"
./generator -path=views -output_file="$out/huawei/huawei.go" -package_name=huawei "${flags[@]}" \
  views/ntpagent-huawei-vrp.yang
gofmt -w "$out/huawei/huawei.go"

# The ietf-ntp view (gen/ietfntp): RFC 9249 as ntpagent deviates it; the
# top-level trees of the modules it imports are not the view's.
mkdir -p "$stage/ietfntp" "$out/ietfntp"
cp "$yangdir"/ietf/*.yang "$yangdir"/views/ntpagent-ietf-ntp-deviations.yang "$stage/ietfntp/"
./generator -path=ietfntp -output_file="$out/ietfntp/ietfntp.go" -package_name=ietfntp "${flags[@]}" \
  -exclude_modules=ietf-interfaces,ietf-system,ietf-access-control-list,ietf-netconf-acm \
  ietfntp/ietf-ntp@2022-07-05.yang ietfntp/ntpagent-ietf-ntp-deviations.yang
gofmt -w "$out/ietfntp/ietfntp.go"
