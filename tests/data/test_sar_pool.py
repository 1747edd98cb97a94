"""The SSL pre-training pool: which shared-data images go in (never a downstream test image), how each is cut into
tiles at several scales, the storage-format contract of every tile, the manifest, and the in-domain variant."""
import csv
import json
from pathlib import Path

import numpy as np
import pytest
import tifffile
import torch
from helpers.tsx_slc_fixture import write_tsx_slc
from PIL import Image

from sarhub.data.sar_pool import (
    PoolSource,
    build_pool,
    cut_image,
    downstream_test_files,
    shared_pool,
    shared_pool_sources,
)
from sarhub.data.tsx_slc import TSXSLCDataset
from sarhub.errors import DataError

TILE = 32


def grey(path: Path, size, value=None, mode="L"):
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(len(str(path)))
    shape = (*size, 3) if mode == "RGB" else size
    Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8) if value is None else
                    np.full(shape, value, np.uint8)).save(path)


def fake_shared(root: Path) -> Path:
    """Every folder the pool reads or must leave out, a few small files each, in the real formats."""
    grey(root / "s1s2_pairs" / "sar" / "003.png", (130, 140))
    grey(root / "s1s2_pairs" / "opt" / "003.jpg", (130, 140), mode="RGB")  # optical: not in the pool
    write_tsx_slc(root / "tsx_slc")
    grey(root / "hrsid" / "P1.png", (70, 70), mode="RGB")
    grey(root / "hrsid" / "P1_instance_id_RGB.png", (70, 70), mode="RGB")
    grey(root / "sar_ship" / "images" / "s.jpg", (64, 64))
    patch = root / "bigearthnet_s1" / "Example" / "P"
    patch.mkdir(parents=True)
    for band in ("VV", "VH"):
        tifffile.imwrite(patch / f"P_{band}.tif", np.linspace(-25, 5, 20 * 20, dtype=np.float32).reshape(20, 20))
    (patch / "P_labels_metadata.json").write_text("{}")
    (root / "sen12ms_s1").mkdir()
    tifffile.imwrite(root / "sen12ms_s1" / "r_s1_1.tif", np.full((40, 40, 2), -12, np.float32) +
                     np.arange(40, dtype=np.float32)[:, None, None])
    tifffile.imwrite(root / "sen12ms_s1" / "r_lc_1.tif", np.zeros((40, 40, 4), np.uint8))
    for split in ("train", "test"):
        grey(root / "mstar_soc" / split / "BMP2" / f"{split}.jpeg", (140, 140))
    grey(root / "mstar_eoc_depression" / "TRAIN" / "T72" / "A64" / "t.jpeg", (130, 130))
    grey(root / "mstar_eoc_depression" / "TEST_30" / "T72" / "30_DEG" / "e.jpeg", (130, 130))
    for name in ("000001.jpg", "000002.jpg"):
        grey(root / "ssdd" / "JPEGImages" / name, (40, 70), mode="RGB")
    (root / "ssdd" / "annotations").mkdir()
    for split, name in (("train", "000001.jpg"), ("test", "000002.jpg")):
        (root / "ssdd" / "annotations" / f"{split}.json").write_text(json.dumps(
            {"images": [{"file_name": name, "id": 1, "height": 40, "width": 70}], "annotations": [],
             "categories": []}))
    grey(root / "opensarship" / "S1A" / "Patch_Uint8" / "x.png", (32, 32))
    (root / "mstar_raw").mkdir()
    (root / "mstar_raw" / "BMP2_HB03787.000").write_bytes(b"raw")
    grey(root / "rsscn7_optical" / "aGrass" / "g.jpg", (32, 32), mode="RGB")
    return root


@pytest.fixture
def shared(tmp_path):
    return fake_shared(tmp_path / "shared")


def test_scene_cut_averages_windows_at_every_scale_that_fits():
    image = torch.arange(130 * 140, dtype=torch.float32).reshape(130, 140)
    tiles = cut_image(image, 32, "scene")
    assert {s: len(t) for s, t in tiles.items()} == {1.0: 16, 2.0: 4, 4.0: 1}  # 4×4, 2×2 and 1 window, centred
    y0, x0 = (130 - 128) // 2, (140 - 128) // 2
    torch.testing.assert_close(tiles[1.0][0], image[y0:y0 + 32, x0:x0 + 32])
    torch.testing.assert_close(tiles[4.0][0, 0, 0], image[y0:y0 + 4, x0:x0 + 4].mean())  # area average


def test_chips_are_resized_and_mstar_chips_centre_cropped_first():
    chip = torch.rand(20, 20)
    (scale, tiles), = cut_image(chip, 32, "chip").items()
    assert scale == pytest.approx(0.62) and tiles.shape == (1, 32, 32)
    mstar = torch.zeros(150, 150)
    mstar[11:139, 11:139] = 1.0  # the centre 128 px
    (scale, tiles), = cut_image(mstar, 128, "centre").items()
    assert scale == 1.0 and bool((tiles == 1).all())


