# spotdiff recipes. `just test` is what CI runs (.ci/run); `just demo` runs the
# main job on the embedded default data.

set shell := ["bash", "-euo", "pipefail", "-c"]

wasm_target := "wasm32-unknown-unknown"

demo_epochs := "1"
demo_seed := "0"

# The main job on the embedded default data: generate the data set, pre-train
# SimSiam and SimSiam+SPD briefly on the CPU (equal budgets), fit PaDiM on each
# backbone, evaluate both (tables, figures, panels), export one browser bundle
# per class into www/models/, and run the toy example. Settings are the
# variables above; everything lands in target/demo/.
demo:
    #!/usr/bin/env bash
    set -euo pipefail
    cargo build --release -q -p spotdiff-trainer
    spotdiff=target/release/spotdiff
    out=target/demo
    rm -rf "$out"
    mkdir -p "$out"
    start=$SECONDS
    step() { echo; echo "== $1 ($((SECONDS - start)) s)"; }
    step "toy example (supplementary section B)"
    $spotdiff toy --plot "$out/toy"
    step "generate the default data set (6 classes, 256 px, seed {{demo_seed}})"
    $spotdiff synth --out "$out/data" --seed {{demo_seed}} --contact-sheet
    $spotdiff data check "$out/data"
    for spd in 0 0.1; do
        name=simsiam; [ "$spd" = 0 ] || name=simsiam_spd
        step "pre-train $name (ResNet-18 x0.25, 64 px, {{demo_epochs}} epochs, SPD weight $spd)"
        $spotdiff pretrain --method simsiam --spd-weight "$spd" --backbone resnet18 --width 0.25 \
            --size 64 --epochs {{demo_epochs}} --batch 32 --seed {{demo_seed}} --data "$out/data" --out "$out/runs/$name"
        step "fit PaDiM on every class with $name (128 px)"
        $spotdiff padim fit --data "$out/data" --all --weights "$out/runs/$name/backbone.safetensors" \
            --backbone resnet18 --width 0.25 --size 128 --seed {{demo_seed}} --out "$out/stats/$name"
    done
    step "evaluate both backbones (exact protocol)"
    $spotdiff eval --data "$out/data" --stats "$out/stats/simsiam" --stats "$out/stats/simsiam_spd" --out "$out/report"
    step "export one bundle per class (SimSiam+SPD) into www/models/"
    for class in $(ls "$out/data" | grep -v -e split_csv -e contact_sheets -e synth.json); do
        $spotdiff export --stats "$out/stats/simsiam_spd" --class "$class" --data "$out/data" --out "www/models/$class.spotdiff"
    done
    step "done"
    echo "report:      $out/report/ (tables.md, scatter plots, curves, panels)"
    echo "runs:        $out/runs/*/log.jsonl, run.json, backbone.safetensors"
    echo "toy figures: $out/toy/"
    echo "bundles:     www/models/*.spotdiff (open them with: just web && just serve, then http://127.0.0.1:8000/score.html)"

# Every check, in CI's order. Installs what it needs when missing. Clippy runs
# with the GPU backends' features so that their code is checked too (one pass
# over the dependencies instead of a second `cargo check`: CI's disk is small;
# `spotdiff/wgpu` adds only the core's wgpu kernel tests to that pass).
test: setup
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets --features spotdiff-trainer/wgpu,spotdiff-trainer/cuda,spotdiff/wgpu -- -D warnings
    cargo test --workspace
    just web
    just browser-test

# The kernel tests on flex and on wgpu: on `Autodiff<Wgpu>` the composed batch
# norm and burn's convolution against burn_nn's BatchNorm and burn's conv2d.
# Vulkan here is lavapipe (Debian's mesa-vulkan-drivers, software on the CPU),
# installed when missing; without an adapter the wgpu tests print why and pass.
# A long build: the core's tests with burn's wgpu backend.
test-kernels-wgpu:
    #!/usr/bin/env bash
    set -euo pipefail
    if ! compgen -G '/usr/share/vulkan/icd.d/lvp_icd.*.json' > /dev/null; then
        sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
        $sudo apt-get update -qq
        $sudo apt-get install -y -qq mesa-vulkan-drivers
    fi
    cargo test -p spotdiff --features wgpu --lib kernels -- --nocapture

