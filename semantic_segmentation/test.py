"""Evaluate a segmentation checkpoint on the test split and its official subsets (SSDD: inshore, offshore):
CPA-<target>, mIoU, P, R (Eq. 11–14, Table 8), a Figure-6 style panel (image, ground truth, prediction), and rows
appended to results.md/.csv beside the paper's.

    python test.py --checkpoint runs/seg_resnet18/checkpoint_best.pth [--init TSX] [--panel 4]
    python test.py --checkpoint runs/ssdd_seg_resnet18/checkpoint_best.pth     # rows all / inshore / offshore
    python test.py --checkpoint C --ann my_ships/test.json --image-dir my_ships/images [--subset near=near.txt]

Scores are accumulated over each row's images from one confusion matrix, at every image's full resolution (the
prediction of a letterboxed input is resized back). P and R are the two-class means, as Table 8's numbers are (its
R differs from CPA, which is the target recall); target-only precision and recall are printed too. The panel of a
real data set goes to figures/ (--figures), a simulator run's beside its checkpoint.
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

from torch.utils.data import DataLoader

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from train import COCO_LAYOUTS, collate_lists, confusion_matrices, get_parser, open_split  # noqa: E402

from sarhub.cli import add_coco_test_options, load_run, report_result, run_main, subset_lists, test_parser  # noqa: E402
from sarhub.data.coco_masks import CocoMasks  # noqa: E402
from sarhub.data.detection import subset_groups  # noqa: E402
from sarhub.distributed import ShardSampler, cleanup, init_distributed  # noqa: E402
from sarhub.errors import DataError  # noqa: E402
from sarhub.models.segmentation import build_deeplabv3, predict_logits  # noqa: E402
from sarhub.paper import TABLE8, init_label  # noqa: E402

HERE = Path(__file__).resolve().parent
COLUMNS = ("model", "init", "dataset", "target", "subset", "images", "data", "iterations", "cpa_target", "miou", "P",
           "R", "paper (CPA/mIoU/P/R)", "checkpoint")


def image_names(dataset) -> list[str]:
    """File names of a test set's images, in item order."""
    if isinstance(dataset, CocoMasks):
        return [rec.path.name for rec in dataset.records]
    return [dataset.image_path(stem).name for stem in dataset.stems]


def panel_indices(names: list[str], groups: dict[str, set[str] | None], n: int) -> list[int]:
    """n image indices for the panel, shared out over the subsets (inshore and offshore both shown), file order."""
    subsets = [members for name, members in groups.items() if name != "all"] or [None]
    per = math.ceil(n / len(subsets))
    chosen: list[int] = []
    for members in subsets:
        chosen += [i for i, name in enumerate(names) if members is None or name in members][:per]
    return sorted(dict.fromkeys(chosen))[:n]


