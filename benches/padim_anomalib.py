"""anomalib's PaDiM beside `spotdiff padim fit` / `spotdiff eval` (`just bench-padim`).

    padim_anomalib.py run --data ROOT --class C --weights W.safetensors --out RESULT.json
        Fits anomalib 2.7's PadimModel on the class's training images of the
        VisA-layout set ROOT's 1cls split and scores its test images, on the
        backbone W (the random-init ResNet-18 `spotdiff padim fit` saved), in
        batches of 8 with 2 PyTorch threads. Images are decoded with PIL and
        preprocessed with torchvision (resize 256, centre crop 224, ImageNet
        normalisation) inside the timed loops, as spotdiff decodes inside its
        own. The backbone is torchvision's resnet18 and replaces anomalib's timm
        extractor (anomalib's own extractor puts it in eval mode on every call,
        as this one does); the rest, including the memory bank of every
        training embedding, is anomalib's. Writes the timings as JSON.

    padim_anomalib.py summary DIR
        Reads DIR/{fit,eval,anomalib}.time (`/usr/bin/time -v` output),
        DIR/eval.out (`eval`'s own timing of its scoring loop) and
        DIR/anomalib.json and prints the table rows of docs/BENCHMARKS.md.
"""

import argparse
import csv
import json
import re
import sys
import time
from pathlib import Path

THREADS = 2
BATCH = 8


def split_rows(root, name):
    with open(Path(root) / "split_csv" / "1cls.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["object"] == name]
    train = [Path(root) / r["image"] for r in rows if r["split"] == "train"]
    test = [Path(root) / r["image"] for r in rows if r["split"] == "test"]
    if not train or not test:
        sys.exit(f"{root}/split_csv/1cls.csv: no train or test rows for class `{name}`")
    return train, test


def run(args):
    import torch
    import torchvision
    from anomalib.models.image.padim.torch_model import PadimModel
    from PIL import Image
    from safetensors.torch import load_file
    from torch import nn
    from torchvision.transforms import v2

    torch.set_num_threads(THREADS)
    train, test = split_rows(args.data, args.object_class)

    backbone = torchvision.models.resnet18(weights=None)
    backbone.load_state_dict(load_file(str(args.weights)), strict=True)

    class Layers(nn.Module):
        def __init__(self, backbone):
            super().__init__()
            self.backbone = backbone

        def forward(self, x):
            b = self.backbone.eval()
            x = b.maxpool(b.relu(b.bn1(b.conv1(x))))
            out = {}
            for name in ["layer1", "layer2", "layer3"]:
                x = getattr(b, name)(x)
                out[name] = x
            return out

    model = PadimModel(backbone="resnet18", pre_trained=False, n_features=100)
    model.feature_extractor = Layers(backbone)
    transform = v2.Compose(
        [
            v2.Resize(256, antialias=True),
            v2.CenterCrop(224),
            v2.ToImage(),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
        ]
    )

    def batches(paths):
        for start in range(0, len(paths), BATCH):
            yield torch.stack(
                [transform(Image.open(p).convert("RGB")) for p in paths[start : start + BATCH]]
            )

    with torch.no_grad():
        model.train()
        start = time.perf_counter()
        for x in batches(train):
            model(x)
        model.fit()
        fit_s = time.perf_counter() - start

        model.eval()
        start = time.perf_counter()
        scores = [float(s) for x in batches(test) for s in model(x).pred_score.reshape(-1)]
        score_s = time.perf_counter() - start

    result = {
        "anomalib": __import__("anomalib").__version__,
        "torch": torch.__version__,
        "threads": THREADS,
        "batch": BATCH,
        "train_images": len(train),
        "test_images": len(test),
        "fit_s": fit_s,
        "score_s": score_s,
        "scores": scores,
    }
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")


def time_v(path):
    """Wall seconds and peak RSS (MiB) from `/usr/bin/time -v` output."""
    text = Path(path).read_text()
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", text)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    if not wall or not rss:
        sys.exit(f"{path}: no `/usr/bin/time -v` summary (did the command fail?)")
    hours, minutes, seconds = wall.groups()
    return int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds), int(rss.group(1)) / 1024


def summary(args):
    d = Path(args.dir)
    anomalib = json.loads((d / "anomalib.json").read_text())
    fit_wall, fit_rss = time_v(d / "fit.time")
    eval_wall, eval_rss = time_v(d / "eval.time")
    _, anomalib_rss = time_v(d / "anomalib.time")
    n_train, n_test = anomalib["train_images"], anomalib["test_images"]
    print(f"| PaDiM fit, {n_train} images | spotdiff {n_train / fit_wall:.1f} images/s "
          f"({fit_wall:.1f} s whole command), peak {fit_rss:.0f} MiB "
          f"| anomalib {n_train / anomalib['fit_s']:.1f} images/s ({anomalib['fit_s']:.1f} s), "
          f"peak {anomalib_rss:.0f} MiB (whole process, fit and scoring) |")
    print(f"| PaDiM scoring, {n_test} images | spotdiff {n_test / eval_wall:.1f} images/s "
          f"({eval_wall:.1f} s whole `eval` command), peak {eval_rss:.0f} MiB "
          f"| anomalib {n_test / anomalib['score_s']:.1f} images/s ({anomalib['score_s']:.1f} s) |")
    out = d / "eval.out"
    loop = out.exists() and re.search(r"(\d+) images scored and measured in ([\d.]+) s", out.read_text())
    if loop:
        images, seconds = int(loop.group(1)), float(loop.group(2))
        print(f"| PaDiM scoring loop, {images} images | spotdiff {images / seconds:.1f} images/s "
              f"({seconds:.2f} s: read, scored, measured) "
              f"| anomalib {n_test / anomalib['score_s']:.1f} images/s ({anomalib['score_s']:.2f} s: read, scored) |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    r = commands.add_parser("run")
    r.add_argument("--data", required=True)
    r.add_argument("--class", dest="object_class", required=True)
    r.add_argument("--weights", required=True, type=Path)
    r.add_argument("--out", required=True)
    s = commands.add_parser("summary")
    s.add_argument("dir")
    args = parser.parse_args()
    for flag in ["data", "weights"]:
        if hasattr(args, flag) and not Path(getattr(args, flag)).exists():
            sys.exit(f"--{flag} {getattr(args, flag)}: no such file or folder")
    {"run": run, "summary": summary}[args.command](args)


if __name__ == "__main__":
    main()
