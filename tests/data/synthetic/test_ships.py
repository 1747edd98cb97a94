"""The simulated ship scenes: varied ships, empty images and coast; COCO and VOC sets deterministic and readable."""
import json

import numpy as np

from sarhub.data.detection import CocoDetection, VOCDetection
from sarhub.data.synthetic.ships import simulate_ship_scene, write_coco_ship_dataset, write_voc_ship_dataset


def test_simulated_scenes_have_varied_ships_empty_images_and_coast():
    rng = np.random.default_rng(0)
    scenes = [simulate_ship_scene(rng, 128) for _ in range(40)]
    counts = [len(b) for _, b, _ in scenes]
    assert 2 <= counts.count(0) <= 15 and max(counts) >= 4
    assert sum(land.any() for _, _, land in scenes) >= 3
    lengths = [max(x2 - x1, y2 - y1) for _, boxes, _ in scenes for x1, y1, x2, y2, _ in boxes]
    assert min(lengths) < 12 and max(lengths) > 25
    for image, boxes, land in scenes:
        assert image.dtype == np.uint8 and image.shape == (128, 128)
        sea = np.median(image[~land])
        for x1, y1, x2, y2, area in boxes:
            assert 0 <= x1 < x2 <= 128 and 0 <= y1 < y2 <= 128 and 0 < area <= (x2 - x1) * (y2 - y1)
            assert image[y1:y2, x1:x2].max() > 3 * sea  # bright against the clutter


def test_simulated_coco_and_voc_sets_are_deterministic_and_readable(tmp_path):
    a = write_coco_ship_dataset(tmp_path / "a", n_train=6, n_test=3, size=64, seed=1)
    b = write_coco_ship_dataset(tmp_path / "b", n_train=6, n_test=3, size=64, seed=1)
    c = write_coco_ship_dataset(tmp_path / "c", n_train=2, n_test=3, size=64, seed=2)
    assert (a / "annotations/train.json").read_text() == (b / "annotations/train.json").read_text()
    assert [p.read_bytes() for p in sorted((a / "images").glob("*.png"))] == \
        [p.read_bytes() for p in sorted((b / "images").glob("*.png"))]
    assert (a / "annotations/test.json").read_text() != (c / "annotations/test.json").read_text()
    data = json.loads((a / "annotations/train.json").read_text())
    assert data["categories"] == [{"supercategory": "ship", "id": 1, "name": "ship"}]
    assert {"segmentation", "area", "iscrowd", "image_id", "bbox", "category_id", "id"} <= set(data["annotations"][0])
    train = CocoDetection(a / "annotations/train.json", a / "images")
    test = CocoDetection(a / "annotations/test.json", a / "images")
    assert len(train) == 6 and len(test) == 3 and train[0]["image"].shape == (1, 64, 64)
    voc = write_voc_ship_dataset(tmp_path / "voc", n_train=6, n_test=3, size=64, seed=1)
    vtest = VOCDetection(voc / "Annotations", voc / "JPEGImages", ids=voc / "ImageSets/Main/test.txt")
    assert len(vtest) == 3 and vtest.classes == ["ship"]
    for r_coco, r_voc in zip(test.records, vtest.records):  # the same scenes in both formats
        assert np.array_equal(r_coco.boxes, r_voc.boxes)