def test_pool_holds_no_downstream_image_and_only_tsx_train_val(shared):
    sources = {s.name: s for s in shared_pool_sources(shared)}
    files = {p.resolve() for s in sources.values() for p in s.files}
    assert not files & downstream_test_files(shared)
    assert not any(part in str(p) for p in files
                   for part in ("mstar", "ssdd", "opensarship", "rsscn7", "_instance_", "_lc_", "/opt/"))
    tsx = sources["tsx_slc train+val"]
    expected = {str(shared / "tsx_slc" / "slc_data" / rel) for split in ("train", "val")
                for rel, _ in TSXSLCDataset(shared / "tsx_slc", split).items}
    test = {str(shared / "tsx_slc" / "slc_data" / rel) for rel, _ in TSXSLCDataset(shared / "tsx_slc", "test").items}
    assert {str(p) for p in tsx.files} == expected and test and not test & expected
    assert tsx.drae == "rd" and all(s.drae == "none" for n, s in sources.items() if n != tsx.name)


def test_tiles_follow_the_storage_contract_and_the_manifest_counts_them(shared, tmp_path):
    pool = shared_pool(shared, tile_size=TILE)
    assert pool.name == "sar_pool" and pool.tiles.dtype == torch.float16 and pool.tiles.shape[1:] == (1, TILE, TILE)
    assert 0 <= float(pool.tiles.min()) and float(pool.tiles.max()) <= 1
    rows = {r["source"]: r for r in pool.sources}
    assert rows["s1s2_pairs/sar"]["crops"] == {"1.0": 16, "2.0": 4, "4.0": 1}
    assert rows["sen12ms_s1"]["images"] == 2 and rows["bigearthnet_s1"]["images"] == 2  # one image per dB band
    assert sum(r["tiles"] for r in rows.values()) == len(pool) == len(pool.rd)
    tsx_index = list(rows).index("tsx_slc train+val")
    tsx = pool.tiles[pool.source == tsx_index].float()
    assert bool(pool.rd[pool.source == tsx_index].all()) and int(pool.rd.sum()) == rows["tsx_slc train+val"]["tiles"]
    assert float(tsx.max()) < 0.1  # amplitude / 65535 of chips of amplitude ~1000: dark, not stretched
    ben = pool.tiles[pool.source == list(rows).index("bigearthnet_s1")].float()
    assert float(ben.min()) == 0 and float(ben.max()) == 1  # dB min–max per band
    item = pool[0]
    assert item["image"].shape == (1, TILE, TILE) and item["rd"].dtype == torch.bool
    json_path, csv_path = pool.write_manifest(tmp_path / "run")
    manifest = json.loads(json_path.read_text())
    assert manifest["tiles"] == len(pool) and not manifest["uses_downstream_training_images"]
    assert any("SSDD official test split" in e["why"] for e in manifest["excluded"])
    assert any("only in the in-domain variant" in e["why"] for e in manifest["excluded"])
    with open(csv_path, newline="") as handle:
        assert [r["source"] for r in csv.DictReader(handle)] == list(rows)


def test_in_domain_variant_adds_downstream_training_images_only(shared):
    pool = shared_pool(shared, in_domain=True, tile_size=TILE)
    assert pool.name == "sar_pool_in_domain" and pool.manifest()["uses_downstream_training_images"]
    files = {str(p.relative_to(shared)) for s in shared_pool_sources(shared, in_domain=True) for p in s.files}
    assert {"mstar_soc/train/BMP2/train.jpeg", "mstar_eoc_depression/TRAIN/T72/A64/t.jpeg",
            "ssdd/JPEGImages/000001.jpg"} <= files
    assert not any("test" in f.lower() or "000002" in f for f in files if "tsx_slc" not in f)
    assert {r["source"] for r in pool.sources} >= {"mstar_soc/train", "ssdd train"}


def test_a_downstream_test_image_in_a_source_is_refused(shared):
    leak = PoolSource("leak", (shared / "mstar_soc" / "test" / "BMP2" / "test.jpeg",))
    with pytest.raises(DataError, match="downstream test image"):
        build_pool([leak], TILE, forbidden=downstream_test_files(shared))


def test_real_pool_lists_every_source_and_no_test_image(shared_data):
    sources = {s.name: s for s in shared_pool_sources(shared_data)}
    assert len(sources["s1s2_pairs/sar"].files) == 50 and len(sources["hrsid"].files) == 4
    assert len(sources["tsx_slc train+val"].files) == 2230 - 222 + 320
    assert len(sources["bigearthnet_s1"].files) == 12 and len(sources["sar_ship"].files) == 12
    in_domain = {p.resolve() for s in shared_pool_sources(shared_data, in_domain=True) for p in s.files}
    assert not in_domain & downstream_test_files(shared_data)
    assert len(in_domain) == 50 + 2328 + 4 + 12 + 12 + 1 + 2746 + 1195 + 928
