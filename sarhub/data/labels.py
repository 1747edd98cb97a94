"""The protocol of every labelled image set the classifiers train on: a root, class names, (path, label) items,
and what the losses and samplers ask of them (class count, per-class counts, the label list)."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

from torch.utils.data import Dataset


class LabelledImages(Dataset):
    """Base of the classification datasets: `root` (the folder read), `classes` (names indexed by label) and
    `items` as (path, label) pairs; items come out as {"image": C×H×W float tensor in [0, 1], "label", "path"}.
    Multi-label sets (BigEarthNet) set `multilabel` and override the counts."""

    root: Path
    items: list[tuple[str, int]]
    classes: list[str]
    multilabel = False

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def class_counts(self) -> list[int]:
        counts = Counter(label for _, label in self.items)
        return [counts[c] for c in range(self.num_classes)]

    def class_labels(self) -> list[int]:
        return [label for _, label in self.items]
