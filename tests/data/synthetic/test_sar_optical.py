"""The simulated SAR/optical data: fragment pairs in the real sar/NNN.png + opt/NNN.jpg layout."""
import json

import numpy as np
import pytest
from PIL import Image

from sarhub.data.s1s2_pairs import is_pairs_root
from sarhub.data.synthetic.sar_optical import write_pairs


@pytest.fixture
def pairs(tmp_path):
    return write_pairs(tmp_path / "pairs", n_fragments=5, size=64, seed=0)


def test_fixture_is_in_the_real_layout(pairs):
    assert is_pairs_root(pairs) and not is_pairs_root(pairs / "sar")
    assert sorted(p.name for p in (pairs / "sar").iterdir()) == [f"{i:03d}.png" for i in range(5)]
    assert sorted(p.name for p in (pairs / "opt").iterdir()) == [f"{i:03d}.jpg" for i in range(5)]
    assert [e["fragment_filename"] for e in json.loads((pairs / "metadata.json").read_text())][0] == "000.png"
    assert np.asarray(Image.open(pairs / "sar" / "000.png")).shape == (64, 64)
    assert np.asarray(Image.open(pairs / "opt" / "000.jpg")).shape == (64, 64, 3)
