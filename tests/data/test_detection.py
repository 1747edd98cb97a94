"""Ship-detection readers: COCO json in HRSID's layout (0-based, 1-based, non-contiguous and string category ids, all
read as labels 0..K-1), VOC xml, the real HRSID and SAR-Ship samples, flip/collate, and bad input naming the file."""
import json
import warnings

import numpy as np
import pytest
import torch
from helpers.ssdd_fixture import write_ssdd_like
from PIL import Image

from sarhub.data.detection import (
    CocoDetection,
    RandomHorizontalFlip,
    VOCDetection,
    collate,
    hflip,
    read_grey,
    subset_groups,
    to_coco_gt,
)
from sarhub.errors import DataError

W, H = 64, 48


def _png(path, rgb=True, value=40):
    grey = np.full((H, W), value, np.uint8)
    grey[10:20, 5:30] = 230  # a "ship" at xyxy (5, 10, 30, 20)
    Image.fromarray(np.stack([grey] * 3, -1) if rgb else grey).save(path)


def write_coco(tmp_path, cat_ids=(1,), annotations=None, images=None):
    """A tiny split in HRSID's layout: images/*.png (R=G=B), annotations/train.json; image 2 has no ship."""
    (tmp_path / "images").mkdir(exist_ok=True)
    (tmp_path / "annotations").mkdir(exist_ok=True)
    for i in (1, 2):
        _png(tmp_path / "images" / f"P{i:04d}_0_800_0_800.png")
    images = images or [{"file_name": f"P{i:04d}_0_800_0_800.png", "height": H, "width": W, "id": i} for i in (1, 2)]
    if annotations is None:
        annotations = [
            {"segmentation": [[5, 10, 30, 10, 30, 20, 5, 20]], "area": 201.0, "iscrowd": 0, "image_id": 1,
             "bbox": [5, 10, 25, 10], "category_id": cat_ids[0], "id": 7},
            {"segmentation": [], "area": 30.0, "iscrowd": 0, "image_id": 1, "bbox": [40, 30, 6, 5],
             "category_id": cat_ids[-1], "id": 8},
        ]
    data = {"info": {}, "images": images, "annotations": annotations,
            "categories": [{"supercategory": "ship", "id": c, "name": f"ship{k}"} for k, c in enumerate(cat_ids)]}
    path = tmp_path / "annotations" / "train.json"
    path.write_text(json.dumps(data))
    return path, tmp_path / "images"


CATEGORY_IDS = [(0,), (1,), ("ship",), (0, 1), (7, 3), ("cargo", "tanker")]


@pytest.mark.parametrize("cat_ids", CATEGORY_IDS)
def test_coco_reader_maps_any_category_ids_to_labels_from_0(tmp_path, cat_ids):
    ann, images = write_coco(tmp_path, cat_ids)
    ds = CocoDetection(ann, images)
    assert len(ds) == 2 and ds.category_ids == list(cat_ids) and ds.num_classes == len(cat_ids)
    assert ds.classes == [f"ship{k}" for k in range(len(cat_ids))]
    item = ds[0]
    assert item["image"].dtype == torch.float32 and item["image"].shape == (1, H, W)
    assert float(item["image"].max()) == pytest.approx(230 / 255)
    assert item["boxes"].dtype == torch.float32 and item["labels"].dtype == torch.int64
    assert item["boxes"].tolist() == [[5, 10, 30, 20], [40, 30, 46, 35]]
    assert item["labels"].tolist() == [0, len(cat_ids) - 1]
    assert [ds.category_ids[label] for label in item["labels"].tolist()] == [cat_ids[0], cat_ids[-1]]  # file's ids
    assert item["image_id"] == 1 and item["path"].endswith("P0001_0_800_0_800.png")
    empty = ds[1]  # images without ships are kept
    assert empty["boxes"].shape == (0, 4) and empty["labels"].shape == (0,)
    gt = to_coco_gt(ds)  # for the evaluator: the labels are the category ids
    assert gt["categories"] == [{"id": k, "name": f"ship{k}"} for k in range(len(cat_ids))]
    assert [a["category_id"] for a in gt["annotations"]] == [0, len(cat_ids) - 1]
    assert gt["annotations"][0]["bbox"] == [5, 10, 25, 10] and gt["annotations"][0]["area"] == 201.0  # file's area


