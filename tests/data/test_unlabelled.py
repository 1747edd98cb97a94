"""The unlabelled pool of self-supervised pre-training: large scenes tiled, chips resized, excluded paths left out."""
import numpy as np
from PIL import Image

from sarhub.data.unlabelled import UnlabelledPool, scan_images, tiles
from sarhub.ssl.gradient_targets import gradient_features


def test_pool_tiles_large_scenes_crops_chips_and_excludes(tmp_path):
    (tmp_path / "train").mkdir()
    (tmp_path / "test").mkdir()
    Image.fromarray(np.zeros((300, 300), np.uint8)).save(tmp_path / "train" / "scene.png")
    Image.fromarray(np.zeros((150, 140), np.uint8)).save(tmp_path / "train" / "chip.png")
    Image.fromarray(np.zeros((150, 140), np.uint8)).save(tmp_path / "test" / "chip.png")
    files = scan_images([tmp_path], exclude=["*/test/*"])
    assert [f.parent.name for f in files] == ["train", "train"]
    pool = UnlabelledPool(files, 128)
    assert len(pool) == 4 + 1 and pool[0]["image"].shape == (1, 128, 128)
    assert len(tiles(np.zeros((64, 64), np.float32), 128)) == 1  # small images are resized up
    pool.cache_features(gradient_features)
    assert pool[0]["feature_maps"].shape == (3, 128, 128)
