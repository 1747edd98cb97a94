"""Evaluate a detection checkpoint: COCO AP, AP50, AP75, AP_S/M/L on the test split and on its official subsets
(SSDD: inshore, offshore), a PNG of predicted (red) and true (green) boxes on a few test images, and Table-7 rows
(backbone, pre-training, dataset, subset, epoch of the checkpoint, AP, AP50) appended to results.md/.csv beside the
paper's.

    python test.py --checkpoint runs/hrsid_resnet50/checkpoint_best.pth --init TSX
    python test.py --checkpoint runs/ssdd_resnet18/checkpoint_last.pth        # rows all / inshore / offshore
    python test.py --checkpoint C --ann my_ships/test.json --image-dir my_ships/images [--subset near=near.txt]

Detections are computed once; a subset's AP is the COCO evaluation restricted to its images.
"""
from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch.utils.data import DataLoader

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from train import LAYOUTS, open_split, predict_detections  # noqa: E402  (the sibling script)

from sarhub.cli import add_coco_test_options, load_run, report_result, run_main, subset_lists, test_parser  # noqa: E402
from sarhub.data.detection import CocoDetection, collate, subset_groups, to_coco_gt  # noqa: E402
from sarhub.distributed import ShardSampler, cleanup, init_distributed  # noqa: E402
from sarhub.errors import DataError  # noqa: E402
from sarhub.metrics.detection import coco_evaluate, select_images  # noqa: E402
from sarhub.models.detection import build_fcos  # noqa: E402
from sarhub.paper import TABLE7, init_label  # noqa: E402

HERE = Path(__file__).resolve().parent
COLUMNS = ("model", "init", "dataset", "subset", "images", "data", "epoch", "AP", "AP50", "AP75", "AP_S", "paper_AP",
           "paper_AP50", "checkpoint")


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
    add_coco_test_options(p)
    p.add_argument("--drop-bad-boxes", action="store_true", help="--ann sets: drop bad boxes with a warning")
    p.add_argument("--images", type=int, default=4, help="test images drawn in the PNG")
    args = p.parse_args(argv)
    env = init_distributed(args.device)
    state, run = load_run(args.checkpoint, "lr_steps", "object_detection")
    run.data_root = args.data_root or run.data_root
    official = {} if run.test_ann else LAYOUTS[run.dataset].get("subsets", {})  # lists of the official test split
    lists = subset_lists(p, args, official, run.data_root)
    if args.ann is not None:
        test_set = CocoDetection(args.ann, args.image_dir, drop_bad_boxes=args.drop_bad_boxes)
        if test_set.num_classes != run.num_classes:
            raise DataError(args.ann, f"has {test_set.num_classes} categories {test_set.classes}, the checkpoint was "
                                      f"trained on {run.num_classes} {run.classes}")
        dataset, data = Path(args.ann).name, str(args.ann)
    else:
        test_set = open_split(run, "test", False)
        dataset, data = run.dataset, run.data_root or "simulator"
    groups = subset_groups(test_set.records, lists)
    freeze = {"auto": run.weights not in (None, "scratch"), "yes": True, "no": False}[run.freeze_bn]
    model = build_fcos(run.model, run.num_classes, min_size=run.min_size, max_size=run.max_size, freeze_bn=freeze)
    model.load_state_dict(state["model"])
    model.to(env.device)
    loader = DataLoader(test_set, batch_size=run.batch_size, collate_fn=collate,
                        sampler=ShardSampler(len(test_set), env.rank, env.world_size))
    detections = predict_detections(model, loader, test_set, env)
    if not env.is_main:
        cleanup()
        return
    ckpt = Path(args.checkpoint)
    init = args.init or init_label(run.weights)
    gt = to_coco_gt(test_set)
    for subset, records in groups.items():
        image_ids = [r.image_id for r in records]
        scores = {k: 100.0 * v for k, v in coco_evaluate(*select_images(gt, detections, image_ids)).items()}
        print(f"FCOS-{run.model} on {dataset} {subset} ({len(records)} images, epoch {state['epoch']}): "
              + ", ".join(f"{k} {v:.2f}" for k, v in scores.items()))
        paper = TABLE7.get(run.model, {}).get(dataset, {}).get(init) if subset == "all" else None
        row = {"model": run.model, "init": init, "dataset": dataset, "subset": subset, "images": len(records),
               "data": data, "epoch": state["epoch"], **{k: scores[k] for k in ("AP", "AP50", "AP75", "AP_S")},
               "paper_AP": paper[0] if paper else "", "paper_AP50": paper[1] if paper else "", "checkpoint": str(ckpt)}
        report_result(args, row, COLUMNS)
    save_boxes_png(model, test_set, env.device, ckpt.parent / "detections_test.png", args.images)
    print(f"saved {ckpt.parent / 'detections_test.png'}")
    cleanup()


if __name__ == "__main__":
    run_main(main)
