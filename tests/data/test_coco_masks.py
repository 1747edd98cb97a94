"""COCO polygon/RLE masks (issue 20): the pixel-centre rasteriser, holes, several polygons, clipping, bad polygons in
one line naming the annotation, the SSDD-layout dataset, its seeded validation split, letterboxing, real SSDD."""
import json

import numpy as np
import pytest
import torch
from helpers.ssdd_fixture import H, W, write_ssdd_like
from matplotlib.path import Path as MplPath

from sarhub.data.coco_masks import (
    CocoMasks,
    Letterbox,
    annotation_mask,
    class_mask,
    letterbox_image,
    polygon_mask,
    validation_split,
)
from sarhub.data.detection import CocoDetection, read_subset, subset_groups
from sarhub.errors import DataError
from sarhub.models.segmentation import predict_logits


def test_square_polygon_gives_exactly_its_pixels():
    mask = polygon_mask([[2, 3, 9, 3, 9, 7, 2, 7]], 10, 12)
    expected = np.zeros((10, 12), bool)
    expected[3:7, 2:9] = True  # rows 3..6, columns 2..8: 7 × 4 pixels
    assert mask.dtype == bool and np.array_equal(mask, expected)
    # off-grid corners: the pixels whose centres lie inside, (2.5..8.5) × (3.5..6.5) for [2.2, 8.8] × [3.1, 6.9]
    assert np.array_equal(polygon_mask([[2.2, 3.1, 8.8, 3.1, 8.8, 6.9, 2.2, 6.9]], 10, 12), expected)


def test_any_polygon_is_the_set_of_pixel_centres_inside_it():
    rng = np.random.default_rng(0)
    rows, cols = np.mgrid[0:40, 0:50]
    centres = np.stack([cols.ravel() + 0.5, rows.ravel() + 0.5], 1)
    for _ in range(20):  # random star-shaped polygons (concave), partly outside the image
        k = int(rng.integers(3, 12))
        angles = np.sort(rng.uniform(0, 2 * np.pi, k))
        radius = rng.uniform(3, 25, k)
        centre = rng.uniform(-5, 55, 2)
        xy = np.stack([centre[0] + radius * np.cos(angles), centre[1] + radius * np.sin(angles)], 1)
        inside = MplPath(xy).contains_points(centres).reshape(40, 50)
        assert np.array_equal(polygon_mask([xy.ravel().tolist()], 40, 50), inside)


def test_several_polygons_are_united_and_only_rle_cuts_holes():
    mask_utils = pytest.importorskip("pycocotools.mask", reason="pycocotools (segmentation extra) missing")
    outer, inner = [1, 1, 9, 1, 9, 9, 1, 9], [3, 3, 6, 3, 6, 6, 3, 6]
    far = [11, 0, 14, 0, 14, 2, 11, 2]
    union = annotation_mask([outer, inner, far], 10, 15)
    expected = np.zeros((10, 15), bool)
    expected[1:9, 1:9] = True
    expected[0:2, 11:14] = True
    assert np.array_equal(union, expected)  # COCO semantics: an inner polygon adds nothing, it cuts no hole
    ring = expected.copy()
    ring[3:6, 3:6] = False
    compressed = mask_utils.encode(np.asfortranarray(ring.astype(np.uint8)))
    compressed["counts"] = compressed["counts"].decode()  # as json stores it
    assert np.array_equal(annotation_mask(compressed, 10, 15), ring)
    flat = ring.T.ravel()  # uncompressed RLE: column-major runs, starting with a run of zeros
    changes = np.flatnonzero(np.diff(flat.astype(int))) + 1
    counts = np.diff(np.concatenate([[0], changes, [flat.size]])).tolist()
    assert np.array_equal(annotation_mask({"size": [10, 15], "counts": counts}, 10, 15), ring)


def test_polygons_leaving_the_image_are_clipped():
    mask = polygon_mask([[-5, -5, 4, -5, 4, 3, -5, 3]], 10, 10)
    expected = np.zeros((10, 10), bool)
    expected[0:3, 0:4] = True
    assert np.array_equal(mask, expected)
    assert not polygon_mask([[20, 20, 30, 20, 30, 30]], 10, 10).any()
    assert polygon_mask([[-1, -1, 11, -1, 11, 11, -1, 11]], 10, 10).all()


def _write(tmp_path, annotations):
    root = write_ssdd_like(tmp_path / "ssdd", n_train=2, n_test=1)
    path = root / "annotations" / "train.json"
    data = json.loads(path.read_text())
    data["annotations"] = [{"area": 1.0, "iscrowd": 0, "image_id": 1, "bbox": [0, 0, 2, 2], "category_id": 0,
                            "id": 7 + k, **ann} for k, ann in enumerate(annotations)]
    path.write_text(json.dumps(data))
    return path, root / "JPEGImages"


