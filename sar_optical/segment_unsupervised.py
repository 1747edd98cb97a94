"""Unsupervised land-cover segmentation: a Gumbel-softmax vector quantiser on frozen fusion features, compared with
k-means on the raw pixels, both scored after a Hungarian cluster → class matching.

    python segment_unsupervised.py --checkpoint runs/intermediate/checkpoint_last.pth
    python segment_unsupervised.py --checkpoint ... --data-root /data/DFC2020/val --test-root /data/DFC2020/test --labels dfc

K codewords = the number of classes present in the training labels (or --clusters). The quantiser trains on the
training patches without their labels; the labels are only used to count K and, on the test split, for the
Hungarian matching (one mapping for the whole test set) and the scores. The baseline clusters the standardised
S1+S2 pixel values of the same training patches with k-means (K centres, best of 5 k-means++ restarts by
inertia) and labels each test pixel by its nearest centre. Writes both rows to the results table and a figure of
test patches (optical, SAR, truth, VQ, k-means). The training patches are read once for all of this.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sarhub.cli import append_result, run_main  # noqa: E402
from sarhub.data.sen12ms import CLASSES, IGNORE_INDEX  # noqa: E402
from sarhub.fusion.data import add_data_args, load_fusion_model, pixel_features, pixel_rows, splits  # noqa: E402
from sarhub.fusion.vq import GumbelVQ, kmeans  # noqa: E402
from sarhub.metrics.segmentation import hungarian_mapping, land_cover_scores  # noqa: E402

HERE = Path(__file__).resolve().parent
COLUMNS = ("method", "features", "clusters", "miou", "overall_accuracy", "average_accuracy", "data", "test_patches")


def cluster_vs_class(clusters_of, dataset, k: int) -> torch.Tensor:
    """K×10 counts of (cluster, true class) over a dataset's labelled pixels."""
    counts = torch.zeros(k, len(CLASSES), dtype=torch.int64)
    for clusters, mask in clusters_of(dataset):
        keep = mask != IGNORE_INDEX
        index = clusters[keep].cpu() * len(CLASSES) + mask[keep].cpu()
        counts += torch.bincount(index, minlength=k * len(CLASSES)).reshape(k, len(CLASSES))
    return counts


