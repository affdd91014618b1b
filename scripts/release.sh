#!/usr/bin/env bash
# release.sh: release archives in dist/ (make release):
#   ora2gcs_VERSION_linux_amd64.tar.gz   cgo build: Oracle (Instant Client at run time), PostgreSQL, synth
#   ora2gcs_VERSION_linux_arm64.tar.gz   the same, cross-compiled with aarch64-linux-gnu-gcc;
#   ora2gcs_VERSION_linux_arm64_no-oracle.tar.gz  instead when that compiler is missing (CGO_ENABLED=0)
#   SHA256SUMS
# Each archive holds one directory with the binary, README.md, LICENSE (if
# any), config.example.yaml and deploy/ (entrypoint, Compute Engine unit).
# Archives are reproducible for a commit: sorted entries, owner 0, mtimes and
# build date from the commit (SOURCE_DATE_EPOCH), gzip without a name or time.
# Environment: GO, VERSION, COMMIT, DATE, SOURCE_DATE_EPOCH, DIST (default dist),
# CC_ARM64 (default aarch64-linux-gnu-gcc).
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
DIST=${DIST:-dist}
VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
COMMIT=${COMMIT:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
DATE=${DATE:-$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)}
CC_ARM64=${CC_ARM64:-aarch64-linux-gnu-gcc}
export SOURCE_DATE_EPOCH
ldflags="-s -w -X main.version=$VERSION -X main.commit=$COMMIT -X main.date=$DATE"
host=$("$GO" env GOHOSTARCH)

rm -rf "$DIST"
mkdir -p "$DIST"

# package ARCH CGO CC SUFFIX
package() {
	local arch=$1 cgo=$2 cc=$3 suffix=$4
	local name=ora2gcs_${VERSION}_linux_${arch}${suffix}
	local stage=$DIST/$name
	local t0=$SECONDS
	mkdir -p "$stage/deploy"
	CGO_ENABLED=$cgo GOOS=linux GOARCH=$arch CC=$cc \
		"$GO" build -trimpath -ldflags "$ldflags" -o "$stage/ora2gcs" ./cmd/ora2gcs
	cp README.md deploy/config.example.yaml "$stage/"
	if [ -f LICENSE ]; then cp LICENSE "$stage/"; fi
	cp -r deploy/bin deploy/compute-engine "$stage/deploy/"
	tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" \
		-C "$DIST" -cf - "$name" | gzip -n -9 >"$DIST/$name.tar.gz"
	if [ "$arch" = "$host" ]; then
		echo "release: $("$stage/ora2gcs" --version)"
	fi
	local objdump=${cc%gcc}objdump
	if [ "$cgo" = 1 ] && command -v "$objdump" >/dev/null 2>&1; then
		echo "release:   needs glibc >= $({ "$objdump" -T "$stage/ora2gcs" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -n 1 | cut -d_ -f2; } || true)"
	fi
	rm -rf "$stage"
	echo "release: $DIST/$name.tar.gz ($(stat -c %s "$DIST/$name.tar.gz") bytes, $((SECONDS - t0)) s)"
}

for arch in amd64 arm64; do
	if [ "$arch" = "$host" ]; then
		package "$arch" 1 "${CC:-gcc}" ""
	elif [ "$arch" = arm64 ] && command -v "$CC_ARM64" >/dev/null 2>&1; then
		package arm64 1 "$CC_ARM64" ""
	elif [ "$arch" = amd64 ] && command -v x86_64-linux-gnu-gcc >/dev/null 2>&1; then
		package amd64 1 x86_64-linux-gnu-gcc ""
	else
		echo "release: no C cross compiler for $arch (apt-get install gcc-aarch64-linux-gnu): building it without cgo, so without Oracle" >&2
		package "$arch" 0 "" "_no-oracle"
	fi
done
(cd "$DIST" && sha256sum -- *.tar.gz >SHA256SUMS)
cat "$DIST/SHA256SUMS"
