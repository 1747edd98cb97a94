"""What every single-label dataset of (path, label) items answers: class count, per-class counts, the label list
(for Mini-CBL/CBL weights and class-balanced batches)."""
from __future__ import annotations

from collections import Counter


class SingleLabelItems:
    """Mixin for datasets holding `items` as (path, label) pairs and `classes` as names indexed by label."""

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