@pytest.mark.parametrize("cat_ids", CATEGORY_IDS)
def test_perfect_predictions_score_ap_100_whatever_the_file_ids(tmp_path, cat_ids):
    """The reader's labels, as detections, against the reader's ground truth: no id is mapped back on the way."""
    pytest.importorskip("faster_coco_eval", reason="detection extra not installed (pip install -e .[detection])")
    from sarhub.metrics.detection import coco_evaluate, detections_to_coco

    ds = CocoDetection(*write_coco(tmp_path, cat_ids))
    outputs = [{"boxes": torch.from_numpy(r.boxes), "scores": torch.ones(len(r.boxes)),
                "labels": torch.from_numpy(r.labels)} for r in ds.records]
    detections = detections_to_coco(outputs, [r.image_id for r in ds.records])
    assert coco_evaluate(to_coco_gt(ds), detections)["AP"] == pytest.approx(1.0)


def test_crowd_regions_are_not_trained_on_but_kept_for_evaluation(tmp_path):
    anns = [{"area": 50, "iscrowd": 1, "image_id": 1, "bbox": [0, 0, 10, 5], "category_id": 1, "id": 1},
            {"area": 20, "iscrowd": 0, "image_id": 1, "bbox": [20, 20, 4, 5], "category_id": 1, "id": 2}]
    ds = CocoDetection(*write_coco(tmp_path, annotations=anns))
    assert ds[0]["boxes"].tolist() == [[20, 20, 24, 25]]
    assert [a["iscrowd"] for a in to_coco_gt(ds)["annotations"]] == [1, 0]


@pytest.mark.parametrize("bbox, what", [([5, 10, 0, 10], "degenerate"), ([5, 10, 25, -1], "degenerate"),
                                        ([50, 10, 25, 10], "outside"), ([-2, 10, 5, 5], "outside")])
def test_bad_box_names_file_and_annotation_or_is_dropped_with_a_warning(tmp_path, bbox, what):
    anns = [{"area": 1, "iscrowd": 0, "image_id": 1, "bbox": bbox, "category_id": 1, "id": 42},
            {"area": 1, "iscrowd": 0, "image_id": 1, "bbox": [1, 1, 3, 3], "category_id": 1, "id": 43}]
    ann, images = write_coco(tmp_path, annotations=anns)
    with pytest.raises(DataError, match=rf"train\.json: annotation id 42 \(image P0001.*{what}"):
        CocoDetection(ann, images)
    with pytest.warns(UserWarning, match="dropped 1 bad box"):
        ds = CocoDetection(ann, images, drop_bad_boxes=True)
    assert ds[0]["boxes"].tolist() == [[1, 1, 4, 4]]


def test_coco_bad_input_is_one_line_naming_the_file(tmp_path):
    ann, images = write_coco(tmp_path)
    (images / "P0002_0_800_0_800.png").unlink()
    with pytest.raises(DataError, match=r"P0002_0_800_0_800\.png: image listed in train\.json"):
        CocoDetection(ann, images)
    ann, images = write_coco(tmp_path)
    ann.write_text('{"images": [')
    with pytest.raises(DataError, match=r"train\.json: not valid JSON") as err:
        CocoDetection(ann, images)
    assert "\n" not in str(err.value)
    with pytest.raises(DataError, match=r"missing\.json: annotation file not found"):
        CocoDetection(tmp_path / "missing.json", images)
    ann, images = write_coco(tmp_path, annotations=[
        {"area": 1, "iscrowd": 0, "image_id": 1, "bbox": [1, 1, 3, 3], "category_id": 5, "id": 9}])
    with pytest.raises(DataError, match=r"train\.json: annotation 9: unknown category id 5"):
        CocoDetection(ann, images)
    ann, images = write_coco(tmp_path, cat_ids=("ship",), annotations=[
        {"area": 1, "iscrowd": 0, "image_id": 1, "bbox": [1, 1, 3, 3], "category_id": 1, "id": 9}])
    with pytest.raises(DataError, match="unknown category id 1"):  # string "ship" is not int 1
        CocoDetection(ann, images)
    ann, images = write_coco(tmp_path, images=[{"file_name": "P0001_0_800_0_800.png", "height": 99, "width": W,
                                                "id": 1}])
    ds = CocoDetection(ann, images)
    with pytest.raises(DataError, match=r"P0001_0_800_0_800\.png: image is 64×48"):
        ds[0]


