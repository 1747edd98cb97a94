"""Self-supervised SAR pre-training: masked image modelling with multi-scale gradient-feature targets.

    python pretrain_mim.py --data ../../shared/data --exclude '*/mstar_soc/test/*' --exclude '*_instance_*'
    torchrun --nproc_per_node 8 pretrain_mim.py --data /data/sar_pool --encoder vit_base --epochs 800 --amp
    python pretrain_mim.py                                # embedded default: simulated SAR scenes and targets

AdamW (β 0.9/0.95, wd 0.05, no decay on norms/biases), lr = blr·batch·world/256, linear warm-up then cosine, per
iteration. Writes the engine's checkpoints and `encoder.safetensors` (the ViT encoder alone) for fine-tuning.
The pipeline: sarhub.pipelines.mim.pretrain.
"""
from sarhub.cli import parse_config, run_main
from sarhub.pipelines import mim


def main(argv=None) -> None:
    mim.pretrain(parse_config(mim.MIMConfig, argv, __doc__.splitlines()[0]))


if __name__ == "__main__":
    run_main(main)
