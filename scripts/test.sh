#!/usr/bin/env bash
# Runs the test suite: installs system packages, fetches the small public test media, runs swift test.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/fetch-data.sh
swift test "$@"
