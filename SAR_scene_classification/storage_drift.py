"""Figure 2 on real SAR: per-image mean histograms of five real storage formats before and after DRAE.

    python storage_drift.py --shared ../../shared/data --max-images 500

Each set is mapped to [0, 1] the way its storage format is usually read (TSX SLC amplitude / 65535; MSTAR,
OpenSARShip Patch_Uint8 and SSDD 8-bit / 255; BigEarthNet-S1 dB per-patch min–max), then enhanced with the DRAE its
format calls for at the paper's test value: Reinhard–Devlin t = 4 for the 16-bit-like TSX amplitude, PTLS (v = 1
for the dB floats as for BEN, v = 1.5 for 8-bit sets as for OSU). Prints the mean ± std of the per-image means and
the between-dataset gap, and writes the two-panel histogram PNG and a CSV of every image's two means.
The pipeline: sarhub.pipelines.drae.
"""
from sarhub.cli import parse_config, run_main
from sarhub.pipelines import drae


def main(argv=None) -> None:
    drae.storage_drift(parse_config(drae.DriftConfig, argv, __doc__.splitlines()[0]))


if __name__ == "__main__":
    run_main(main)
