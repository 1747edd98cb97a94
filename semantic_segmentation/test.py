"""Evaluate a segmentation checkpoint on the test split: CPA-building, mIoU, P, R (Eq. 11–14, Table 8), a Figure-6
style PNG panel (image, ground truth, prediction), and a row appended to results.md/.csv beside the paper's.

    python test.py --checkpoint runs/seg_resnet18/checkpoint_best.pth [--init TSX] [--panel 4]

Scores are accumulated over the whole test set from one confusion matrix. P and R are the two-class means, as
Table 8's numbers are (its R differs from CPA-building, which is the building recall); building-only precision and
recall are printed too.
"""
from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch.utils.data import DataLoader

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from train import collate, evaluate_segmentation, open_split  # noqa: E402  (the sibling script)

from sarhub.cli import load_run, report_result, run_main, test_parser  # noqa: E402
from sarhub.distributed import ShardSampler, cleanup, init_distributed  # noqa: E402
from sarhub.models.segmentation import build_deeplabv3  # noqa: E402
from sarhub.paper import TABLE8, init_label  # noqa: E402

HERE = Path(__file__).resolve().parent
COLUMNS = ("model", "init", "data", "iterations", "cpa_building", "miou", "P", "R", "paper (CPA/mIoU/P/R)",
           "checkpoint")


def save_panel(model, dataset, device, path: Path, n: int) -> None:
    """Figure 6 layout: one row per tile, columns image / ground truth / prediction."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = min(n, len(dataset))
    fig, axes = plt.subplots(n, 3, figsize=(9, 3 * n), squeeze=False)
    model.eval()
    for row in range(n):
        item = dataset[row]
        with torch.no_grad():
            pred = model(item["image"][None].to(device))["out"].argmax(1)[0].cpu()
        mask = item["mask"].clone().float()
        mask[item["mask"] == 255] = float("nan")
        for ax, img, title in zip(axes[row], (item["image"][0], mask, pred), ("SAR", "ground truth", "prediction")):
            ax.imshow(img, cmap="gray" if title == "SAR" else "viridis", vmin=0, vmax=1)
            ax.set_title(title if row == 0 else "")
            ax.axis("off")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None) -> None:
    p = test_parser(__doc__.splitlines()[0], HERE / "results")
    p.add_argument("--panel", type=int, default=4, help="tiles in the PNG panel (0: none)")
    args = p.parse_args(argv)
    env = init_distributed(args.device)
    state, run = load_run(args.checkpoint, "crop_size", "semantic_segmentation")
    run.data_root = args.data_root or run.data_root
    test_set = open_split(run, "test")
    model = build_deeplabv3(run.model, 2, aux=not run.no_aux, in_chans=run.in_chans, img_size=run.img_size)
    model.load_state_dict(state["model"])
    model.to(env.device)
    loader = DataLoader(test_set, batch_size=run.eval_batch_size, collate_fn=collate,
                        sampler=ShardSampler(len(test_set), env.rank, env.world_size))
    scores = evaluate_segmentation(model, loader, env)
    if not env.is_main:
        cleanup()
        return
    print(f"DeepLabV3-{run.model} on {len(test_set)} test tiles: CPA-building {scores['cpa_building']:.2f}, "
          f"mIoU {scores['miou']:.2f}, P {scores['mean_precision']:.2f}, R {scores['mean_recall']:.2f} "
          f"(building P {scores['precision_building']:.2f}, R {scores['recall_building']:.2f})")
    ckpt = Path(args.checkpoint)
    if args.panel:
        save_panel(model, test_set, env.device, ckpt.parent / "panel_test.png", args.panel)
        print(f"saved {ckpt.parent / 'panel_test.png'}")
    init = args.init or init_label(run.weights)
    paper = TABLE8.get(run.model, {}).get(init)
    row = {"model": run.model, "init": init, "data": run.data_root or "simulator", "iterations": run.iterations,
           "cpa_building": scores["cpa_building"], "miou": scores["miou"], "P": scores["mean_precision"],
           "R": scores["mean_recall"], "paper (CPA/mIoU/P/R)": "/".join(f"{v:.2f}" for v in paper) if paper else "",
           "checkpoint": str(ckpt)}
    report_result(args, row, COLUMNS)
    cleanup()


if __name__ == "__main__":
    run_main(main)
