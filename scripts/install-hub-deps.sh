#!/usr/bin/env bash
# Install what the JupyterHub deployment and its tests need beyond the Python packages
# (those come from the `hub` extra in pyproject.toml):
#   - configurable-http-proxy 5.3.0 from npm, into the venv (.venv/bin/configurable-http-proxy)
#   - Debian's chromium + chromium-driver (browser test; needs root + apt-get)
# Idempotent; install time only (package registries), nothing is fetched at run time.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
CHP_VERSION=5.3.0

if [ ! -x "$VENV/bin/configurable-http-proxy" ]; then
  if command -v npm >/dev/null; then
    echo "installing npm configurable-http-proxy@$CHP_VERSION into $VENV"
    npm install --silent --global --prefix "$VENV" "configurable-http-proxy@$CHP_VERSION" >/dev/null
  else
    echo "WARNING: npm not found: configurable-http-proxy missing; the hub and its tests" \
         "need it (install Node.js/npm and re-run scripts/install-hub-deps.sh)" >&2
  fi
fi

if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian packages chromium chromium-driver"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      chromium chromium-driver >/dev/null
  else
    echo "WARNING: chromium/chromedriver missing: the hub browser test is skipped" \
         "(run 'sudo apt-get install chromium chromium-driver')" >&2
  fi
fi
