#!/usr/bin/env bash
# Installs what Glassbox needs on Debian 12, builds a release and scans a sample clip.
# Usage: ./setup.sh            (needs root or sudo for apt-get; Swift 6 must be on PATH)
set -euo pipefail
cd "$(dirname "$0")"

./scripts/install-deps.sh

echo "==> building glassbox (release)"
swift build -c release --product glassbox
BIN="$(swift build -c release --show-bin-path)/glassbox"

SAMPLE="Samples/fake/selfBlend/single_face.mp4"

echo "==> $BIN scan $SAMPLE --json out/scan.json"
"$BIN" scan "$SAMPLE" --json out/scan.json
echo "==> explanation written to out/scan.json"
