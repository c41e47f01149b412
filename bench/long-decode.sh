#!/usr/bin/env bash
# Decode speed and peak memory on a long 1080p file: makes a 10-minute 1920x1080 H.264 clip with
# ffmpeg's test source (about 700 MB, in $TMPDIR; kept for reruns) and runs `glassbox bench decode`
# on it. Memory should not grow with length: frames are streamed, never collected.
#
#   bench/long-decode.sh [GLASSBOX_BINARY] [MINUTES]
set -euo pipefail
BIN="${1:-.build/release/glassbox}"
MINUTES="${2:-10}"
CLIP="${TMPDIR:-/tmp}/glassbox-long-${MINUTES}min-1080p.mp4"
command -v ffmpeg >/dev/null || { echo "long-decode: ffmpeg is not installed (apt-get install ffmpeg)" >&2; exit 1; }
[ -x "$BIN" ] || { echo "long-decode: $BIN not found; build with: swift build -c release --product glassbox" >&2; exit 1; }
if [ ! -s "$CLIP" ]; then
    echo "long-decode: writing $CLIP (${MINUTES} min, 1080p25, takes a few minutes)" >&2
    ffmpeg -nostdin -v error -f lavfi -i "testsrc2=size=1920x1080:rate=25:duration=$((MINUTES * 60))" \
        -c:v libx264 -preset ultrafast -crf 28 -pix_fmt yuv420p -y "$CLIP.part.mp4"
    mv "$CLIP.part.mp4" "$CLIP"
fi
"$BIN" bench decode "$CLIP" --rounds 1
