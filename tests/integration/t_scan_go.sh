#!/bin/bash
# t_scan_go.sh: a real Go binary (built here with the Debian golang-go
# toolchain, offline) in an image: `customs scan` reports its dependencies
# (one replaced by a local directory keeps its own name and version) and
# the Go standard library; the main module, built from a working tree as
# "(devel)", has no version to report.  Skips when `go` is not installed.
# Exit 0 pass, 1 fail, 77 skip.
# backend: none (`customs scan` on files: no server, no store)
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
CUSTOMS=$BUILD/customs
DATA=$ROOT/tests/data
for tool in go jq tar gzip sha256sum; do
	command -v $tool >/dev/null || { echo "skip: $tool missing"; exit 77; }
done
[ -x "$CUSTOMS" ] || { echo "skip: $CUSTOMS not built"; exit 77; }
. "$DATA/images/mklayout.sh"

T=$(mktemp -d)
trap 'chmod -R u+w "$T" 2>/dev/null; rm -rf "$T"' EXIT
cd "$T"
fail=0
bad() { echo "FAIL: $*"; fail=1; }

mkdir -p src/app src/greet
cat >src/greet/go.mod <<'GO'
module example.com/greet

go 1.18
GO
cat >src/greet/greet.go <<'GO'
package greet

func Hello() string { return "hello" }
GO
cat >src/app/go.mod <<'GO'
module example.com/app

go 1.18

require example.com/greet v1.2.3

replace example.com/greet v1.2.3 => ../greet
GO
cat >src/app/main.go <<'GO'
package main

import (
	"fmt"

	"example.com/greet"
)

func main() { fmt.Println(greet.Hello()) }
GO
export GOPATH=$T/gopath GOCACHE=$T/gocache GOPROXY=off GOFLAGS=-mod=mod \
	GOTOOLCHAIN=local CGO_ENABLED=0
mkdir -p img/usr/local/bin
if ! (cd src/app && go build -o "$T/img/usr/local/bin/app" . 2>"$T/build.log"); then
	cat build.log
	echo "skip: go build failed offline"
	exit 77
fi
gover=$(go env GOVERSION)
oci_image layout go img >/dev/null
"$CUSTOMS" scan layout:go >r.json || bad "scan exit $?"
jq -e --arg v "${gover#go}" '
	any(.packages[]; .name == "stdlib" and .version == $v and
		.ecosystem == "Go" and .path == "usr/local/bin/app") and
	any(.packages[]; .name == "example.com/greet" and .version == "v1.2.3") and
	(any(.packages[]; .name == "example.com/app") | not) and
	(.packages | length) == 2' r.json >/dev/null ||
	{ bad "Go packages"; jq .packages r.json; }
"$CUSTOMS" scan --format cyclonedx layout:go | jq -e --arg v "${gover#go}" \
	'any(.components[]; .purl == "pkg:golang/stdlib@" + $v)' >/dev/null ||
	bad "Go purl"
[ $fail -eq 0 ] && echo "ok: Go binary"
exit $fail