@pytest.mark.parametrize("mode", ["L", "LA", "RGB", "RGBA"])
def test_grey_files_of_any_mode_read_exactly_as_one_channel(tmp_path, mode):
    grey = np.random.default_rng(0).integers(0, 256, (H, W), dtype=np.uint8)
    Image.fromarray(grey).convert(mode).save(tmp_path / "x.png")
    image = read_grey(tmp_path / "x.png")
    assert image.shape == (1, H, W) and torch.equal(image[0], torch.from_numpy(grey).float() / 255)


def test_colour_image_is_averaged(tmp_path):
    rgb = np.zeros((H, W, 3), np.uint8)
    rgb[..., 0] = 255
    Image.fromarray(rgb).save(tmp_path / "c.png")
    assert torch.allclose(read_grey(tmp_path / "c.png"), torch.full((1, H, W), 1 / 3))


def test_hflip_mirrors_boxes_with_the_image(tmp_path):
    ds = CocoDetection(*write_coco(tmp_path))
    item = ds[0]
    flipped = hflip(item)
    assert flipped["boxes"].tolist() == [[34, 10, 59, 20], [18, 30, 24, 35]]
    x1, y1, x2, y2 = flipped["boxes"][0].int().tolist()
    assert float(flipped["image"][0, y1:y2, x1:x2].min()) == pytest.approx(230 / 255)  # the ship moved with its box
    assert torch.equal(hflip(flipped)["boxes"], item["boxes"]) and torch.equal(hflip(flipped)["image"], item["image"])
    assert torch.equal(RandomHorizontalFlip(p=1.0)(item)["boxes"], flipped["boxes"])
    assert RandomHorizontalFlip(p=0.0)(item) is item
    ds_aug = CocoDetection(*write_coco(tmp_path), transform=RandomHorizontalFlip(p=1.0))
    assert torch.equal(ds_aug[0]["boxes"], flipped["boxes"])


def test_collate_gives_torchvision_images_and_targets(tmp_path):
    ds = CocoDetection(*write_coco(tmp_path))
    images, targets = collate([ds[0], ds[1]])
    assert len(images) == 2 and images[0].shape == (1, H, W)
    assert targets[0]["boxes"].shape == (2, 4) and targets[1]["labels"].shape == (0,)
    assert [t["image_id"] for t in targets] == [1, 2] and "image" not in targets[0]


def _voc_xml(filename, objects, size=(W, H)):
    objs = "".join(
        f"<object><name>{name}</name><pose>Unspecified</pose><truncated>0</truncated><Difficult>{diff}</Difficult>"
        f"<bndbox><xmin>{b[0]}</xmin><ymin>{b[1]}</ymin><xmax>{b[2]}</xmax><ymax>{b[3]}</ymax></bndbox></object>"
        for name, b, diff in objects)
    return (f'<annotation verified="no"><folder>split</folder><filename>{filename}</filename>'
            f"<size><width>{size[0]}</width><height>{size[1]}</height><depth>3</depth></size>"
            f"<segmented>0</segmented>{objs}</annotation>")


def write_voc(tmp_path):
    """SSDD-VOC-like: JPEGImages/, Annotations/, ImageSets/Main/train.txt; <filename> unlike the file (SAR-Ship)."""
    (tmp_path / "JPEGImages").mkdir()
    (tmp_path / "Annotations").mkdir()
    (tmp_path / "ImageSets" / "Main").mkdir(parents=True)
    _png(tmp_path / "JPEGImages" / "000001.png", rgb=False)
    Image.open(tmp_path / "JPEGImages" / "000001.png").convert("RGB").save(tmp_path / "JPEGImages" / "000002.jpg")
    _png(tmp_path / "JPEGImages" / "000003.png")
    (tmp_path / "Annotations" / "000001.xml").write_text(
        _voc_xml("x.jpg", [("ship", (5, 10, 30, 20), 0), ("ship", (40, 30, 46, 35), 1)]))
    (tmp_path / "Annotations" / "000002.xml").write_text(_voc_xml("y.jpg", []))
    (tmp_path / "Annotations" / "000003.xml").write_text(_voc_xml("z.jpg", [("boat", (1, 1, 9, 9), 0)]))
    (tmp_path / "ImageSets" / "Main" / "train.txt").write_text("000001\n000002\n")
    return tmp_path / "Annotations", tmp_path / "JPEGImages"


