"""Knowledge-point explanation of fine-tuned target classifiers (paper §3.3, Figures 8–11).

    python explain.py --checkpoint scratch=../target_recognition/runs/a/checkpoint_last.pth \
                      --checkpoint sar=../target_recognition/runs/b/checkpoint_last.pth --num-images 16
    python explain.py --checkpoint e50=run/checkpoint_epoch50.pth --checkpoint e100=run/checkpoint_epoch100.pth ...
    python explain.py              # embedded default: a classifier trained briefly on simulated chips

For every checkpoint (label=path) the same test chips are explained with one σ-U-Net per model, trained on the
whole batch; KPs are counted in target, shadow and clutter units for each b. Writes kp_counts.csv (every image,
model and b), summary.md, loss curves (Figure 8), counts over checkpoints (Figure 9, when several), counts vs b with
trend slopes k (Figure 10), KP maps (Figure 11) and region previews.
The pipeline: sarhub.pipelines.explain.
"""
from sarhub.cli import parse_config, run_main
from sarhub.pipelines import explain


def main(argv=None) -> None:
    explain.knowledge_points(parse_config(explain.KPConfig, argv, __doc__.splitlines()[0]))


if __name__ == "__main__":
    run_main(main)
