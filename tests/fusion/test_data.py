"""The fusion pipeline's data: a seeded split of SEN12MS patches or a separate test folder, per-pixel rows in order,
and the linear probe's pixels drawn from labelled pixels only."""
import torch

from sarhub.data.sen12ms import SEN12MSDataset
from sarhub.data.synthetic.sar_optical import write_sen12ms
from sarhub.fusion.data import pixel_rows, sample_pixels, splits
from sarhub.fusion.models import FusionNet
from sarhub.metrics.segmentation import IGNORE_INDEX


def test_sen12ms_patches_split_by_seed_or_by_a_test_folder(tmp_path):
    root = write_sen12ms(tmp_path / "train", n_patches=6, size=16, seed=0)
    train, test = splits(root, test_fraction=0.34, split_seed=0)
    assert isinstance(train, SEN12MSDataset) and (len(train), len(test)) == (4, 2)
    assert not set(train.s1_files) & set(test.s1_files)
    again, _ = splits(root, test_fraction=0.34, split_seed=0)
    other, _ = splits(root, test_fraction=0.34, split_seed=1)
    assert again.s1_files == train.s1_files and other.s1_files != train.s1_files
    held_out = write_sen12ms(tmp_path / "test", n_patches=3, size=16, seed=1)
    train, test = splits(root, held_out, modalities=("s1",), labels=None)
    assert (len(train), len(test)) == (6, 3) and set(test[0]) == {"s1", "index"}  # SAR only: no S2, no mask


def test_pixel_rows_are_row_major_image_by_image():
    maps = torch.arange(2 * 3 * 2 * 2).view(2, 3, 2, 2)  # B=2, C=3, 2×2
    rows = pixel_rows(maps)
    assert rows.shape == (8, 3) and rows[0].tolist() == [0, 4, 8] and rows[5].tolist() == [13, 17, 21]


def test_sampled_pixels_are_labelled_ones(tmp_path):
    data = SEN12MSDataset(write_sen12ms(tmp_path / "s", n_patches=2, size=16, seed=2))
    model = FusionNet("early", (4, 4, 8, 8), dim=4).eval()
    x, y = sample_pixels(model, data, torch.device("cpu"), per_patch=5, seed=0)
    assert x.shape == (10, model.feature_dim) and y.shape == (10,) and (y != IGNORE_INDEX).all()
    x2, y2 = sample_pixels(model, data, torch.device("cpu"), per_patch=5, seed=0)
    assert torch.equal(x, x2) and torch.equal(y, y2)
