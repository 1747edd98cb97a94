"""MSTAR-like vehicle chips with known target and shadow masks, written in the real MSTAR layouts.

A vehicle is a rotated body (class-dependent length, width and turret) carrying bright point scatterers in a
class-dependent layout, seen at a random azimuth on textured, speckled ground. The sensor looks from the top of the
chip, so the radar shadow is the ground the body hides: the body swept away from the sensor by its height. Chips are
stored as the public 8-bit JPEG release (`<root>/<split>/<CLASS>/*.jpeg`) or as raw Phoenix files.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from sarhub.data.synthetic.scenes import cached_simulation
from sarhub.data.synthetic.speckle import rotated_rect, speckle, textured_reflectivity

SOC_CLASSES = ("2S1", "BMP2", "BRDM2", "BTR60", "BTR70", "D7", "T62", "T72", "ZIL131", "ZSU234")


def class_shape(class_index: int) -> dict:
    """Deterministic geometry and scatterer layout of one simulated vehicle class."""
    rng = np.random.default_rng(500 + class_index)
    return {
        "length": float(rng.uniform(14, 26)), "width": float(rng.uniform(7, 12)),
        "turret": bool(class_index % 3 != 2), "height": float(rng.uniform(6, 14)),
        "scatterers": rng.uniform(-1, 1, size=(int(rng.integers(3, 9)), 2)),
        "brightness": float(rng.uniform(15, 40)),
    }


def simulate_chip(rng: np.random.Generator, class_index: int, size: int = 128,
                  looks: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(image float32 H×W in [0, 1] (magnitude / max), target mask, shadow mask) of one chip."""
    p = class_shape(class_index)
    shape = (size, size)
    cy, cx = size / 2 + rng.normal(0, 2), size / 2 + rng.normal(0, 2)
    angle = rng.uniform(0, np.pi)
    length, width = p["length"] * rng.uniform(0.95, 1.05), p["width"] * rng.uniform(0.95, 1.05)
    body = rotated_rect(shape, cy, cx, length / 2, width / 2, angle)
    if p["turret"]:
        body |= rotated_rect(shape, cy, cx, width / 2.2, width / 2.2, angle + np.pi / 4)
    shadow = np.zeros(shape, bool)
    for shift in range(1, int(p["height"]) + 1):  # swept away from the sensor (downwards)
        shadow[shift:] |= body[:-shift]
    shadow &= ~body
    ground = textured_reflectivity(rng, shape, 1.0, 0.3, 3.0)
    refl = ground.copy()
    refl[shadow] *= 0.05
    refl[body] = p["brightness"] * 0.3 * rng.uniform(0.5, 1.5, body.sum())
    c, s = np.cos(angle), np.sin(angle)
    for u, v in p["scatterers"]:
        y = int(round(cy + s * u * length / 2 + c * v * width / 2))
        x = int(round(cx + c * u * length / 2 - s * v * width / 2))
        if 0 <= y < size and 0 <= x < size:
            refl[max(0, y - 1):y + 2, max(0, x - 1):x + 2] += p["brightness"] * rng.uniform(3, 8)
    magnitude = np.sqrt(speckle(rng, refl, looks))
    return (magnitude / magnitude.max()).astype(np.float32), body, shadow


def write_phoenix(path: str | Path, magnitude: np.ndarray, phase: np.ndarray | None = None,
                  header_fields: dict[str, str] | None = None) -> None:
    """Write a genuine Phoenix file: ASCII header (leading newline, as real files), then big-endian float32
    magnitude and phase blocks."""
    rows, cols = magnitude.shape
    phase = np.zeros_like(magnitude) if phase is None else phase
    fields = {"PhoenixSigSize": str(2 * 4 * rows * cols), "native_header_length": "0",
              "NumberOfColumns": str(cols), "NumberOfRows": str(rows), **(header_fields or {})}

    def render(length: int) -> bytes:
        lines = ["", "[PhoenixHeaderVer01.04]", f"PhoenixHeaderLength= {length:05d}"]
        lines += [f"{k}= {v}" for k, v in fields.items()] + ["[EndofPhoenixHeader]", ""]
        return "\n".join(lines).encode("ascii")

    header = render(0)
    header = render(len(header))
    blocks = np.concatenate([magnitude.ravel(), phase.ravel()]).astype(">f4").tobytes()
    Path(path).write_bytes(header + blocks)


def write_mstar_folders(root: str | Path, n_train: int = 40, n_test: int = 40, size: int = 128, seed: int = 0,
                        classes: tuple[str, ...] = SOC_CLASSES) -> Path:
    """Simulated SOC set in the public JPEG layout `<root>/{train,test}/<CLASS>/hbNNNNN.jpeg` (8-bit grey)."""
    root = Path(root)
    rng = np.random.default_rng(seed)
    for split, n in (("train", n_train), ("test", n_test)):
        for c, name in enumerate(classes):
            folder = root / split / name
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                image = simulate_chip(rng, c, size)[0]
                Image.fromarray(np.round(image * 255).astype(np.uint8)).save(folder / f"hb{c:02d}{i:03d}.jpeg",
                                                                             quality=95)
    return root


def simulated_mstar_root(n_train: int = 40, n_test: int = 40, seed: int = 0) -> Path:
    """The embedded default target-recognition set, written once under the cache folder."""
    params = {"n_train": n_train, "n_test": n_test, "seed": seed, "version": 1}
    return cached_simulation("mstar", params, lambda root: write_mstar_folders(root, n_train, n_test, seed=seed))
