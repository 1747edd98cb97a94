"""The labelled-image protocol: class count, per-class counts (absent classes as 0) and the label list."""
from sarhub.data.labels import LabelledImages


class Three(LabelledImages):
    def __init__(self):
        self.classes = ["cargo", "tanker", "tug"]
        self.items = [("a.png", 0), ("b.png", 2), ("c.png", 0), ("d.png", 0)]


def test_counts_follow_the_class_list_not_the_items():
    data = Three()
    assert data.num_classes == 3 and not data.multilabel
    assert data.class_counts() == [3, 0, 1]  # tanker has no image: counted 0, not dropped
    assert data.class_labels() == [0, 2, 0, 0]
