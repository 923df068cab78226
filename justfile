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
browser-test:
    [ -x /usr/bin/chromium ] || (apt-get update -qq && apt-get install -y -qq chromium)
    [ -d node_modules/playwright-core ] || npm ci --no-audit --no-fund
    [ -f www/pkg/spotdiff_web.js ] || just web
    node --test tests/browser/

# Regenerates the reference values (scikit-learn, NumPy, SciPy) the tests compare against.
fixtures: python-env
    .venv/bin/python tests/fixtures/make_metrics_fixtures.py
    .venv/bin/python tests/fixtures/make_padim_fixtures.py

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

# A Python virtual environment with scikit-learn, SciPy and NumPy.
python-env:
    [ -x .venv/bin/python ] || python3 -m venv .venv
    .venv/bin/python -c "import sklearn, scipy" 2>/dev/null || .venv/bin/pip install --quiet scikit-learn scipy numpy
