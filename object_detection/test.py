"""Evaluate a detection checkpoint: COCO AP, AP50, AP75, AP_S/M/L on the test split, a PNG of predicted (red) and
true (green) boxes on a few test images, and a Table-7 row (backbone, pre-training, dataset, AP, AP50) appended to
results.md/.csv beside the paper's.

    python test.py --checkpoint runs/hrsid_resnet50/checkpoint_best.pth --init TSX
"""
from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch.utils.data import DataLoader

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from train import evaluate_detector, open_split  # noqa: E402  (the sibling script)

from sarhub.cli import load_run, report_result, run_main, test_parser  # noqa: E402
from sarhub.data.detection import collate, to_coco_gt  # noqa: E402
from sarhub.distributed import ShardSampler, cleanup, init_distributed  # noqa: E402
from sarhub.models.detection import build_fcos  # noqa: E402
from sarhub.paper import TABLE7, init_label  # noqa: E402

HERE = Path(__file__).resolve().parent
COLUMNS = ("model", "init", "dataset", "data", "epochs", "AP", "AP50", "AP75", "AP_S", "paper_AP", "paper_AP50",
           "checkpoint")


def save_boxes_png(model, dataset, device, path: Path, n: int, score: float = 0.3) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    n = min(n, len(dataset))
    fig, axes = plt.subplots(1, n, figsize=(4 * n, 4), squeeze=False)
    model.eval()
    for ax, i in zip(axes[0], range(n)):
        item = dataset[i]
        with torch.no_grad():
            out = model([item["image"].to(device)])[0]
        ax.imshow(item["image"][0], cmap="gray")
        for (x1, y1, x2, y2) in item["boxes"].tolist():
            ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, color="lime", lw=1.2))
        for (x1, y1, x2, y2), s in zip(out["boxes"].cpu().tolist(), out["scores"].cpu().tolist()):
            if s >= score:
                ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, color="red", lw=1.0))
        ax.set_title(Path(item["path"]).name, fontsize=7)
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None) -> None:
    p = test_parser(__doc__.splitlines()[0], HERE / "results")
    p.add_argument("--images", type=int, default=4, help="test images drawn in the PNG")
    args = p.parse_args(argv)
    env = init_distributed(args.device)
    state, run = load_run(args.checkpoint, "lr_steps", "object_detection")
    run.data_root = args.data_root or run.data_root
    test_set = open_split(run, "test", False)
    model = build_fcos(run.model, run.num_classes, min_size=run.min_size, max_size=run.max_size,
                       freeze_bn={"auto": run.weights not in (None, "scratch"), "yes": True, "no": False}[run.freeze_bn])
    model.load_state_dict(state["model"])
    model.to(env.device)
    loader = DataLoader(test_set, batch_size=run.batch_size, collate_fn=collate,
                        sampler=ShardSampler(len(test_set), env.rank, env.world_size))
    scores = evaluate_detector(model, loader, test_set, to_coco_gt(test_set), env)
    if not env.is_main:
        cleanup()
        return
    ckpt = Path(args.checkpoint)
    print(f"FCOS-{run.model} on {run.dataset} ({len(test_set)} test images): "
          + ", ".join(f"{k} {v:.2f}" for k, v in scores.items()))
    save_boxes_png(model, test_set, env.device, ckpt.parent / "detections_test.png", args.images)
    print(f"saved {ckpt.parent / 'detections_test.png'}")
    init = args.init or init_label(run.weights)
    paper = TABLE7.get(run.model, {}).get(run.dataset, {}).get(init)
    row = {"model": run.model, "init": init, "dataset": run.dataset, "data": run.data_root or "simulator",
           "epochs": run.epochs, **{k: scores[k] for k in ("AP", "AP50", "AP75", "AP_S")},
           "paper_AP": paper[0] if paper else "", "paper_AP50": paper[1] if paper else "", "checkpoint": str(ckpt)}
    report_result(args, row, COLUMNS)
    cleanup()


if __name__ == "__main__":
    run_main(main)
