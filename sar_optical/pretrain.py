"""Self-supervised SAR–optical fusion pre-training with the hard-negative contrastive loss (HCL).

    python pretrain.py --strategy intermediate                         # embedded default: simulated S1/S2 pairs
    python pretrain.py --strategy late --data-root /data/SEN12MS --config sen12ms
    OMP_NUM_THREADS=1 python pretrain.py --strategy late --data-root ../../shared/data/s1s2_pairs --config s1s2_pairs
    torchrun --nproc_per_node 4 pretrain.py --strategy early --data-root /data/SEN12MS --config sen12ms --amp

Each step draws two views of every patch with shared-parameter geometric augmentation (S1, S2 and the super-pixel
map move together) plus per-sensor photometric jitter, and minimises the strategy's HCL terms at image level and
at super-pixel level (decoder features averaged over each Felzenszwalb super-pixel). Labels are never read.
Strategies: early, intermediate, late (fusion), sar, optical (single-sensor baselines); --no-superpixel-contrast
keeps the image-level terms only (the image-level contrastive baseline). A --data-root with sar/ and opt/ folders
is read as real unlabelled fragment pairs (sar/NNN.png + opt/NNN.jpg), tiled into --patch windows every --stride
px, whole fragments held out (--test-fraction, --split-seed); the band counts and the input standardisation come
from the training fragments and are saved with the run.
The pipeline: sarhub.pipelines.fusion.
"""
from sarhub.cli import parse_config, run_main
from sarhub.pipelines import fusion


def main(argv=None) -> None:
    fusion.pretrain(parse_config(fusion.FusionConfig, argv, __doc__.splitlines()[0]))


if __name__ == "__main__":
    run_main(main)