def test_voc_reader_on_written_xml(tmp_path):
    ann, images = write_voc(tmp_path)
    ds = VOCDetection(ann, images)
    assert len(ds) == 3 and ds.classes == ds.category_ids == ["boat", "ship"]
    item = ds[0]
    assert item["image"].shape == (1, H, W) and item["image_id"] == 0
    assert item["boxes"].tolist() == [[5, 10, 30, 20], [40, 30, 46, 35]] and item["labels"].tolist() == [1, 1]
    assert ds[1]["boxes"].shape == (0, 4) and ds[1]["path"].endswith("000002.jpg")  # found by stem, any extension
    split = VOCDetection(ann, images, ids=tmp_path / "ImageSets/Main/train.txt", classes=["ship"],
                         keep_difficult=False)
    assert len(split) == 2 and split[0]["boxes"].tolist() == [[5, 10, 30, 20]]
    gt = to_coco_gt(split)
    assert gt["annotations"][0]["bbox"] == [5, 10, 25, 10] and gt["annotations"][0]["area"] == 250
    assert [im["id"] for im in gt["images"]] == [0, 1] and gt["categories"] == [{"id": 0, "name": "ship"}]
    assert {a["category_id"] for a in gt["annotations"]} == {0}


def test_voc_bad_input_names_the_file(tmp_path):
    ann, images = write_voc(tmp_path)
    with pytest.raises(DataError, match=r"Annotations: object names \['boat'\] are not among"):
        VOCDetection(ann, images, classes=["ship"])
    (ann / "000001.xml").write_text(_voc_xml("x.jpg", [("ship", (30, 10, 30, 20), 0)]))
    with pytest.raises(DataError, match=r"000001\.xml: annotation <object> 0 \(image 000001\.png\).*degenerate"):
        VOCDetection(ann, images)
    (ann / "000001.xml").write_text(_voc_xml("x.jpg", [("ship", (30, 10, 70, 20), 0)]))
    with pytest.raises(DataError, match=r"000001\.xml: .*outside the 64×48 image"):
        VOCDetection(ann, images)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert VOCDetection(ann, images, drop_bad_boxes=True)[0]["boxes"].shape == (0, 4)
    assert any("000001.xml" in str(w.message) for w in caught)
    (ann / "000001.xml").write_text("<annotation><object>")
    with pytest.raises(DataError, match=r"000001\.xml: not valid XML"):
        VOCDetection(ann, images)
    (ann / "000001.xml").write_text(_voc_xml("x.jpg", []))
    (images / "000003.png").unlink()
    with pytest.raises(DataError, match=r"000003\.jpg: image for 000003\.xml not found"):
        VOCDetection(ann, images)
    with pytest.raises(DataError, match=r"nope\.txt: split file not found"):
        VOCDetection(ann, images, ids=tmp_path / "nope.txt")