def score(clusters_of, dataset, k: int) -> tuple[dict, torch.Tensor]:
    """Scores after the Hungarian matching, and the cluster → class lookup."""
    counts = cluster_vs_class(clusters_of, dataset, k)
    lookup = hungarian_mapping(counts)
    n = len(CLASSES)
    cm = torch.zeros(n, n, dtype=torch.int64)  # truth × matched prediction: cm[t, lookup[c]] += counts[c, t]
    truth = torch.arange(n)[None].expand(k, n)
    cm.index_put_((truth.flatten(), lookup[:, None].expand(k, n).flatten()), counts.flatten(), accumulate=True)
    return land_cover_scores(cm, CLASSES), lookup


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", required=True, help="a checkpoint written by pretrain.py (frozen features)")
    p.add_argument("--data-root", default=None, help="labelled patches (default: the simulator)")
    add_data_args(p)
    p.add_argument("--clusters", type=int, default=None, help="K (default: classes present in the training labels)")
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--pixels-per-step", type=int, default=512)
    p.add_argument("--diversity", type=float, default=1.0)
    p.add_argument("--kmeans-pixels", type=int, default=50000, help="training pixels sampled for the k-means baseline")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--results", default=str(HERE / "results" / "unsupervised"))
    args = p.parse_args(argv)
    device = torch.device(args.device)
    torch.manual_seed(args.seed)
    model, run = load_fusion_model(args.checkpoint, device)
    train, test = splits(args, ("s1", "s2"), args.labels)

    # one pass over the training patches: frozen features (VQ), raw S1+S2 values (k-means), classes present (K)
    feats, raw, present = [], [], set()
    for f, batch in pixel_features(model, train, device):
        feats.append(pixel_rows(f).cpu())
        raw.append(pixel_rows(torch.cat([batch["s1"], batch["s2"]], dim=1)))
        present |= set(batch["mask"].unique().tolist())
    feats, raw = torch.cat(feats), torch.cat(raw)
    k = args.clusters or len(present - {IGNORE_INDEX})
    print(f"{len(train)} training / {len(test)} test patches, K = {k} clusters, features of {run.strategy}")

    # Gumbel-softmax VQ on the frozen features: computed once, kept as pixel rows, sampled per step
    vq = GumbelVQ(feats.shape[1], k).to(device)
    opt = torch.optim.AdamW(vq.parameters(), lr=args.lr)
    g = torch.Generator().manual_seed(args.seed)
    for _ in tqdm(range(args.steps), desc="VQ steps"):
        pick = torch.randint(len(feats), (args.pixels_per_step,), generator=g)
        loss, _ = vq.loss(feats[pick].to(device), args.diversity)
        opt.zero_grad()
        loss.backward()
        opt.step()
    vq.eval()

    def vq_clusters(dataset):
        for f, batch in pixel_features(model, dataset, device):
            yield vq.assign(f), batch["mask"].to(device)

    # baseline: k-means on the standardised S1+S2 values of training pixels
    pixels = raw[torch.randperm(len(raw), generator=torch.Generator().manual_seed(args.seed))[:args.kmeans_pixels]]
    centres = kmeans(pixels, k, seed=args.seed)

    def kmeans_clusters(dataset):
        for batch in DataLoader(dataset, batch_size=8):
            x = torch.cat([batch["s1"], batch["s2"]], dim=1)
            yield torch.cdist(pixel_rows(x), centres).argmin(dim=1).reshape(x.shape[0], *x.shape[2:]), batch["mask"]

    rows = {}
    for method, fn, features in (("Gumbel-softmax VQ", vq_clusters, f"{run.strategy} fusion features"),
                                 ("k-means", kmeans_clusters, "raw S1+S2 pixels")):
        scores, lookup = score(fn, test, k)
        rows[method] = lookup
        print(f"{method} on {features}: mIoU {scores['miou']:.2f} %, OA {scores['overall_accuracy']:.2f} %, "
              f"AA {scores['average_accuracy']:.2f} %")
        append_result(Path(args.results), {**scores, "method": method, "features": features, "clusters": k,
                                           "data": args.data_root or "simulator", "test_patches": len(test)}, COLUMNS)
    save_figure(test, vq_clusters, kmeans_clusters, rows, Path(args.results).parent / f"unsupervised_{run.strategy}.png")


def save_figure(test, vq_clusters, kmeans_clusters, lookups: dict, path: Path, n: int = 4) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    subset = torch.utils.data.Subset(test, range(min(n, len(test))))
    vq = torch.cat([c.cpu() for c, _ in vq_clusters(subset)])
    km = torch.cat([c.cpu() for c, _ in kmeans_clusters(subset)])
    fig, axes = plt.subplots(len(subset), 5, figsize=(12, 2.5 * len(subset)), squeeze=False)
    cmap = plt.get_cmap("tab10")
    for row, i in enumerate(range(len(subset))):
        rgb = test.optical_rgb(i)
        sample = test[i]
        truth = sample["mask"].numpy()
        panels = [(rgb, "optical (B4 B3 B2)"), (sample["s1"][0].numpy(), "S1 VV"),
                  (np.ma.masked_equal(truth, IGNORE_INDEX), "truth"),
                  (lookups["Gumbel-softmax VQ"][vq[row]].numpy(), "VQ (matched)"),
                  (lookups["k-means"][km[row]].numpy(), "k-means (matched)")]
        for ax, (image, title) in zip(axes[row], panels):
            kwargs = {} if image.ndim == 3 else ({"cmap": "gray"} if "S1" in title else
                                                 {"cmap": cmap, "vmin": 0, "vmax": 9, "interpolation": "nearest"})
            ax.imshow(image, **kwargs)
            ax.set_title(title, fontsize=8)
            ax.axis("off")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"wrote {path}")


if __name__ == "__main__":
    run_main(main)