def test_masks_of_several_annotations_crowd_and_clipped_polygons(tmp_path):
    ann, images = _write(tmp_path, [
        {"segmentation": [[0, 0, 10, 0, 10, 6, 0, 6]]},
        {"segmentation": [[5, 2, 20, 2, 20, 12, 5, 12]]},  # overlaps the first: the later annotation wins
        {"segmentation": [[30, 30, 40, 30, 40, 40, 30, 40]], "iscrowd": 1},
        {"segmentation": [[W - 4, H - 4, W + 6, H - 4, W + 6, H + 6, W - 4, H + 6]], "bbox": [W - 4, H - 4, 10, 10]},
    ])
    with pytest.raises(DataError, match="outside"):  # the detection reader checks boxes ...
        CocoDetection(ann, images)
    ds = CocoMasks(ann, images)  # ... the masks reader clips polygons instead
    mask = class_mask(ds.records[0])
    assert mask.dtype == np.int64 and mask.shape == (H, W)
    expected = np.zeros((H, W), np.int64)
    expected[0:6, 0:10] = 1
    expected[2:12, 5:20] = 1
    expected[30:40, 30:40] = 255  # crowd: ignored
    expected[H - 4:, W - 4:] = 1
    assert np.array_equal(mask, expected)
    assert not class_mask(ds.records[1]).any()  # an image without ships: all background


def test_mask_classes_follow_the_categories_order_after_background(tmp_path):
    ann, images = _write(tmp_path, [{"segmentation": [[0, 0, 4, 0, 4, 4, 0, 4]], "category_id": 3},
                                    {"segmentation": [[10, 10, 14, 10, 14, 14, 10, 14]], "category_id": 7}])
    data = json.loads(ann.read_text())
    data["categories"] = [{"id": 7, "name": "cargo"}, {"id": 3, "name": "tanker"}]
    ann.write_text(json.dumps(data))
    ds = CocoMasks(ann, images)
    assert ds.classes == ["background", "cargo", "tanker"] and ds.category_ids == [7, 3]
    mask = class_mask(ds.records[0])
    assert mask[0, 0] == 2 and mask[10, 10] == 1 and mask[20, 20] == 0  # tanker (id 3), cargo (id 7), background


@pytest.mark.parametrize("segmentation, problem", [
    ([[1, 1, 5, 1, 5]], r"polygon 0 has 5 coordinates"),
    ([[1, 1, 5, 1, 5, 5, 1, 5], [1, 1, 5, 1]], r"polygon 1 has 4 coordinates"),
    ([[1, 1, 5, 1, "x", 5]], r"polygon 0 is not a flat list of finite numbers"),
    ([[1, 1, 5, 1, float("nan"), 5]], r"polygon 0 is not a flat list"),
    ([[1, 1, 3, 3, 6, 6]], r"polygon 0 is degenerate \(zero area\)"),
    ([], r"no segmentation"),
    (None, r"no segmentation"),
    ({"size": [H, W + 1], "counts": "abc"}, r"RLE size \[48, 65\] is not the image's"),
    ({"size": [H, W], "counts": [1, 2, 3]}, r"RLE run lengths add up to 6 pixels"),
    ({"size": [H, W]}, r"RLE needs 'counts'"),
])
def test_a_bad_segmentation_is_one_line_naming_file_and_annotation(tmp_path, segmentation, problem):
    ann, images = _write(tmp_path, [{"segmentation": [[0, 0, 4, 0, 4, 4]]}, {"segmentation": segmentation}])
    with pytest.raises(DataError, match=rf"train\.json: annotation id 8 \(image 000001\.jpg\): {problem}") as err:
        CocoMasks(ann, images)
    assert "\n" not in str(err.value)


def test_ssdd_layout_items(tmp_path):
    root = write_ssdd_like(tmp_path / "ssdd")
    ds = CocoMasks(root / "annotations" / "train.json", root / "JPEGImages")
    assert len(ds) == 6 and ds.classes == ["background", "ship"] and ds.num_classes == 2 and ds.category_ids == [0]
    data = json.loads((root / "annotations" / "train.json").read_text())
    item = ds[0]
    assert item["image"].dtype == torch.float32 and item["image"].shape == (1, H, W)  # 3-channel JPEG -> one channel
    assert item["mask"].dtype == torch.int64 and set(item["mask"].unique().tolist()) == {0, 1}
    assert item["image_id"] == 1 and item["path"].endswith("000001.jpg")
    ship_pixels = sum(int((ds[i]["mask"] == 1).sum()) for i in range(len(ds)))
    assert ship_pixels == sum(a["area"] for a in data["annotations"])  # rectangles never overlap here
    x0, y0, w, h = (int(v) for v in data["annotations"][0]["bbox"])
    assert float(item["image"][0, y0:y0 + h, x0:x0 + w].mean()) > 0.8  # the mask lies on the bright ship
    part = ds.subset([2, 5], transform=Letterbox(32))
    assert [r.image_id for r in part.records] == [2, 5] and len(ds) == 6
    assert part[0]["image"].shape == (1, 32, 32) and part[0]["mask"].shape == (32, 32)


