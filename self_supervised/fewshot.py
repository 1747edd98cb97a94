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
The pipeline: sarhub.pipelines.mim.fewshot.
"""
from pathlib import Path

from sarhub.cli import run_main
from sarhub.pipelines import mim

HERE = Path(__file__).resolve().parent


def main(argv=None) -> None:
    mim.fewshot(*mim.parse_fewshot(argv, HERE / "results", __doc__.splitlines()[0]))


if __name__ == "__main__":
    run_main(main)
