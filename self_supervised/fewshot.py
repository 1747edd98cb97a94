"""Few-shot evaluation of a frozen encoder on MSTAR SOC (or TSX-SLC): linear probing, or full fine-tuning.

    python fewshot.py --encoder vit_small --weights runs/mim/encoder.safetensors \
                      --data-root ../../shared/data/mstar_soc --shots 1,2,5,10,20 --draws 10
    python fewshot.py --encoder vit_small ...        # the same encoder architecture from random initialisation
    python fewshot.py --encoder resnet18 --weights resnet18-tsxslc --data-root ../../shared/data/mstar_soc
    python fewshot.py --finetune --encoder vit_small --weights vit_small-mim ...   # full fine-tuning

Chips are centre-cropped to 128 before anything else (chip size leaks the class) and standardised per image (the
SAR-HUB input contract; --no-per-image-norm feeds the [0, 1] chip). Features (mean patch token of a ViT, the pooled
last stage of a CNN) are extracted once; each (K, draw) probe trains LayerNorm → BatchNorm(affine=False) → Linear
with AdamW lr 1e-3 on K chips per class and is scored on the whole test split (or, with --split val, on a validation
split carved from training: the test split is then never read). With --finetune, every (K, draw) run trains a fresh
copy of the whole encoder plus the same head (AdamW, encoder lr --ft-lr, head lr --lr, --ft-steps steps). Prints
accuracy and macro F1, mean ± 95 % CI over draws, and appends one row per K to the results table.
The pipeline: sarhub.pipelines.probe.
"""
from sarhub.cli import parse_config, run_main
from sarhub.pipelines import probe


def main(argv=None) -> None:
    probe.probe(parse_config(probe.ProbeConfig, argv, __doc__.splitlines()[0]))


if __name__ == "__main__":
    run_main(main)