def test_validation_split_is_seeded_and_disjoint():
    ids = list(range(100, 200))
    train, val = validation_split(ids, 0.1, seed=0)
    assert len(val) == 10 and len(train) == 90 and sorted(train + val) == ids
    assert validation_split(ids[::-1], 0.1, seed=0) == (train, val)  # order of the file does not matter
    assert validation_split(ids, 0.1, seed=1)[1] != val
    with pytest.raises(ValueError, match="fraction"):
        validation_split(ids, 1.0, 0)
    with pytest.raises(ValueError, match="too few"):
        validation_split([1], 0.5, 0)


def test_subset_lists_name_images_of_the_split(tmp_path):
    root = write_ssdd_like(tmp_path / "ssdd")
    ds = CocoMasks(root / "annotations" / "test.json", root / "JPEGImages")
    groups = subset_groups(ds.records, {"inshore": root / "test_inshore.txt", "offshore": root / "test_offshore.txt"})
    assert [len(v) for v in groups.values()] == [4, 2, 2]
    assert {r.path.name for r in groups["inshore"]} | {r.path.name for r in groups["offshore"]} == \
        {r.path.name for r in groups["all"]}
    (tmp_path / "wrong.txt").write_text("000001.jpg\n")  # a training image
    with pytest.raises(DataError, match=r"wrong\.txt: 1 listed image\(s\) are not in the split, e.g. '000001\.jpg'"):
        read_subset(tmp_path / "wrong.txt", ds.records)
    with pytest.raises(DataError, match=r"nope\.txt: subset list not found"):
        read_subset(tmp_path / "nope.txt", ds.records)


def test_letterbox_pads_and_predictions_come_back_at_full_size():
    image = torch.zeros(1, 30, 60)
    image[:, 10:20, 20:40] = 1.0
    mask = (image[0] > 0.5).long()
    boxed, boxed_mask = Letterbox(30)(image, mask)
    assert boxed.shape == (1, 30, 30) and boxed_mask.shape == (30, 30)
    assert (boxed_mask[15:] == 255).all() and (boxed[:, 15:] == 0).all()  # 30×60 -> 15×30, padded below
    assert torch.equal(boxed_mask[:15], mask[::2, ::2]) and torch.equal(letterbox_image(image, 30), boxed)

    class Threshold(torch.nn.Module):  # logits (1 - x, x): its prediction is the image itself
        def __init__(self):
            super().__init__()
            self.anchor = torch.nn.Parameter(torch.zeros(()))

        def forward(self, x):
            return {"out": torch.cat([1 - x, x], dim=1)}

    logits = predict_logits(Threshold(), [image, image[:, :20, :50]], input_size=40)
    assert [tuple(lg.shape) for lg in logits] == [(2, 30, 60), (2, 20, 50)]
    pred = logits[0].argmax(0)
    assert pred[12:18, 22:38].all() and not pred[:7].any() and not pred[23:].any()  # back in place at full size
    assert (pred != mask).float().mean() < 0.05  # only outline pixels may differ (resampling)
    assert [tuple(lg.shape) for lg in predict_logits(Threshold(), [image, image[:, :20]])] == [(2, 30, 60), (2, 20, 60)]


def test_real_ssdd_masks(shared_data):
    root = shared_data / "ssdd"
    if not (root / "annotations" / "test.json").is_file():
        pytest.skip("SSDD absent")
    splits = {s: CocoMasks(root / "annotations" / f"{s}.json", root / "JPEGImages") for s in ("train", "test")}
    assert [len(d) for d in splits.values()] == [928, 232] and splits["test"].category_ids == [0]
    assert [sum(len(r.labels) for r in d.records) for d in splits.values()] == [2041, 546]
    groups = subset_groups(splits["test"].records, {"inshore": root / "test_inshore.txt",
                                                    "offshore": root / "test_offshore.txt"})
    assert [len(v) for v in groups.values()] == [232, 46, 186]
    for ds in splits.values():
        pixels = sum(int((class_mask(r) == 1).sum()) for r in ds.records)
        area = sum(float(np.sum(r.areas)) for r in ds.records)
        assert abs(pixels / area - 1) < 0.02  # rasterised ships match the polygons' areas
        assert all((class_mask(r) == 1).any() for r in ds.records[:50])  # every image has a ship
    item = splits["test"][0]
    assert item["image"].shape == (1, 323, 416) and item["mask"].shape == (323, 416)
