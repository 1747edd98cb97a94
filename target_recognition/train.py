"""Fine-tune a (SAR pre-trained) backbone for SAR target recognition: MSTAR, OpenSARShip, FUSAR-Ship (Table 6).

    python train.py --dataset mstar --data-root /data/MSTAR_SOC --fraction 0.1 --model resnet18 --weights resnet18-tsx --runs 3
    torchrun --nproc_per_node 2 train.py --dataset opensarship --scale medium --data-root /data/OpenSARShip --model swin_t
    python train.py                           # embedded default: simulated MSTAR-format chips, short CPU run

Recipe (Table 4, sarhub/recipes/targets/<dataset>.yaml): CNNs SGD lr 0.01, Nesterov momentum 0.9, wd 1e-4; Swin AdamW lr 5e-4,
wd 1e-4; StepLR ×0.5 every 100 epochs; batch 32; no augmentation; 500 epochs; all parameters train. The test set is
scored every epoch and logged as `test_top1` (the authors reported the maximum of that curve); the headline is the
last epoch's test accuracy, and the best-on-test figure is reported separately, labelled as the paper's protocol.
Without --data-root, sarhub/recipes/targets/simulator.yaml applies. The pipeline: sarhub.pipelines.targets.
"""
from sarhub.cli import parse_config, run_main
from sarhub.pipelines import targets


def main(argv=None) -> None:
    targets.train(parse_config(targets.TargetConfig, argv, __doc__.splitlines()[0]))


if __name__ == "__main__":
    run_main(main)