# Installs the wasm target and wasm-bindgen-cli at the version Cargo.lock pins.
setup:
    #!/usr/bin/env bash
    set -euo pipefail
    rustup target list --installed | grep -qx {{wasm_target}} || rustup target add {{wasm_target}}
    want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print }' Cargo.lock)
    have=$(wasm-bindgen --version 2>/dev/null | awk '{ print $2 }' || true)
    if [ "$have" != "$want" ]; then
        # Without --locked: a locked dependency of wasm-bindgen-cli is missing from the registry mirror.
        # --force: cargo skips a version it remembers installing even when the binary is gone.
        cargo install --force wasm-bindgen-cli --version "$want"
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
    .venv/bin/python tests/fixtures/make_bootstrap_fixtures.py
    .venv/bin/python tests/fixtures/make_padim_fixtures.py

# Regenerates the PaDiM parity fixture with anomalib's own PaDiM code and the
# pre-training step fixture with PyTorch's.
fixtures-anomalib: python-anomalib
    .venv-anomalib/bin/python tests/fixtures/make_padim_anomalib_fixtures.py
    .venv-anomalib/bin/python tests/fixtures/make_pretrain_step_fixtures.py

# Time to generate the default demo data set (6 classes, 256 px).
bench-synth:
    rm -rf target/bench-data/synth
    mkdir -p target/bench-data
    cargo bench -q --bench synth -- target/bench-data/synth

# Training images/s of SimSiam+SPD, ResNet-18 width 0.25 at 64 px (the demo
# settings), flex backend, 2 epochs of 4 classes x 90 training normals. The dev
# build: its dependencies (burn's kernels, where the time goes) are optimised.
# `just bench-pretrain 2` runs two data-parallel peers (on flex: sharing the CPU).
bench-pretrain devices="1":
    cargo build -p spotdiff-trainer
    rm -rf target/bench-data/pretrain
    mkdir -p target/bench-data/pretrain
    target/debug/spotdiff synth --out target/bench-data/pretrain/set --size 64 --normals 100 --anomalies 2 --classes cashew,capsules,fryum,pcb_green
    target/debug/spotdiff pretrain --data target/bench-data/pretrain/set --out target/bench-data/pretrain/run --method simsiam --spd-weight 0.1 --width 0.25 --size 64 --epochs 2 --batch 32 --devices {{devices}}

