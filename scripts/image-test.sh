#!/usr/bin/env bash
# image-test.sh: builds the container image from ./Dockerfile and checks it:
# `ora2gcs --version` (cgo build, version stamped), the non-root user, the
# demo job (`ora2gcs run`, output in a volume, gunzipped and counted), the
# Oracle answer of an image without Instant Client, and `ora2gcs serve`
# (read-only root filesystem, API key from a file via API_KEY_FILE, the
# HEALTHCHECK, /api/v1/health/live and /ready, a request with and without the
# key, JSON logs without the key, a clean stop on SIGTERM). Every container
# runs with --network none; the server is checked from inside it.
#
# `image-test.sh build` only builds the image (make image).
# Environment:
#   ENGINE         podman (default when installed) or docker
#   IMAGE          tag to build (default localhost/ora2gcs:test)
#   BUILDER_IMAGE, RUNTIME_IMAGE   as in the Dockerfile (defaults: official images)
#   LOCAL_BUILDER=1  for machines without a registry: builds a Go builder image
#                  from RUNTIME_IMAGE plus this machine's Go toolchain and gcc,
#                  and serves this machine's module cache as the build's
#                  GOPROXY (podman build -v), so the Dockerfile's stages all
#                  run unchanged. Chosen by itself (with RUNTIME_IMAGE
#                  localhost/debian:bookworm-slim) when BUILDER_IMAGE is not
#                  present and that local base image is.
#   VERSION, COMMIT, DATE   stamped into the binary (make passes them)
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${ENGINE:-}" ]; then
	if command -v podman >/dev/null 2>&1; then ENGINE=podman; else ENGINE=docker; fi
fi
if [ "$ENGINE" = podman ] && [ -z "${CONTAINERS_CONF:-}" ] && [ -f "$HOME/.config/ora2gcs-containers.conf" ]; then
	export CONTAINERS_CONF=$HOME/.config/ora2gcs-containers.conf # written by podman-local.sh
fi
IMAGE=${IMAGE:-localhost/ora2gcs:test}
BUILDER_IMAGE=${BUILDER_IMAGE:-golang:1.26-bookworm}
# No registry (these machines): the local Debian base and a local builder.
if [ -z "${LOCAL_BUILDER:-}" ] && [ "$ENGINE" = podman ] && [ -z "${RUNTIME_IMAGE:-}" ] &&
	! podman image exists "$BUILDER_IMAGE" && podman image exists localhost/debian:bookworm-slim; then
	echo "image-test: $BUILDER_IMAGE is not here and localhost/debian:bookworm-slim is: LOCAL_BUILDER=1"
	LOCAL_BUILDER=1
	RUNTIME_IMAGE=localhost/debian:bookworm-slim
fi
RUNTIME_IMAGE=${RUNTIME_IMAGE:-debian:bookworm-slim}
VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
COMMIT=${COMMIT:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}
DATE=${DATE:-$(date -u +%Y-%m-%dT%H:%M:%SZ)}