def test_corrupt_image_names_the_file(tmp_path):
    ann, images = write_coco(tmp_path)
    (images / "P0001_0_800_0_800.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match=r"P0001_0_800_0_800\.png: cannot be read"):
        CocoDetection(ann, images)[0]


def test_real_sar_ship_voc_chips(shared_data):
    root = shared_data / "sar_ship"
    if not root.is_dir():
        pytest.skip("sar_ship sample absent")
    ds = VOCDetection(root / "annotations_voc", root / "images")
    assert len(ds) == 12 and ds.classes == ["ship"]
    items = [ds[i] for i in range(len(ds))]
    assert sum(len(it["boxes"]) for it in items) == 68
    assert all(it["image"].shape == (1, 256, 256) for it in items)  # L and R=G=B RGB JPEGs both become 1 channel
    assert all(((it["boxes"] >= 0) & (it["boxes"] <= 256)).all() for it in items)


def test_real_hrsid_json(shared_data):
    root = shared_data / "hrsid"
    if not (root / "derived_boxes_from_instance_masks_coco.json").is_file():
        pytest.skip("HRSID sample absent")
    ds = CocoDetection(root / "derived_boxes_from_instance_masks_coco.json", root)
    assert len(ds) == 4 and ds.classes == ["ship"]
    assert sum(len(r.boxes) for r in ds.records) == 146
    item = ds[0]
    assert item["image"].shape == (1, 800, 800) and len(item["boxes"]) == 10
    assert len(to_coco_gt(ds)["annotations"]) == 146


def test_ssdd_official_coco_layout(tmp_path):
    """Category id 0 is label 0, in the items and in the COCO ground truth; 3-channel JPEGs read as grey."""
    root = write_ssdd_like(tmp_path / "ssdd")
    ds = CocoDetection(root / "annotations" / "train.json", root / "JPEGImages")
    assert ds.category_ids == [0] and ds.classes == ["ship"] and ds.num_classes == 1
    item = ds[0]
    assert item["image"].shape == (1, 48, 64) and set(item["labels"].tolist()) == {0}
    x1, y1, x2, y2 = item["boxes"][0].int().tolist()
    assert float(item["image"][0, y1:y2, x1:x2].mean()) > 0.8
    gt = to_coco_gt(ds)
    assert gt["categories"] == [{"id": 0, "name": "ship"}] and {a["category_id"] for a in gt["annotations"]} == {0}
    assert all(len(s) == 1 for r in ds.records for s in r.segmentations)  # polygons kept for the masks reader


def test_real_ssdd_coco(shared_data):
    root = shared_data / "ssdd"
    if not (root / "annotations" / "train.json").is_file():
        pytest.skip("SSDD absent")
    train = CocoDetection(root / "annotations" / "train.json", root / "JPEGImages")
    test = CocoDetection(root / "annotations" / "test.json", root / "JPEGImages")
    assert (len(train), len(test)) == (928, 232) and train.category_ids == [0] and train.classes == ["ship"]
    assert sum(len(r.boxes) for r in train.records) == 2041 and sum(len(r.boxes) for r in test.records) == 546
    groups = subset_groups(test.records, {"inshore": root / "test_inshore.txt", "offshore": root / "test_offshore.txt"})
    assert [len(g) for g in groups.values()] == [232, 46, 186]
    assert {r.image_id for r in groups["inshore"]}.isdisjoint(r.image_id for r in groups["offshore"])
    item = test[0]
    assert item["image"].shape == (1, 323, 416) and item["labels"].tolist() == [0]


def test_voc_class_list_comes_from_every_split_case_insensitively(tmp_path):
    from sarhub.data.detection import VOCDetection

    ann, img = tmp_path / "Annotations", tmp_path / "JPEGImages"
    ann.mkdir()
    img.mkdir()
    for stem, name in (("a", "Ship"), ("b", "ship"), ("c", "Boat")):
        Image.fromarray(np.zeros((20, 20), np.uint8)).save(img / f"{stem}.jpg")
        (ann / f"{stem}.xml").write_text(
            f"<annotation><size><width>20</width><height>20</height></size><object><name>{name}</name>"
            "<bndbox><xmin>1</xmin><ymin>1</ymin><xmax>9</xmax><ymax>9</ymax></bndbox></object></annotation>")
    train, test = VOCDetection(ann, img, ["a", "c"]), VOCDetection(ann, img, ["b"])
    assert train.classes == test.classes == ["boat", "ship"]
    assert train.records[0].labels.tolist() == test.records[0].labels.tolist() == [1]


def test_coco_non_numeric_area_is_one_line(tmp_path):
    import json

    from sarhub.data.detection import CocoDetection

    Image.fromarray(np.zeros((20, 20), np.uint8)).save(tmp_path / "x.jpg")
    (tmp_path / "a.json").write_text(json.dumps({
        "images": [{"id": 1, "file_name": "x.jpg", "width": 20, "height": 20}],
        "categories": [{"id": 0, "name": "ship"}],
        "annotations": [{"id": 7, "image_id": 1, "category_id": 0, "bbox": [1, 1, 5, 5], "area": "big"}]}))
    with pytest.raises(DataError, match="annotation 7: area 'big' is not a number"):
        CocoDetection(tmp_path / "a.json", tmp_path)
