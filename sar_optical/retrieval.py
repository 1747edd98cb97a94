"""Cross-modal retrieval on held-out SAR/optical pairs: a label-free test of what the contrastive objective promises.

    python retrieval.py --checkpoint runs/late/checkpoint_last.pth runs/intermediate/checkpoint_last.pth --random-init
    python retrieval.py --checkpoint ... --test-root /data/other_pairs          # every fragment of other real pairs

A SAR patch's embedding should find its own optical patch among all N held-out patches, and the reverse (top-1 and
top-5, cosine similarity). The embeddings are the ones the cross-modal terms align: intermediate fusion's SAR and
optical encoder projections, late fusion's two networks' projections; late fusion also has pixel embeddings,
averaged over each super-pixel and retrieved among the super-pixels of the same patch and among all held-out
super-pixels. Early fusion and the single-sensor baselines have no SAR and optical embedding in one space: their
rows say so. Without --data-root the run's own data and split are used (the fragments pre-training never saw);
held-out patches are resized to the mean scale of the training views. --random-init adds the same architecture
with random weights. One row per model and level in the results table.
The pipeline: sarhub.pipelines.fusion.
"""
from sarhub.cli import parse_config, run_main
from sarhub.pipelines import fusion


def main(argv=None) -> None:
    fusion.retrieval(parse_config(fusion.RetrievalConfig, argv, __doc__.splitlines()[0]))


if __name__ == "__main__":
    run_main(main)
