#!/usr/bin/env bash
# Runs every test: unit tests, and integration tests against the RabbitMQ and PostgreSQL named by
# ACTIONFLOW_TEST_RABBITMQ and ACTIONFLOW_TEST_POSTGRES. With neither set, it starts both first
# (scripts/start-services.sh installs them from Debian packages if needed; root required).
set -euo pipefail
cd "$(dirname "$0")"

if [[ -z "${ACTIONFLOW_TEST_POSTGRES:-}" || -z "${ACTIONFLOW_TEST_RABBITMQ:-}" ]]; then
  env_lines="$(scripts/start-services.sh --env)"
  eval "$env_lines"
fi

# The console's browser tests drive Debian's Chromium (installed here if missing; root needed for that).
bash scripts/install-chromium.sh

dotnet build Actionflow.slnx -c Release -nologo -v quiet
# -m:1: one test project at a time: several of them restart the shared broker or kill workers.
log="$(mktemp)"
rm -f artifacts/fault-injection.txt artifacts/time.txt artifacts/fuzz.txt
set +e
dotnet test Actionflow.slnx -c Release --no-build -nologo -m:1 "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

if [[ -f artifacts/time.txt ]]; then
  echo "=== time ==="
  cat artifacts/time.txt
fi
if [[ -f artifacts/fault-injection.txt ]]; then
  echo "=== fault injection ==="
  cat artifacts/fault-injection.txt
fi

if [[ -f artifacts/fuzz.txt ]]; then
  echo "=== fuzz ==="
  cat artifacts/fuzz.txt
fi

# One closing line for the whole run, summed over the test assemblies.
awk '/(Passed|Failed)!/ {
       for (i = 1; i <= NF; i++) { if ($i == "Failed:") f += $(i+1); if ($i == "Passed:") p += $(i+1); if ($i == "Skipped:") s += $(i+1) }
     }
     END { gsub(",", "", p); printf "%d passed, %d failed, %d skipped\n", p, f, s }' "$log"
rm -f "$log"
exit "$status"
