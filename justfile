# spotdiff recipes. `just test` is what CI runs (.ci/run); `just demo` runs the
# main job on the embedded default data.

set shell := ["bash", "-euo", "pipefail", "-c"]

wasm_target := "wasm32-unknown-unknown"

# The main job so far: the toy example with its figures, then the default
# generated data set (6 classes, 256 px) with contact sheets, checked.
demo:
    rm -rf target/demo
    cargo run -p spotdiff-trainer -- toy --plot target/demo
    cargo run -p spotdiff-trainer -- synth --out target/demo/data --seed 0 --contact-sheet
    cargo run -p spotdiff-trainer -- data check target/demo/data
    @echo "figures: target/demo/fig9_model_a.svg, target/demo/fig10_model_b.svg; data set and contact sheets: target/demo/data"

# Every check, in CI's order. Installs what it needs when missing.
test: setup
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings
    cargo test --workspace
    just web
    cargo check -p spotdiff-trainer --features wgpu,cuda
    just browser-test

# Installs the wasm target and wasm-bindgen-cli at the version Cargo.lock pins.
setup:
    #!/usr/bin/env bash
    set -euo pipefail
    rustup target list --installed | grep -qx {{wasm_target}} || rustup target add {{wasm_target}}
    want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print }' Cargo.lock)
    have=$(wasm-bindgen --version 2>/dev/null | awk '{ print $2 }' || true)
    if [ "$have" != "$want" ]; then
        # Without --locked: a locked dependency of wasm-bindgen-cli is missing from the registry mirror.
        cargo install wasm-bindgen-cli --version "$want"
    fi

# Builds the web app: the core for the browser (release), optimised by Debian's
# wasm-opt when present (before wasm-bindgen: after it, binaryen 108 breaks the
# module), and its JavaScript bindings in www/pkg.
web: setup
    cargo build --release -p spotdiff-web --target {{wasm_target}}
    mkdir -p target/web
    if command -v wasm-opt >/dev/null; then \
        wasm-opt -Oz target/{{wasm_target}}/release/spotdiff_web.wasm -o target/web/spotdiff_web.wasm; \
    else \
        cp target/{{wasm_target}}/release/spotdiff_web.wasm target/web/spotdiff_web.wasm; \
    fi
    wasm-bindgen --target web --out-dir www/pkg target/web/spotdiff_web.wasm
    ls -l www/pkg/spotdiff_web_bg.wasm

# Serves www/ (after `just web`) on http://127.0.0.1:8000.
serve:
    python3 -m http.server 8000 --bind 127.0.0.1 --directory www

# Browser tests: Debian's Chromium headless, driven by playwright-core (installed when missing).
browser-test: browser-fixture
    [ -x /usr/bin/chromium ] || (apt-get update -qq && apt-get install -y -qq chromium)
    [ -d node_modules/playwright-core ] || npm ci --no-audit --no-fund
    [ -f www/pkg/spotdiff_web.js ] || just web
    node --test --test-concurrency=1 tests/browser/

# What the scoring page's tests compare against: a small generated class, a
# bundle fitted on it, and `spotdiff score`'s results for a few test images.
browser-fixture:
    #!/usr/bin/env bash
    set -euo pipefail
    cargo build -q -p spotdiff-trainer
    spotdiff=$PWD/target/debug/spotdiff
    rm -rf target/browser-fixture
    mkdir -p target/browser-fixture
    cd target/browser-fixture
    $spotdiff synth --out data --seed 7 --size 96 --normals 24 --anomalies 8 --classes cashew > /dev/null
    $spotdiff padim fit --data data --class cashew --width 0.25 --size 64 --seed 7 --out stats > /dev/null
    $spotdiff export --stats stats --class cashew --data data --out bundle.spotdiff > /dev/null
    $spotdiff score --bundle bundle.spotdiff --out scored \
        data/cashew/Data/Images/Anomaly/000.JPG data/cashew/Data/Images/Anomaly/001.JPG \
        data/cashew/Data/Images/Normal/0002.JPG data/cashew/Data/Images/Normal/0003.JPG > /dev/null

# Regenerates the reference values (scikit-learn, NumPy, SciPy) the tests compare against.
fixtures: python-env
    .venv/bin/python tests/fixtures/make_metrics_fixtures.py
    .venv/bin/python tests/fixtures/make_padim_fixtures.py

# Regenerates the PaDiM parity fixture with anomalib's own PaDiM code.
fixtures-anomalib: python-anomalib
    .venv-anomalib/bin/python tests/fixtures/make_padim_anomalib_fixtures.py

# Time to generate the default demo data set (6 classes, 256 px).
bench-synth:
    rm -rf target/bench-data/synth
    mkdir -p target/bench-data
    cargo bench -q --bench synth -- target/bench-data/synth