def save_panel(model, dataset, indices: list[int], input_size: int | None, path: Path) -> None:
    """Figure 6 layout: one row per image, columns image / ground truth / prediction."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(indices), 3, figsize=(9, 3 * len(indices)), squeeze=False)
    for row, index in enumerate(indices):
        item = dataset[index]
        pred = predict_logits(model, [item["image"]], input_size)[0].argmax(0).cpu()
        mask = item["mask"].clone().float()
        mask[item["mask"] == 255] = float("nan")
        vmax = max(dataset.num_classes - 1, 1) if isinstance(dataset, CocoMasks) else 1
        axes[row][0].imshow(item["image"][0], cmap="gray", vmin=0, vmax=1)
        axes[row][1].imshow(mask, cmap="viridis", vmin=0, vmax=vmax)
        axes[row][2].imshow(pred, cmap="viridis", vmin=0, vmax=vmax)
        titles = (f"SAR {Path(item['path']).name}", *(("ground truth", "prediction") if row == 0 else ("", "")))
        for ax, title in zip(axes[row], titles):
            ax.set_title(title, fontsize=8)
            ax.axis("off")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None) -> None:
    p = test_parser(__doc__.splitlines()[0], HERE / "results")
    add_coco_test_options(p)
    p.add_argument("--panel", type=int, default=4, help="images in the PNG panel (0: none)")
    p.add_argument("--figures", default=None, help="folder of the panel (default: figures/ for real data, the "
                                                   "checkpoint's folder for the simulator)")
    args = p.parse_args(argv)
    env = init_distributed(args.device)
    state, run = load_run(args.checkpoint, "crop_size", "semantic_segmentation", get_parser())
    run.data_root = args.data_root or run.data_root
    num_classes, target = getattr(run, "num_classes", 2), getattr(run, "target", "building")
    official = {} if run.test_ann else COCO_LAYOUTS.get(run.dataset, {}).get("subsets", {})  # of the official split
    lists = subset_lists(p, args, official, run.data_root)
    if args.ann is not None:
        test_set = CocoMasks(args.ann, args.image_dir)
        if test_set.num_classes != num_classes:
            raise DataError(args.ann, f"has classes {test_set.classes}, the checkpoint was trained on {num_classes} "
                                      "(background included)")
        dataset, data = Path(args.ann).name, str(args.ann)
    else:
        test_set = open_split(run, "test")
        dataset, data = run.dataset, run.data_root or "simulator"
    if lists and not isinstance(test_set, CocoMasks):
        raise DataError(run.data_root, "subset lists need a COCO test set (--ann, or a COCO --dataset)")
    groups: dict[str, set[str] | None] = {"all": None}
    if isinstance(test_set, CocoMasks):
        groups = {name: {rec.path.name for rec in records}
                  for name, records in subset_groups(test_set.records, lists).items()}
    model = build_deeplabv3(run.model, num_classes, aux=not run.no_aux, in_chans=run.in_chans, img_size=run.img_size,
                            output_stride=run.output_stride)
    model.load_state_dict(state["model"])
    model.to(env.device)
    input_size = (run.input_size or None) if isinstance(test_set, CocoMasks) else None
    loader = DataLoader(test_set, batch_size=run.eval_batch_size, collate_fn=collate_lists,
                        sampler=ShardSampler(len(test_set), env.rank, env.world_size))
    cms = confusion_matrices(model, loader, env, num_classes, input_size, groups)
    if not env.is_main:
        cleanup()
        return
    ckpt = Path(args.checkpoint)
    init = args.init or init_label(run.weights)
    iterations = min(state["epoch"] * run.eval_interval, run.iterations)
    for subset, cm in cms.items():
        scores = cm.compute(target)
        n_images = len(test_set) if groups[subset] is None else len(groups[subset])
        print(f"DeepLabV3-{run.model} on {dataset} {subset} ({n_images} images, {iterations} iterations): "
              f"CPA-{target} {scores[f'cpa_{target}']:.2f}, mIoU {scores['miou']:.2f}, "
              f"P {scores['mean_precision']:.2f}, R {scores['mean_recall']:.2f} "
              f"({target} P {scores[f'precision_{target}']:.2f}, R {scores[f'recall_{target}']:.2f})")
        paper = TABLE8.get(run.model, {}).get(init) if subset == "all" else None
        row = {"model": run.model, "init": init, "dataset": dataset, "target": target, "subset": subset,
               "images": n_images, "data": data, "iterations": iterations, "cpa_target": scores[f"cpa_{target}"],
               "miou": scores["miou"], "P": scores["mean_precision"], "R": scores["mean_recall"],
               "paper (CPA/mIoU/P/R)": "/".join(f"{v:.2f}" for v in paper) if paper else "", "checkpoint": str(ckpt)}
        report_result(args, row, COLUMNS)
    if args.panel:
        if args.figures is not None or run.data_root is not None:
            folder = Path(args.figures) if args.figures is not None else HERE / "figures"
            path = folder / f"panel_{dataset}_{run.model}_{init}.png"
        else:
            path = ckpt.parent / "panel_test.png"
        save_panel(model, test_set, panel_indices(image_names(test_set), groups, args.panel), input_size, path)
        print(f"saved {path}")
    cleanup()


if __name__ == "__main__":
    run_main(main)
