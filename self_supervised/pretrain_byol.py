"""Self-supervised SAR pre-training of a CNN backbone (ResNet-18) by BYOL on the shared SAR pool.

    python pretrain_byol.py --data-root ../../shared/data --amp --channels-last --output runs/byol_pool
    python pretrain_byol.py --data-root ../../shared/data --in-domain ...   # + MSTAR/EOC-1/SSDD TRAINING images
    python pretrain_byol.py                              # embedded default: simulated SAR scenes, about a minute

The pool (every real SAR image of the shared data outside the downstream test sets, cut into 128 px tiles at several
scales) is listed in <output>/pool_manifest.json/.csv; views are SAR-aware (crops, flips, 90° rotations, DRAE and γ
jitter, mild speckle, per-image standardisation). Writes the engine's checkpoints (resume with --resume auto) and
`backbone.safetensors` for sarhub.create_model("resnet18", weights=...), FCOS and DeepLabV3.
The pipeline: sarhub.pipelines.byol.pretrain.
"""
from sarhub.cli import parse_config, run_main
from sarhub.pipelines import byol


def main(argv=None) -> None:
    byol.pretrain(parse_config(byol.BYOLConfig, argv, __doc__.splitlines()[0]))


if __name__ == "__main__":
    run_main(main)
