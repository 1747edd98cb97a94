"""SAR views: crops with flips and 90° rotations in one batched grid, DRAE only where the tile asks for it, speckle
with the right moments, standardised output; the deterministic test view of the input contract."""
import torch

from sarhub.drae import reinhard_devlin
from sarhub.preprocess import standardise_per_image
from sarhub.ssl.views import ViewConfig, eval_view, random_views, speckle

PLAIN = ViewConfig(size=8, scale=(1.0, 1.0), ratio=(1.0, 1.0), gamma_range=(1.0, 1.0), noise_p=0.0)


def dihedral(x: torch.Tensor) -> list[torch.Tensor]:
    return [torch.rot90(f, k, dims=(-2, -1)) for f in (x, x.flip(-1)) for k in range(4)]


def test_full_crop_views_are_the_eight_flips_and_rotations_of_the_tile():
    tile = torch.rand(1, 1, 8, 8)
    targets = [standardise_per_image(t) for t in dihedral(tile)]
    g = torch.Generator().manual_seed(0)
    views = random_views(tile.expand(64, -1, -1, -1), torch.zeros(64, dtype=torch.bool), PLAIN, g)
    seen = set()
    for view in views:
        matches = [i for i, t in enumerate(targets) if torch.allclose(view, t[0], atol=1e-5)]
        assert len(matches) == 1
        seen.add(matches[0])
    assert seen == set(range(8))


def test_views_are_standardised_seeded_and_differ_between_draws():
    tiles, rd = torch.rand(6, 1, 32, 32).half(), torch.tensor([True, False] * 3)
    cfg = ViewConfig(size=16)
    a = random_views(tiles, rd, cfg, torch.Generator().manual_seed(1))
    assert a.shape == (6, 1, 16, 16) and a.dtype == torch.float32
    torch.testing.assert_close(a.mean(dim=(-2, -1)), torch.zeros(6, 1), atol=1e-4, rtol=0)
    torch.testing.assert_close(a.std(dim=(-2, -1)), torch.ones(6, 1), atol=1e-3, rtol=0)
    torch.testing.assert_close(a, random_views(tiles, rd, cfg, torch.Generator().manual_seed(1)))
    assert not torch.allclose(a, random_views(tiles, rd, cfg, torch.Generator().manual_seed(2)))


def test_drae_applies_to_flagged_tiles_only():
    dark = (torch.rand(2, 1, 8, 8) ** 4) * 1e-3  # TSX-like linear amplitude / 65535
    g = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    cfg = ViewConfig(**{**PLAIN.__dict__, "rd_range": (4.0, 4.0)})
    with_rd = random_views(dark, torch.tensor([True, False]), cfg, g())
    without = random_views(dark, torch.tensor([False, False]), cfg, g())
    torch.testing.assert_close(with_rd[1], without[1])
    assert not torch.allclose(with_rd[0], without[0], atol=1e-3)
    torch.testing.assert_close(eval_view(dark, True, PLAIN), standardise_per_image(reinhard_devlin(dark, 4.0)))
    torch.testing.assert_close(eval_view(dark, False, PLAIN), standardise_per_image(dark))
    assert eval_view(torch.rand(3, 1, 20, 20), torch.tensor([True, False, True]), PLAIN).shape == (3, 1, 8, 8)


def test_speckle_has_the_intensity_moments_of_l_looks():
    intensity = speckle(torch.ones(200, 1, 32, 32), looks=8.0, generator=torch.Generator().manual_seed(0)) ** 2
    assert abs(float(intensity.mean()) - 1.0) < 0.01
    assert abs(float(intensity.var()) - 1 / 8) < 0.01
