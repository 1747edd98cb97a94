"""CAM maps of SAR classifiers (paper Figure 7): GradCAM++, LayerCAM and Guided GradCAM++ per model, one PNG panel
per image (rows = models, columns = methods), plus the channel-mean feature maps of the four stages (Figure 7a).

    python cam.py --checkpoint scratch=runA/checkpoint_last.pth --checkpoint tsx=runB/checkpoint_last.pth --num-images 4

Figure 7's "frozen backbone + trained classifier" models are trained with target_recognition/train.py
--freeze-backbone (a linear probe). Guided backprop only changes ReLUs: for Swin (GELU) the "Guided GradCAM++"
column is the plain input gradient × GradCAM++, and the script says so.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from explain import default_checkpoint, load_classifier, pick_chips  # noqa: E402  (the sibling script)

from sarhub.cli import run_main  # noqa: E402
from sarhub.explain import plots  # noqa: E402
from sarhub.explain.cam import cam_maps, guided_is_plain_gradient, stage_feature_maps  # noqa: E402


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", action="append", default=None, help="label=path (repeatable)")
    p.add_argument("--data-root", default=None)
    p.add_argument("--split", default="test")
    p.add_argument("--num-images", type=int, default=4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--output", default="runs/cam")
    args = p.parse_args(argv)
    out = Path(args.output)
    specs = args.checkpoint or [f"default={default_checkpoint(out)}"]
    checkpoints = dict(s.split("=", 1) if "=" in s else (Path(s).parent.name, s) for s in specs)
    device = torch.device("cpu")
    rows_per_image: list[dict] = []
    stage_rows: list[dict] = []
    raw = None
    for label, path in checkpoints.items():
        model, run, preprocess = load_classifier(path, device)
        if raw is None:
            data, pick, raw = pick_chips(run, args)
            labels = [data[i]["label"] for i in pick.tolist()]
            rows_per_image = [{} for _ in range(len(raw))]
            stage_rows = [{} for _ in range(len(raw))]
        if guided_is_plain_gradient(run["model"]):
            print(f"note: {label} ({run['model']}) uses GELU, so Guided GradCAM++ is plain gradient × GradCAM++")
        x = preprocess(raw)
        maps = cam_maps(model, run["model"], x, labels)
        stages = stage_feature_maps(model, run["model"], x)
        for i in range(len(raw)):
            rows_per_image[i][label] = {m: maps[m][i] for m in maps}
            stage_rows[i][label] = {f"stage {s + 1}": torch.nn.functional.interpolate(
                torch.from_numpy(stages[s][i])[None, None], size=raw.shape[-2:], mode="nearest")[0, 0].numpy()
                for s in range(4)}
    for i in range(len(raw)):
        plots.cam_panel(raw[i, 0].numpy(), rows_per_image[i], out / f"cam_image{i}.png")
        plots.cam_panel(raw[i, 0].numpy(), stage_rows[i], out / f"stages_image{i}.png")
    print(f"wrote {len(raw)} CAM panels and stage-feature panels to {out}")


if __name__ == "__main__":
    run_main(main)
