"""Unsupervised land-cover segmentation: a Gumbel-softmax vector quantiser on frozen fusion features, compared with
k-means on the raw pixels, both scored after a Hungarian cluster → class matching.

    python segment_unsupervised.py --checkpoint runs/intermediate/checkpoint_last.pth
    python segment_unsupervised.py --checkpoint ... --data-root /data/DFC2020/val --test-root /data/DFC2020/test --labels dfc

K codewords = the number of classes present in the training labels (or --clusters). The quantiser trains on the
training patches without their labels; the labels are only used to count K and, on the test split, for the
Hungarian matching (one mapping for the whole test set) and the scores. The baseline clusters the standardised
S1+S2 pixel values of the same training patches with k-means (K centres, best of 5 k-means++ restarts by
inertia) and labels each test pixel by its nearest centre. Writes both rows to the results table and a figure of
test patches (optical, SAR, truth, VQ, k-means). The training patches are read once for all of this.
The pipeline: sarhub.pipelines.fusion.
"""
from pathlib import Path

from sarhub.cli import run_main
from sarhub.pipelines import fusion

HERE = Path(__file__).resolve().parent


def main(argv=None) -> None:
    args = fusion.parse_unsupervised(argv, HERE / "results" / "unsupervised", __doc__.splitlines()[0])
    fusion.segment_unsupervised(args)


if __name__ == "__main__":
    run_main(main)
