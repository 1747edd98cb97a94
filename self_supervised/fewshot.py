"""Few-shot evaluation of a MIM-pre-trained encoder on MSTAR SOC: linear probing (frozen) or full fine-tuning.

    python fewshot.py --encoder-weights runs/mim/encoder.safetensors --data-root ../../shared/data/mstar_soc \
                      --shots 1,2,5,10,20 --seeds 10
    python fewshot.py --random-init ...        # the same encoder architecture from random initialisation
    python fewshot.py --finetune --encoder-weights vit_small-mim ...   # full fine-tuning (a Model-Hub name works)

Chips are centre-cropped to 128 before anything else (chip size leaks the class). Features (mean patch token) are
extracted once; each (K, seed) probe trains LayerNorm → BatchNorm(affine=False) → Linear with AdamW lr 1e-3 on K
chips per class and is scored on the whole test split. With --finetune, every (K, seed) run instead trains a fresh
copy of the whole encoder plus the same head (AdamW, encoder lr --ft-lr, head lr --lr, --ft-steps steps). Prints
accuracy and macro F1, mean ± 95 % CI over seeds, and appends one row per K to the results table.
"""
from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sarhub.backbones import load_weights  # noqa: E402
from sarhub.cli import append_result, check_settings, refuse, run_main  # noqa: E402
from sarhub.data.targets import MSTARDataset  # noqa: E402
from sarhub.errors import DataError  # noqa: E402
from sarhub.ssl.mae import GradientMAE  # noqa: E402
from sarhub.ssl.probe import (extract_features, few_shot_indices, full_finetune, linear_probe, mean_ci,  # noqa: E402
                              stack_images)

HERE = Path(__file__).resolve().parent


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--encoder-weights", default=None, help="encoder.safetensors written by pretrain_mim.py")
    p.add_argument("--random-init", action="store_true", help="probe a randomly initialised encoder instead")
    p.add_argument("--encoder", default="vit_small")
    p.add_argument("--img-size", type=int, default=128)
    p.add_argument("--patch-size", type=int, default=16)
    p.add_argument("--data-root", default=None, help="MSTAR SOC root (default: simulated chips)")
    p.add_argument("--shots", default="1,2,5,10,20")
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--finetune", action="store_true", help="full fine-tuning instead of the frozen linear probe")
    p.add_argument("--ft-steps", type=int, default=100)
    p.add_argument("--ft-lr", type=float, default=1e-4, help="encoder learning rate when fine-tuning")
    p.add_argument("--label", default=None, help="row label in the results table")
    p.add_argument("--results", default=str(HERE / "results"))
    args = p.parse_args(argv)
    if not args.encoder_weights and not args.random_init:
        p.error("give --encoder-weights or --random-init")
    check_settings(p, args)
    try:
        shots = [int(s) for s in args.shots.split(",")]
    except ValueError:
        refuse(p, f"--shots {args.shots}: expected comma-separated integers")
    if min(shots) < 1:
        refuse(p, f"--shots {args.shots}: every K must be at least 1")
    if args.img_size % args.patch_size:
        refuse(p, f"--img-size {args.img_size} is not a multiple of --patch-size {args.patch_size}")
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(0)
    model = GradientMAE(args.encoder, args.img_size, args.patch_size, decoder_depth=1)
    if args.encoder_weights:
        print(load_weights(model.encoder, args.encoder_weights))
    model.to(device).eval()
    for param in model.parameters():
        param.requires_grad_(False)
    root = args.data_root
    if root is None:
        from sarhub.data.synthetic.targets import simulated_mstar_root

        root = simulated_mstar_root()
    train = MSTARDataset(root, "train", crop=128, image_size=args.img_size)
    test = MSTARDataset(root, "test", crop=128, image_size=args.img_size, classes=train.classes)
    counts = train.class_counts()
    if max(shots) > min(counts):
        small = train.classes[counts.index(min(counts))]
        raise DataError(root, f"--shots {max(shots)} exceeds the {min(counts)} training chips of class {small}")
    label = args.label or ("random init" if args.random_init else
                          Path(args.encoder_weights).parent.name or args.encoder_weights)
    protocol = "fine-tune" if args.finetune else "linear probe"
    if args.finetune:
        train_x, train_y = stack_images(train)
        test_x, test_y = stack_images(test)
        pretrained = copy.deepcopy(model.state_dict())
    else:
        train_x, train_y = extract_features(model.features, train, device)
        test_x, test_y = extract_features(model.features, test, device)
    print(f"{label} ({protocol}): {len(train_y)} train / {len(test_y)} test chips")
    for k in shots:
        accs, f1s = [], []
        for seed in range(args.seeds):
            idx = few_shot_indices(train_y, k, seed)
            if args.finetune:
                model.load_state_dict(pretrained)
                r = full_finetune(model.encoder, model.features, model.encoder.embed_dim, train_x[idx], train_y[idx], test_x,
                                  test_y, train.num_classes, args.ft_steps, args.ft_lr, args.lr, seed=seed,
                                  device=device)
            else:
                r = linear_probe(train_x[idx], train_y[idx], test_x, test_y, train.num_classes, args.steps, args.lr,
                                 seed)
            accs.append(r["top1"])
            f1s.append(r["macro_f1"])
        (acc, acc_ci), (f1, f1_ci) = mean_ci(accs), mean_ci(f1s)
        print(f"  {k:>3}-shot: accuracy {acc:.2f} ± {acc_ci:.2f} %, macro F1 {f1:.2f} ± {f1_ci:.2f} % ({args.seeds} seeds)")
        append_result(Path(args.results), {"encoder": label, "protocol": protocol, "shots": k, "seeds": args.seeds, "accuracy": acc,
                                           "accuracy_ci95": acc_ci, "macro_f1": f1, "macro_f1_ci95": f1_ci,
                                           "data": args.data_root or "simulator"},
                      ("encoder", "protocol", "shots", "seeds", "accuracy", "accuracy_ci95", "macro_f1", "macro_f1_ci95", "data"))


if __name__ == "__main__":
    run_main(main)
