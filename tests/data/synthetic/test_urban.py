"""The simulated SpaceNet6 tiles: deterministic files whose footprints the reader rasterises to the simulator's own
masks, and the embedded default written once to the cache."""
import numpy as np

from sarhub.data.segmentation import SpaceNet6
from sarhub.data.synthetic.urban import simulate_urban, simulated_spacenet6_root, write_spacenet6_like


def test_simulated_spacenet6_round_trip(tmp_path):
    root = write_spacenet6_like(tmp_path / "a", n_tiles=4, size=64, seed=3)
    write_spacenet6_like(tmp_path / "b", n_tiles=4, size=64, seed=3)
    files = sorted(p.relative_to(root) for p in root.rglob("*.*"))
    assert len(files) == 8
    assert all((root / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files)  # deterministic
    data = SpaceNet6(root, split="all")
    rng = np.random.default_rng(3)
    for k in range(4):  # the reader's rasterised GeoJSON equals the simulator's own footprint mask
        _, _, mask = simulate_urban(rng, 64, "left" if k % 2 == 0 else "right")
        index = next(i for i, s in enumerate(data.stems) if s.endswith(f"tile_{1000 + k}"))
        np.testing.assert_array_equal(data[index]["mask"].numpy(), mask)


def test_embedded_default_is_written_once_to_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SARHUB_CACHE", str(tmp_path))
    root = simulated_spacenet6_root(n_tiles=2, size=32, seed=0)
    stamp = (root / ".complete").stat().st_mtime_ns
    assert simulated_spacenet6_root(n_tiles=2, size=32, seed=0) == root
    assert (root / ".complete").stat().st_mtime_ns == stamp and len(SpaceNet6(root, split="all")) == 2
