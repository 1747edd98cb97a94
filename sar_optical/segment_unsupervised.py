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

Unlabelled real pairs (a root with sar/ and opt/, e.g. ../shared/data/s1s2_pairs; the run's data by default):

    python segment_unsupervised.py --checkpoint runs/sar/checkpoint_last.pth runs/late/checkpoint_last.pth ...

K = 6 (--clusters). For every model, a VQ is trained on the frozen features of the training fragments (and, for
late fusion, also on its SAR network's features alone) and maps the held-out fragments whole; k-means on the raw
SAR pixels is the baseline. There is no truth: each map is scored by its Hungarian-matched pixel agreement with a
k-means map of the optical image, beside that number's chance level (each map against another fragment's optical
k-means map). Rows go to <results>_real.md, the figure (optical, SAR, optical k-means, every map in matched
colours) to unsupervised_real_seed<S>.png.
The pipeline: sarhub.pipelines.fusion.
"""
from sarhub.cli import parse_config, run_main
from sarhub.pipelines import fusion


def main(argv=None) -> None:
    fusion.segment_unsupervised(parse_config(fusion.UnsupervisedConfig, argv, __doc__.splitlines()[0]))


if __name__ == "__main__":
    run_main(main)