# The SimSiam+SPD step alone (five views, SGD) on a batch made once: spotdiff on
# flex, then PyTorch on the same step with 2 threads and with 1, back to back;
# first at the demo settings (ResNet-18 width 0.25, 64 px, batch 32), then at
# the paper's (width 1, 224 px, batch 32; `just bench-pretrain-step no` skips it, it takes
# minutes); then the whole `spotdiff pretrain` command (loading and
# augmentation included) for 2 epochs at the demo settings. Release builds:
# the kernels that take the time are spotdiff's own (src/kernels).
bench-pretrain-step paper="yes": python-anomalib
    cargo bench -p spotdiff-trainer --bench pretrain_step --no-run
    cargo build --release -p spotdiff-trainer
    uptime
    @echo "== the step at the demo settings"
    cargo bench -q -p spotdiff-trainer --bench pretrain_step -- speed --backend flex
    .venv-anomalib/bin/python benches/pretrain_torch.py --threads 2
    .venv-anomalib/bin/python benches/pretrain_torch.py --threads 1
    if [ "{{paper}}" = yes ]; then \
        echo "== the step at the paper's settings"; \
        cargo bench -q -p spotdiff-trainer --bench pretrain_step -- speed --width 1 --size 224 --warmup 1 --steps 3; \
        .venv-anomalib/bin/python benches/pretrain_torch.py --width 1 --size 224 --warmup 1 --steps 3 --threads 2; \
        .venv-anomalib/bin/python benches/pretrain_torch.py --width 1 --size 224 --warmup 1 --steps 3 --threads 1; \
    fi
    @echo "== the whole command (release), 2 epochs at the demo settings"
    rm -rf target/bench-data/pretrain-command
    mkdir -p target/bench-data/pretrain-command
    target/release/spotdiff synth --out target/bench-data/pretrain-command/set --size 64 --normals 100 --anomalies 2 --classes cashew,capsules,fryum,pcb_green > /dev/null
    target/release/spotdiff pretrain --data target/bench-data/pretrain-command/set --out target/bench-data/pretrain-command/run --method simsiam --spd-weight 0.1 --width 0.25 --size 64 --epochs 2 --batch 32 2>&1 | grep "images in"
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
# generated class), spotdiff's release CLI vs anomalib's PaDiM on the same images and weights, in one run;
# `eval` without bootstrap intervals (`--bootstrap 0`), which are not part of scoring.
bench-padim: python-anomalib
    cargo build --release -p spotdiff-trainer
    rm -rf target/bench-data/padim
    mkdir -p target/bench-data/padim
    target/release/spotdiff synth --out target/bench-data/padim/data --classes capsules --normals 222 --anomalies 28
    /usr/bin/time -v -o target/bench-data/padim/fit.time target/release/spotdiff padim fit --data target/bench-data/padim/data --class capsules --out target/bench-data/padim/stats --batch 8
    /usr/bin/time -v -o target/bench-data/padim/eval.time target/release/spotdiff eval --data target/bench-data/padim/data --class capsules --stats target/bench-data/padim/stats --out target/bench-data/padim/report --batch 8 --bootstrap 0 | tee target/bench-data/padim/eval.out
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

# The browser app's figures: wasm size, bundle load and per-image latency at
# 224 px (ResNet-18, d = 100) on WebGPU (SwiftShader) and the CPU in headless
# Chromium beside native `spotdiff score` on the same image, and exact metrics
# of 10^6 scores in wasm beside native.
bench-web: web
    #!/usr/bin/env bash
    set -euo pipefail
    cargo build --release -q -p spotdiff-trainer
    cargo bench --bench metrics --no-run -q
    spotdiff=$PWD/target/release/spotdiff
    work=target/bench-data/web
    rm -rf "$work" www/models/bench
    mkdir -p "$work" www/models/bench
    $spotdiff synth --out "$work/data" --seed 11 --normals 20 --anomalies 6 --classes cashew > /dev/null
    $spotdiff padim fit --data "$work/data" --class cashew --size 224 --seed 11 --out "$work/stats" > /dev/null
    $spotdiff export --stats "$work/stats" --class cashew --data "$work/data" --out www/models/bench/bench.spotdiff
    image="$work/data/cashew/Data/Images/Anomaly/000.JPG"
    cp "$image" www/models/bench/image.JPG
    cargo bench -q --bench metrics -- generate 1000000 www/models/bench/metrics
    echo "wasm: $(stat -c %s www/pkg/spotdiff_web_bg.wasm) bytes raw, $(gzip -9 -c www/pkg/spotdiff_web_bg.wasm | wc -c) bytes gzip"
    echo "bundle: $(stat -c %s www/models/bench/bench.spotdiff) bytes"
    # Native per-image latency: 11 copies minus 1 copy, over 10 (the bundle load cancels out).
    for i in $(seq 0 10); do cp "$image" "$work/copy$i.JPG"; done
    t0=$(date +%s.%N); $spotdiff score --bundle www/models/bench/bench.spotdiff --out "$work/one" "$work/copy0.JPG" > /dev/null; t1=$(date +%s.%N)
    $spotdiff score --bundle www/models/bench/bench.spotdiff --out "$work/eleven" "$work"/copy*.JPG > /dev/null; t2=$(date +%s.%N)
    python3 -c "one=$t1-$t0; eleven=$t2-$t1; print(f'native spotdiff score: {one:.2f} s for 1 image (bundle load included), {(eleven-one)/10*1000:.0f} ms per further image')"
    cargo bench -q --bench metrics -- run www/models/bench/metrics
    node benches/web.mjs 5
    rm -rf www/models/bench
