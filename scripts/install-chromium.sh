#!/usr/bin/env bash
# Installs Debian's Chromium for the console's browser tests (tests/Actionflow.Console.Tests): Playwright drives it
# through its ExecutablePath, since Playwright's own browser download is not reachable from this machine kind.
# Idempotent (about 0.1 s when it is already there); needs root for apt-get. Progress goes to stderr.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
CHROMIUM=${ACTIONFLOW_TEST_CHROMIUM:-/usr/bin/chromium}

if [[ -x "$CHROMIUM" ]]; then
  echo "[install-chromium] $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM") already installed" >&2
  exit 0
fi
[[ "$(id -u)" == 0 ]] || { echo "[install-chromium] ERROR: chromium is missing and installing it needs root" >&2; exit 1; }

echo "[install-chromium] installing chromium and a font from Debian's packages" >&2
# A stale package list is the usual reason for "Unable to locate package" on a fresh machine.
apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >&2
echo "[install-chromium] $("$CHROMIUM" --version)" >&2
