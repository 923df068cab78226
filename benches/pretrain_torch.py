"""PyTorch's SimSiam+SPD training step beside spotdiff's (`just bench-pretrain-step`).

    pretrain_torch.py [--batch 32] [--size 64] [--width 0.25] [--threads 2]
                      [--warmup 2] [--steps 10] [--seed 0]

The step of `spotdiff pretrain --method simsiam --spd-weight 0.1` (and of
trainer/benches/pretrain_step.rs), in PyTorch: torchvision's ResNet-18 with
the base width scaled (tests/fixtures/make_resnet_fixtures.py's
`SmallResNet`, torchvision's own blocks), pooled layer4 features, SimSiam's
projector (3 linear layers, batch norm after each, ReLU between) to
round(2048 * width) and predictor (a bottleneck of a quarter of that), each of
the five views (two strong views, SPD's anchor a, positive b and SmoothBlend
negative n) through the network on its own as in src/pretrain/simsiam.rs,
loss `L_simsiam + 0.1 * L_spd`, SGD with momentum 0.9 and weight decay 1e-4 at
the first step's learning rate 0.05 * batch / 256. As on spotdiff's side the
five views are normal noise made once, outside the timed steps, and each
step reads its loss back. Prints one line: images/s over the timed steps.
"""

import argparse
import sys
import time
from pathlib import Path

import torch
import torchvision
import torch.nn.functional as F
from torch import nn
from torchvision.models.resnet import BasicBlock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "fixtures"))
from make_resnet_fixtures import SmallResNet  # noqa: E402

SPD_WEIGHT = 0.1
BASE_LR = 0.05


def mlp(dims, output_batch_norm):
    layers = []
    for i, (inputs, outputs) in enumerate(zip(dims, dims[1:])):
        last = i == len(dims) - 2
        layers.append(nn.Linear(inputs, outputs))
        if not last or output_batch_norm:
            layers.append(nn.BatchNorm1d(outputs))
        if not last:
            layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class SimSiam(nn.Module):
    def __init__(self, width):
        super().__init__()
        base = round(64 * width)
        self.backbone = SmallResNet(BasicBlock, [2, 2, 2, 2], base, 1)
        del self.backbone.fc
        dim = max(round(2048 * width), 16)
        self.projector = mlp([base * 8, dim, dim, dim], output_batch_norm=True)
        self.predictor = mlp([dim, dim // 4, dim], output_batch_norm=False)

    def project(self, x):
        b = self.backbone
        x = b.maxpool(b.relu(b.bn1(b.conv1(x))))
        x = b.layer4(b.layer3(b.layer2(b.layer1(x))))
        z = self.projector(torch.flatten(b.avgpool(x), 1))
        return z, self.predictor(z)


def cosine(p, z):
    return F.cosine_similarity(p, z.detach(), dim=1, eps=1e-8)


def losses(model, views):
    (z1, p1), (z2, p2), (za, pa), (zb, pb), (zn, pn) = [model.project(v) for v in views]
    simsiam = -0.5 * (cosine(p1, z2).mean() + cosine(p2, z1).mean())
    spd = 0.5 * (cosine(pa, zn) - cosine(pa, zb) + cosine(pn, za) - cosine(pb, za)).mean()
    return simsiam, spd


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--width", type=float, default=0.25)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.steps < 1 or args.batch < 2:
        parser.error("--steps must be at least 1 and --batch at least 2 (batch norm)")

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    model = SimSiam(args.width).train()
    optimizer = torch.optim.SGD(
        model.parameters(),
        lr=BASE_LR * args.batch / 256,
        momentum=0.9,
        weight_decay=1e-4,
    )
    views = [torch.randn(args.batch, 3, args.size, args.size) for _ in range(5)]
    timed = []
    for step in range(args.warmup + args.steps):
        started = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        simsiam, spd = losses(model, views)
        total = simsiam + SPD_WEIGHT * spd
        total.backward()
        optimizer.step()
        total.item()
        if step >= args.warmup:
            timed.append(time.perf_counter() - started)
    timed.sort()
    print(
        f"pytorch {torch.__version__} (torchvision {torchvision.__version__}, "
        f"{args.threads} threads): SimSiam+SPD, ResNet-18 width {args.width}, {args.size} px, "
        f"batch {args.batch}: {args.steps} steps in {sum(timed):.2f} s, "
        f"median step {timed[len(timed) // 2]:.3f} s, "
        f"{args.steps * args.batch / sum(timed):.2f} images/s"
    )


if __name__ == "__main__":
    main()