# Training images/s of SimSiam+SPD, ResNet-18 width 0.25 at 64 px (the demo
# settings), flex backend, 2 epochs of 4 classes x 90 training normals. The dev
# build: its dependencies (burn's kernels, where the time goes) are optimised.
bench-pretrain:
    cargo build -p spotdiff-trainer
    rm -rf target/bench-data/pretrain
    mkdir -p target/bench-data/pretrain
    target/debug/spotdiff synth --out target/bench-data/pretrain/set --size 64 --normals 100 --anomalies 2 --classes cashew,capsules,fryum,pcb_green
    target/debug/spotdiff pretrain --data target/bench-data/pretrain/set --out target/bench-data/pretrain/run --method simsiam --spd-weight 0.1 --width 0.25 --size 64 --epochs 2 --batch 32

# The SimSiam+SPD step alone (ResNet-18 width 0.25, 64 px, batch 32, five views,
# SGD) on a batch made once: spotdiff on flex, then PyTorch on the same step with
# 2 threads and with 1 (flex here has no rayon, so it uses one core), back to back.
bench-pretrain-step: python-anomalib
    cargo bench -p spotdiff-trainer --profile dev --bench pretrain_step --no-run
    uptime
    cargo bench -q -p spotdiff-trainer --profile dev --bench pretrain_step -- speed --backend flex
    .venv-anomalib/bin/python benches/pretrain_torch.py --threads 2
    .venv-anomalib/bin/python benches/pretrain_torch.py --threads 1
    uptime

# The wgpu backend (native Vulkan; here lavapipe from Debian's mesa-vulkan-drivers):
# flex and wgpu losses from the same weights and batch, the step's images/s after
# warm-up, then `spotdiff pretrain --backend wgpu` for one epoch at the demo settings.
bench-pretrain-wgpu:
    cargo build -p spotdiff-trainer --features wgpu
    cargo bench -p spotdiff-trainer --profile dev --features wgpu --bench pretrain_step --no-run
    cargo bench -q -p spotdiff-trainer --profile dev --features wgpu --bench pretrain_step -- agree --batch 4
    cargo bench -q -p spotdiff-trainer --profile dev --features wgpu --bench pretrain_step -- speed --backend wgpu --warmup 2 --steps 5
    rm -rf target/bench-data/pretrain-wgpu
    mkdir -p target/bench-data/pretrain-wgpu
    target/debug/spotdiff synth --out target/bench-data/pretrain-wgpu/set --size 64 --normals 100 --anomalies 2 --classes cashew,capsules,fryum,pcb_green
    target/debug/spotdiff pretrain --backend wgpu --data target/bench-data/pretrain-wgpu/set --out target/bench-data/pretrain-wgpu/run --method simsiam --spd-weight 0.1 --width 0.25 --size 64 --epochs 1 --batch 32

# AU-ROC + AU-PR + max-F1 on 10^7 and 10^8 tied random scores, against scikit-learn on the same data.
bench-metrics: python-env
    cargo bench --bench metrics --no-run
    mkdir -p target/bench-data
    for n in 10000000 100000000; do \
        cargo bench -q --bench metrics -- generate $n target/bench-data/scores-$n; \
        cargo bench -q --bench metrics -- run target/bench-data/scores-$n > target/bench-data/spotdiff-$n.json; \
        .venv/bin/python benches/metrics_sklearn.py target/bench-data/scores-$n target/bench-data/spotdiff-$n.json; \
        rm -f target/bench-data/scores-$n.*; \
    done

# PaDiM fit and scoring, ResNet-18 at 224 (random init, d = 100; 200 training and 50 test images of one
# generated class), spotdiff's release CLI vs anomalib's PaDiM on the same images and weights, in one run.
bench-padim: python-anomalib
    cargo build --release -p spotdiff-trainer
    rm -rf target/bench-data/padim
    mkdir -p target/bench-data/padim
    target/release/spotdiff synth --out target/bench-data/padim/data --classes capsules --normals 222 --anomalies 28
    /usr/bin/time -v -o target/bench-data/padim/fit.time target/release/spotdiff padim fit --data target/bench-data/padim/data --class capsules --out target/bench-data/padim/stats --batch 8
    /usr/bin/time -v -o target/bench-data/padim/eval.time target/release/spotdiff eval --data target/bench-data/padim/data --class capsules --stats target/bench-data/padim/stats --out target/bench-data/padim/report --batch 8
    OMP_NUM_THREADS=2 /usr/bin/time -v -o target/bench-data/padim/anomalib.time .venv-anomalib/bin/python benches/padim_anomalib.py run --data target/bench-data/padim/data --class capsules --weights target/bench-data/padim/stats/backbone.safetensors --out target/bench-data/padim/anomalib.json
    .venv-anomalib/bin/python benches/padim_anomalib.py summary target/bench-data/padim

# A Python virtual environment with scikit-learn, SciPy and NumPy.
python-env:
    [ -x .venv/bin/python ] || python3 -m venv .venv
    .venv/bin/python -c "import sklearn, scipy" 2>/dev/null || .venv/bin/pip install --quiet scikit-learn scipy numpy

# A separate virtual environment with anomalib and PyTorch (about 6 GB, pinned), so .venv stays small.
python-anomalib:
    [ -x .venv-anomalib/bin/python ] || python3 -m venv .venv-anomalib
    .venv-anomalib/bin/python -c "import anomalib, torch, safetensors" 2>/dev/null || .venv-anomalib/bin/pip install --quiet -r benches/requirements-anomalib.txt
