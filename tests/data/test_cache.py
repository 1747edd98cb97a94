"""The readers' decoded-file cache: a byte budget, read-only arrays, each file decoded once, and cached items equal
to freshly decoded ones (COCO detection items, COCO masks and their subsets, grey and colour files)."""
import numpy as np
import pytest
import torch
from helpers.ssdd_fixture import write_ssdd_like
from PIL import Image

import sarhub.data.coco_masks as coco_masks
import sarhub.data.detection as detection
from sarhub.data.cache import DecodedCache
from sarhub.data.coco_masks import CocoMasks, Letterbox
from sarhub.data.detection import CocoDetection, RandomHorizontalFlip
from sarhub.data.segmentation_transforms import JointCompose, TrainAugment


def test_cache_keeps_arrays_within_its_budget_read_only():
    cache, loads = DecodedCache(max_bytes=250), []

    def load(n):
        loads.append(n)
        return (np.zeros(n, np.uint8),)

    assert cache.get("a", lambda: load(100))[0].size == 100 and cache.get("a", lambda: load(100))[0].size == 100
    assert cache.get("b", lambda: load(200))[0].size == 200  # over the budget: returned, not kept
    cache.get("b", lambda: load(200))
    assert loads == [100, 200, 200] and len(cache) == 1 and cache.nbytes == 100
    with pytest.raises(ValueError):
        cache.get("a", lambda: load(100))[0][0] = 1
    empty = DecodedCache(0)
    empty.get("a", lambda: load(1))
    assert len(empty) == 0


def _same_items(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]) if isinstance(a[key], torch.Tensor) else a[key] == b[key]


@pytest.mark.parametrize("colour", [False, True])
def test_cached_detection_items_equal_freshly_decoded_ones(tmp_path, monkeypatch, colour):
    """R = G = B files keep uint8 in the cache, colour files their float32 channel average."""
    root = write_ssdd_like(tmp_path / "ssdd")
    for path in (root / "JPEGImages").glob("*.jpg"):
        rgb = np.array(Image.open(path).convert("RGB"))
        if colour:
            rgb[:8, :8, 0] = 255
        Image.fromarray(rgb).save(path.with_suffix(".png"))
        path.unlink()
    ann = root / "annotations" / "train.json"
    ann.write_text(ann.read_text().replace(".jpg", ".png"))
    args = (root / "annotations" / "train.json", root / "JPEGImages", RandomHorizontalFlip(0.5))
    cached, fresh = CocoDetection(*args), CocoDetection(*args, cache_bytes=0)
    decoded, decode = [], detection.decode_grey
    monkeypatch.setattr(detection, "decode_grey", lambda path: decoded.append(path) or decode(path))
    for epoch in range(2):
        for i in range(len(cached)):
            torch.manual_seed(10 * epoch + i)
            a = cached[i]
            torch.manual_seed(10 * epoch + i)
            _same_items(a, fresh[i])
            a["image"].fill_(0.5)  # the item's memory is its own, never the cache's
    assert len(decoded) == 3 * len(cached)  # cached: once in epoch 0; fresh: every read
    assert len(cached.cache) == len(cached) and not len(fresh.cache)
    stored = {cached.cache.get(rec.path, lambda: None)[0].dtype.name for rec in cached.records}
    assert stored == ({"float32"} if colour else {"uint8"})


def test_cached_masks_equal_freshly_rasterised_ones_and_subsets_share_the_cache(tmp_path, monkeypatch):
    root = write_ssdd_like(tmp_path / "ssdd")
    ann, images = root / "annotations" / "train.json", root / "JPEGImages"
    transform = JointCompose(Letterbox(40), TrainAugment(32, cat_max_ratio=1.0))
    whole = CocoMasks(ann, images)
    cached = whole.subset([1, 2, 3], transform)
    fresh = CocoMasks(ann, images, cache_bytes=0).subset([1, 2, 3], transform)
    rasterised = []
    rasterise = coco_masks.class_mask
    monkeypatch.setattr(coco_masks, "class_mask", lambda rec: rasterised.append(rec.image_id) or rasterise(rec))
    for epoch in range(2):
        for i in range(len(cached)):
            torch.manual_seed(epoch * 10 + i)
            a = cached[i]
            torch.manual_seed(epoch * 10 + i)
            _same_items(a, fresh[i])
    assert sorted(rasterised) == [1, 1, 1, 2, 2, 2, 3, 3, 3] and len(whole.cache) == 3  # the subset filled its parent's cache
    _same_items(whole[0], CocoMasks(ann, images, cache_bytes=0)[0])  # untransformed: the full-size int64 mask
    assert whole[0]["mask"].dtype == torch.int64
    assert whole.cache.get(whole.records[0].path, lambda: None)[1].dtype == np.uint8
