"""Simulated land-cover scene patches in the three storage formats of the pre-training sets.

Each class is a parametric land cover: a reflectivity level, a log-normal texture (contrast, correlation length),
optional periodic field structure (agriculture), bright point scatterers (urban) and calm dark areas (water).
Intensity is L-look speckled. The patch is then stored as its real source stores it:

- "TSX": 16-bit DN of linear amplitude (TerraSAR-X MGD) with a few strong scatterers 20–35 dB above the clutter,
  which stretch the range, so after the per-image 0–1 normalisation most pixels are very dark;
- "BEN": float dB (Sentinel-1 GRD in BigEarthNet-S1): after normalisation the histogram is centred;
- "OSU": 8-bit enhanced (OpenSARUrban): dB clipped to a fixed window and quantised.

and normalised per image to 0–1 into `.npy` exactly as the authors stored their sets, so the data-drift problem
that DRAE addresses exists here too. Classes are imbalanced (geometric decay of counts). Deterministic by seed.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Callable

import numpy as np

from sarhub.data.imageio import minmax
from sarhub.data.synthetic.speckle import smooth_field, speckle, textured_reflectivity, to_db

FORMATS = ("TSX", "BEN", "OSU")


def class_params(class_index: int) -> dict:
    """Deterministic land-cover parameters of class `class_index` (any number of classes)."""
    rng = np.random.default_rng(1000 + class_index)
    kind = ("homogeneous", "field", "urban", "water")[class_index % 4]
    return {
        "kind": kind,
        "level": float(rng.uniform(0.2, 1.0) * (0.15 if kind == "water" else 1.0)),
        "contrast": float(rng.uniform(0.1, 0.9)),
        "scale": float(rng.uniform(1.5, 10.0)),
        "period": float(rng.uniform(6.0, 20.0)),
        "angle": float(rng.uniform(0, np.pi)),
        "points": int(rng.integers(5, 40)) if kind == "urban" else int(rng.integers(0, 3)),
    }


def simulate_scene(rng: np.random.Generator, class_index: int, size: int = 128, looks: float = 3.0) -> np.ndarray:
    """Speckled intensity (float64, H×W, mean around the class level) of one patch of class `class_index`."""
    p = class_params(class_index)
    shape = (size, size)
    level = p["level"] * rng.uniform(0.7, 1.4)  # per-patch radiometric variation (incidence angle, moisture)
    refl = textured_reflectivity(rng, shape, level, p["contrast"], p["scale"] * rng.uniform(0.8, 1.25))
    if p["kind"] == "field":
        yy, xx = np.mgrid[:size, :size]
        angle = p["angle"] + rng.normal(0, 0.15)
        phase = (np.cos(angle) * xx + np.sin(angle) * yy) / p["period"] * 2 * np.pi
        refl *= 1.0 + 0.6 * np.sign(np.sin(phase + rng.uniform(0, 2 * np.pi)))
    elif p["kind"] == "water":
        refl *= np.exp(0.3 * smooth_field(rng, shape, 20.0))
    n_points = rng.poisson(p["points"]) if p["points"] else 0
    if n_points:
        ys, xs = rng.integers(0, size, n_points), rng.integers(0, size, n_points)
        refl[ys, xs] += level * rng.uniform(20, 200, n_points)
    return speckle(rng, refl, looks)


def store(intensity: np.ndarray, fmt: str, rng: np.random.Generator) -> np.ndarray:
    """The value the real source would store for this intensity patch (uint16 DN, float32 dB or uint8)."""
    if fmt == "TSX":
        amplitude = np.sqrt(intensity)
        # 2.9 m resolution: a few strong man-made/corner scatterers sit 20–35 dB above the clutter
        k = rng.integers(1, 4)
        ys, xs = rng.integers(0, amplitude.shape[0], k), rng.integers(0, amplitude.shape[1], k)
        amplitude[ys, xs] = np.median(amplitude) * 10 ** (rng.uniform(20, 35, k) / 20)
        gain = rng.uniform(300, 600)
        return np.clip(amplitude * gain, 0, 65535).astype(np.uint16)
    if fmt == "BEN":
        return to_db(intensity)
    if fmt == "OSU":
        db = to_db(intensity)
        return np.clip((db + 25.0) / 30.0 * 255.0, 0, 255).astype(np.uint8)
    raise ValueError(f"unknown storage format {fmt!r}; choose one of {FORMATS}")


def class_counts(n_classes: int, n_max: int, ratio: float = 0.8, n_min: int = 4) -> list[int]:
    """Imbalanced counts: the largest class has n_max patches, each next one `ratio` times fewer (at least n_min)."""
    return [max(n_min, int(round(n_max * ratio**c))) for c in range(n_classes)]


def write_scene_dataset(root: str | Path, fmt: str, n_classes: int = 8, n_max: int = 60, size: int = 128,
                        seed: int = 0, ratio: float = 0.8) -> Path:
    """Write a simulated scene set in the authors' layout (`<CLASS>/<i>.npy` normalised to 0–1, classes.txt).

    Split files are left to `SceneDataset` (seeded 70/20/10) so the simulator exercises the real split path.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    names = [f"{fmt.lower()}_class{c:02d}_{class_params(c)['kind']}" for c in range(n_classes)]
    (root / "classes.txt").write_text("\n".join(names) + "\n")
    rng = np.random.default_rng(seed)
    for c, (name, count) in enumerate(zip(names, class_counts(n_classes, n_max, ratio))):
        (root / name).mkdir(exist_ok=True)
        for i in range(count):
            stored = store(simulate_scene(rng, c, size), fmt, rng)
            np.save(root / name / f"{i:05d}.npy", minmax(stored.astype(np.float64)).astype(np.float32))
    return root


def cache_dir() -> Path:
    return Path(os.environ.get("SARHUB_CACHE", Path.home() / ".cache" / "sarhub"))


def cached_simulation(prefix: str, params: dict, write: Callable[[Path], object]) -> Path:
    """A simulated dataset written once under the cache folder, in a folder keyed by its parameters, then reused.

    `write(root)` fills the folder; a `.complete` stamp marks a finished write, so an interrupted one is redone.
    """
    key = hashlib.sha1(json.dumps(params, sort_keys=True).encode()).hexdigest()[:10]
    root = cache_dir() / "simulated" / f"{prefix}_{key}"
    done = root / ".complete"
    if not done.is_file():
        write(root)
        done.write_text(json.dumps(params))
    return root


def simulated_scene_root(fmt: str, n_classes: int = 8, n_max: int = 60, size: int = 128, seed: int = 0) -> Path:
    """The embedded default dataset: write once under the cache folder (keyed by its parameters), then reuse."""
    params = {"fmt": fmt, "n_classes": n_classes, "n_max": n_max, "size": size, "seed": seed, "version": 2}
    return cached_simulation(f"scenes_{fmt}", params,
                             lambda root: write_scene_dataset(root, fmt, n_classes, n_max, size, seed))
