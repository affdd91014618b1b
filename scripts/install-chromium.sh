#!/usr/bin/env bash
# install-chromium.sh — make sure /usr/bin/chromium exists for the browser
# tests in e2e/ (driven by chromedp, which needs no chromium-driver).
# Installs Debian's "chromium" package with apt-get when it is missing.
# Runs as root (CI) or through sudo when available. Idempotent.
set -euo pipefail

CHROMIUM=${CHROMIUM:-/usr/bin/chromium}

if [ -x "$CHROMIUM" ]; then
	echo "install-chromium: $CHROMIUM present: $("$CHROMIUM" --version 2>/dev/null || echo 'version unknown')"
	exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO="sudo"
	else
		echo "install-chromium: $CHROMIUM missing and not root (no sudo): run as root: apt-get install chromium" >&2
		exit 1
	fi
fi
if ! command -v apt-get >/dev/null 2>&1; then
	echo "install-chromium: $CHROMIUM missing and apt-get not found: install Chromium so that $CHROMIUM exists" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "install-chromium: $CHROMIUM missing; running: $SUDO apt-get update"
$SUDO apt-get update -q
echo "install-chromium: running: $SUDO apt-get install -y --no-install-recommends chromium fonts-dejavu-core"
$SUDO apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core

if [ ! -x "$CHROMIUM" ]; then
	echo "install-chromium: apt-get finished but $CHROMIUM is still missing" >&2
	exit 1
fi
echo "install-chromium: installed: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