start=$SECONDS
lap=$SECONDS
step() {
	echo "image-test: $1 ($((SECONDS - lap)) s)"
	lap=$SECONDS
}
fail() {
	echo "image-test: FAIL: $*" >&2
	exit 1
}
work=$(mktemp -d)
cid=""
cleanup() {
	if [ -n "$cid" ]; then "$ENGINE" rm -f "$cid" >/dev/null 2>&1 || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

build_args=(--build-arg "BUILDER_IMAGE=$BUILDER_IMAGE" --build-arg "RUNTIME_IMAGE=$RUNTIME_IMAGE"
	--build-arg "VERSION=$VERSION" --build-arg "COMMIT=$COMMIT" --build-arg "DATE=$DATE")
if [ "$ENGINE" = podman ]; then build_args+=(--format docker); fi # keeps the HEALTHCHECK

if [ "${LOCAL_BUILDER:-0}" = 1 ]; then
	[ "$ENGINE" = podman ] || fail "LOCAL_BUILDER=1 needs podman (build-time volumes)"
	gover=$(go env GOVERSION)
	BUILDER_IMAGE=localhost/ora2gcs-golang:${gover#go}-bookworm
	if ! podman image exists "$BUILDER_IMAGE"; then
		ctx=$work/golang
		mkdir -p "$ctx"
		cp -a "$(go env GOROOT)" "$ctx/go"
		cat >"$ctx/Containerfile" <<-EOF
			FROM $RUNTIME_IMAGE
			RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends gcc libc6-dev ca-certificates && rm -rf /var/lib/apt/lists/*
			COPY go /usr/local/go
			ENV PATH=/usr/local/go/bin:/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin GOPATH=/go
		EOF
		podman build -q -t "$BUILDER_IMAGE" "$ctx" >/dev/null
		rm -rf "$ctx"
		step "built local builder image $BUILDER_IMAGE from $RUNTIME_IMAGE and $(go env GOROOT)"
	fi
	build_args+=(--build-arg "BUILDER_IMAGE=$BUILDER_IMAGE"
		--build-arg GOPROXY=file:///goproxy --build-arg GOSUMDB=off
		-v "$(go env GOMODCACHE)/cache/download:/goproxy:ro")
fi

"$ENGINE" build "${build_args[@]}" -t "$IMAGE" . >"$work/build.log" 2>&1 || {
	tail -n 40 "$work/build.log" >&2
	fail "image build"
}
grep -E '^(instantclient/|Oracle Instant Client from|ora2gcs )' "$work/build.log" | sed 's/^/image-test:   /' || true
step "built $IMAGE (builder $BUILDER_IMAGE, runtime $RUNTIME_IMAGE)"
if [ "${1:-}" = build ]; then exit 0; fi # make image: build only

run=("$ENGINE" run --rm --network none --no-healthcheck)

# 1. --version: the cgo build with Oracle, stamped with the version.
out=$("${run[@]}" "$IMAGE" --version)
echo "image-test:   $out"
[[ $out == "ora2gcs $VERSION "* ]] || fail "--version does not start with 'ora2gcs $VERSION': $out"
[[ $out == *"commit $COMMIT"* ]] || fail "--version does not name commit $COMMIT"
[[ $out == *"oracle: yes"* ]] || fail "--version: the image's binary has no Oracle support"
uid=$("${run[@]}" --entrypoint id "$IMAGE" -u)
[ "$uid" = 10001 ] || fail "the image runs as uid $uid, want 10001"
step "--version and non-root user ok"

# 2. The demo job, its objects in a volume.
data=$work/data
mkdir -m 0777 "$data"
"${run[@]}" -v "$data:/var/lib/ora2gcs/data" "$IMAGE" run --rows 2000 --quiet >"$work/run.out" 2>&1 || {
	cat "$work/run.out" >&2
	fail "ora2gcs run in the image"
}
n=0
for t in VBRP VBRK LIKP; do
	f=$(find "$data" -path "*TRP-LOCAL/v001/$t.jsonl.gz" | head -n 1)
	[ -n "$f" ] || fail "demo: no $t.jsonl.gz below the volume"
	rows=$(gzip -dc "$f" | wc -l)
	[ "$rows" = 2000 ] || fail "demo: $t has $rows lines, want 2000"
	n=$((n + rows))
done
[ -n "$(find "$data" -path '*TRP-LOCAL/v001/_manifest.json')" ] || fail "demo: no _manifest.json"
step "demo job ok: 3 tables, $n rows gunzipped and counted, manifest written"

# 3. Oracle without Instant Client: one clear error, not a crash.
if [ -z "$("${run[@]}" --entrypoint ls "$IMAGE" -A /opt/oracle/instantclient)" ]; then
	set +e
	"${run[@]}" -e ORACLE_PASSWORD=not-used "$IMAGE" tables --source oracle://scott@db.invalid:1521/ORCL >"$work/ora.out" 2>&1
	rc=$?
	set -e
	[ $rc -ne 0 ] || fail "oracle without Instant Client succeeded"
	grep -qi 'instant client' "$work/ora.out" || {
		cat "$work/ora.out" >&2
		fail "oracle without Instant Client: the error does not name Instant Client"
	}
	echo "image-test:   $(grep -i 'instant client' "$work/ora.out" | head -n 1) (exit $rc)"
	step "image has no Instant Client: Oracle answers with one clear line"
else
	step "image has Instant Client in /opt/oracle/instantclient (no database here to connect to)"
fi

# 4. serve: read-only root, key from a file, health, auth, logs, SIGTERM.
state=$work/state
mkdir -m 0777 "$state"
key="test-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
printf '%s\n' "$key" >"$work/api_key"
chmod 0444 "$work/api_key"
cid=$("$ENGINE" run -d --network none --read-only --tmpfs /tmp \
	-v "$state:/var/lib/ora2gcs" -v "$work/api_key:/run/secrets/ora2gcs/api_key:ro" \
	-e API_KEY_FILE=/run/secrets/ora2gcs/api_key "$IMAGE" 2>"$work/run-d.err") || {
	cat "$work/run-d.err" >&2
	fail "serve: podman run"
}
ok=0
for _ in $(seq 1 60); do
	if "$ENGINE" exec "$cid" ora2gcs-healthcheck /api/health 2>/dev/null; then
		ok=1
		break
	fi
	[ "$("$ENGINE" inspect -f '{{.State.Running}}' "$cid")" = true ] || break
	sleep 0.5
done
[ $ok = 1 ] || {
	"$ENGINE" logs "$cid" >&2
	fail "serve: /api/health never answered 200"
}
step "serve answering /api/health"
if [ "$ENGINE" = podman ]; then
	podman healthcheck run "$cid" >/dev/null 2>"$work/hc.err" || fail "serve: the image's HEALTHCHECK reports unhealthy"
fi
for p in /api/v1/health/live /api/v1/health/ready; do
	"$ENGINE" exec "$cid" ora2gcs-healthcheck "$p" || fail "serve: GET $p is not 200"
done
# get PATH [key]: the status line of GET PATH, with the key from the mounted file when asked.
get=$(
	cat <<'EOF'
k=""; if [ -n "${2:-}" ]; then k=$(cat /run/secrets/ora2gcs/api_key); fi
exec 3<>/dev/tcp/127.0.0.1/8080
printf 'GET %s HTTP/1.0\r\nX-API-Key: %s\r\n\r\n' "$1" "$k" >&3
IFS= read -r l <&3
printf '%s\n' "${l%$'\r'}"
EOF
)
s=$("$ENGINE" exec "$cid" bash -c "$get" _ /api/v1/transports)
[[ $s == *" 401 "* ]] || fail "serve: GET /api/v1/transports without a key: $s, want 401"
s=$("$ENGINE" exec "$cid" bash -c "$get" _ /api/v1/transports key)
[[ $s == *" 200 "* ]] || fail "serve: GET /api/v1/transports with the key from API_KEY_FILE: $s, want 200"
step "HEALTHCHECK, live, ready ok; API 401 without the key, 200 with the key from API_KEY_FILE"
t0=$SECONDS
"$ENGINE" stop -t 30 "$cid" >/dev/null 2>"$work/stop.err"
stop_s=$((SECONDS - t0))
code=$("$ENGINE" inspect -f '{{.State.ExitCode}}' "$cid")
"$ENGINE" logs "$cid" >"$work/serve.log" 2>&1
if grep -qF "$key" "$work/serve.log"; then fail "serve: the API key appears in the logs"; fi
grep -q '^{' "$work/serve.log" || fail "serve: no JSON log lines"
grep -q '"message":"ora2gcs serving"' "$work/serve.log" || fail "serve: no 'ora2gcs serving' log line"
[ "$code" = 0 ] || {
	cat "$work/serve.log" >&2
	fail "serve: exit code $code after SIGTERM, want 0"
}
[ -f "$state/data/ora2gcs.db" ] || fail "serve: no state database in the volume"
"$ENGINE" rm "$cid" >/dev/null 2>&1
cid=""
step "stopped on SIGTERM in ${stop_s} s with exit 0; JSON logs without the key"

size=$("$ENGINE" image inspect -f '{{.Size}}' "$IMAGE")
echo "image-test: ok in $((SECONDS - start)) s; image $IMAGE $((size / 1000000)) MB"
