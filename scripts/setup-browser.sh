#!/usr/bin/env bash
# Install headless Chromium and its WebDriver (Debian packages) for the report's browser tests.
# Idempotent: does nothing when /usr/bin/chromium and /usr/bin/chromedriver are already there.
set -euo pipefail
if [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]]; then
    exit 0
fi
SUDO=""
if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "setup-browser: need root (or sudo) to apt-get install chromium chromium-driver" >&2; exit 1; }
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver
/usr/bin/chromium --version
