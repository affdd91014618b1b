# syntax=docker/dockerfile:1
#
# ora2gcs container image: the cgo build (Oracle support through godror) on a
# slim Debian runtime with Oracle Instant Client 19 when you provide it.
#
#   docker build -t ora2gcs .                       # put the Instant Client zip in instantclient/ first
#   docker run --rm ora2gcs --version
#   docker run -d -p 8080:8080 -v ora2gcs-data:/var/lib/ora2gcs ora2gcs   # ora2gcs serve
#
# Instant Client is licensed by Oracle and cannot be downloaded by the build:
# put instantclient-basiclite-linux.<arch>-19.*.zip (or the Basic zip) in
# instantclient/ (see instantclient/README.md for where to get it). Without
# it the image is built without Instant Client; Oracle then fails with
# DPI-1047, which ora2gcs reports as a missing client.
#
# Build arguments:
#   BUILDER_IMAGE   Go toolchain image with gcc (default golang:1.26-bookworm)
#   RUNTIME_IMAGE   Debian 12 base of the final image (default debian:bookworm-slim)
#   VERSION, COMMIT, DATE   what `ora2gcs --version` prints (make image sets them)
#   GOPROXY, GOSUMDB        module download settings for the build stage
# Podman: build with --format docker, or the HEALTHCHECK is dropped (OCI
# images have none).

ARG BUILDER_IMAGE=golang:1.26-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

# ---- build: the ora2gcs binary, with cgo ------------------------------------
FROM ${BUILDER_IMAGE} AS build
ARG GOPROXY=https://proxy.golang.org,direct
ARG GOSUMDB=sum.golang.org
ARG VERSION=dev
ARG COMMIT=unknown
ARG DATE=unknown
ENV CGO_ENABLED=1 GOFLAGS=-buildvcs=false GOPROXY=${GOPROXY} GOSUMDB=${GOSUMDB} \
    GOMODCACHE=/go/pkg/mod GOCACHE=/root/.cache/go-build
WORKDIR /src
COPY . .
# Only the modules the binary needs are downloaded (not the test-only ones);
# the cache mounts keep modules and compiled packages between builds.
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT} -X main.date=${DATE}" \
      -o /out/ora2gcs ./cmd/ora2gcs \
 && /out/ora2gcs --version

# ---- instantclient: unpack the zip from the build context, if there is one --
FROM ${RUNTIME_IMAGE} AS instantclient
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends unzip \
 && rm -rf /var/lib/apt/lists/*
COPY instantclient/ /tmp/instantclient/
ARG TARGETARCH
RUN set -eu; mkdir -p /opt/oracle; cd /tmp/instantclient; \
    arch=${TARGETARCH:-$(dpkg --print-architecture)}; \
    case "$arch" in amd64) ic=x64 ;; arm64) ic=arm64 ;; *) ic=$arch ;; esac; \
    set -- $(ls instantclient-basic*-linux.$ic-*.zip 2>/dev/null || true); \
    if [ $# -eq 0 ]; then \
      echo "instantclient/: no instantclient-basic*-linux.$ic-*.zip: building the image WITHOUT Oracle Instant Client"; \
      mkdir /opt/oracle/instantclient; exit 0; \
    fi; \
    if [ $# -gt 1 ]; then echo "instantclient/: several zips for $ic ($*); keep one" >&2; exit 1; fi; \
    unzip -q "$1" -d /opt/oracle; \
    dir=$(ls -d /opt/oracle/instantclient_* | head -n 1); \
    ls "$dir"/libclntsh.so* >/dev/null 2>&1 || { echo "instantclient/$1 holds no libclntsh.so" >&2; exit 1; }; \
    mv "$dir" /opt/oracle/instantclient; \
    echo "Oracle Instant Client from instantclient/$1"

# ---- runtime -------------------------------------------------------------
FROM ${RUNTIME_IMAGE} AS runtime
# ca-certificates: TLS to Cloud Storage and Google's token endpoints;
# libaio1: needed by Instant Client (libclntsh); tzdata: IANA zones.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates libaio1 tzdata \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /var/lib/ora2gcs --create-home --shell /usr/sbin/nologin ora2gcs \
 && chmod 0700 /var/lib/ora2gcs
COPY --from=instantclient /opt/oracle/instantclient /opt/oracle/instantclient
# ODPI-C (godror) dlopens "libclntsh.so": found through LD_LIBRARY_PATH (the
# link name) as well as the ldconfig cache (Oracle's recipe).
RUN echo /opt/oracle/instantclient > /etc/ld.so.conf.d/oracle-instantclient.conf && ldconfig
ENV LD_LIBRARY_PATH=/opt/oracle/instantclient
COPY --from=build /out/ora2gcs /usr/local/bin/ora2gcs
COPY deploy/bin/ora2gcs-entrypoint deploy/bin/ora2gcs-healthcheck /usr/local/bin/
USER 10001:10001
# Default config: synthetic source, file target and state below ./data, i.e.
# /var/lib/ora2gcs/data; mount a volume on /var/lib/ora2gcs to keep them and
# a config with --config (see deploy/).
WORKDIR /var/lib/ora2gcs
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=6s --start-period=20s --retries=3 \
  CMD ["/usr/local/bin/ora2gcs-healthcheck", "/api/health"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/ora2gcs-entrypoint"]
CMD ["serve"]
