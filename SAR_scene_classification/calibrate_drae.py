"""Calibrate DRAE's parameter ranges (paper Eq. 1–2) and plot the image-mean histograms before/after (Figure 2).

    python calibrate_drae.py                                   # the three simulated storage formats
    python calibrate_drae.py --tsx /data/TSX --ben /data/BEN --osu /data/OSU --max-images 2000

For each dataset the grid of its method's parameter (Reinhard–Devlin t for TSX, PTLS v for BEN/OSU) is searched for
the values keeping the dataset's mean image value within ±λ (λ = 0.1) of the shared reference brightness; it
prints the admissible ranges beside the paper's, and the between-dataset gap of mean values without and with DRAE.
The pipeline: sarhub.pipelines.drae.
"""
from sarhub.cli import parse_config, run_main
from sarhub.pipelines import drae


def main(argv=None) -> None:
    drae.calibration(parse_config(drae.CalibrationConfig, argv, __doc__.splitlines()[0]))


if __name__ == "__main__":
    run_main(main)
