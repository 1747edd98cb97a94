"""Shared SAR image physics: textured reflectivity fields and fully developed speckle.

Intensity speckle of an L-look image is Gamma(L, 1/L) distributed (mean 1, variance 1/L) and multiplies the
underlying reflectivity; amplitude is the square root of intensity. Everything is driven by a numpy Generator so
scenes are reproducible from a seed.
"""
from __future__ import annotations

import numpy as np


def smooth_field(rng: np.random.Generator, shape: tuple[int, int], scale: float) -> np.ndarray:
    """Zero-mean, unit-std Gaussian random field with correlation length `scale` pixels (FFT low-pass of white noise)."""
    h, w = shape
    noise = rng.standard_normal((h, w))
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    spectrum = np.fft.rfft2(noise) * np.exp(-0.5 * (fy**2 + fx**2) * (2 * np.pi * scale) ** 2)
    field = np.fft.irfft2(spectrum, s=(h, w))
    std = field.std()
    return (field - field.mean()) / std if std > 0 else field


def speckle(rng: np.random.Generator, reflectivity: np.ndarray, looks: float = 1.0) -> np.ndarray:
    """Multiply a (non-negative) reflectivity map by L-look gamma intensity speckle; returns intensity."""
    return reflectivity * rng.gamma(shape=looks, scale=1.0 / looks, size=reflectivity.shape)


def textured_reflectivity(
    rng: np.random.Generator, shape: tuple[int, int], mean: float, contrast: float, scale: float
) -> np.ndarray:
    """Log-normal texture: exp(contrast·field) rescaled to the requested mean (always positive)."""
    texture = np.exp(contrast * smooth_field(rng, shape, scale))
    return mean * texture / texture.mean()


def disk(shape: tuple[int, int], cy: float, cx: float, ry: float, rx: float, angle: float = 0.0) -> np.ndarray:
    """Boolean mask of a rotated ellipse centred at (cy, cx) with semi-axes (ry, rx), angle in radians."""
    yy, xx = np.mgrid[: shape[0], : shape[1]].astype(np.float64)
    dy, dx = yy - cy, xx - cx
    c, s = np.cos(angle), np.sin(angle)
    u, v = c * dx + s * dy, -s * dx + c * dy
    return (u / max(rx, 1e-6)) ** 2 + (v / max(ry, 1e-6)) ** 2 <= 1.0


def rotated_rect(shape: tuple[int, int], cy: float, cx: float, half_len: float, half_wid: float, angle: float) -> np.ndarray:
    """Boolean mask of a rectangle centred at (cy, cx) with half sizes along / across `angle` (radians)."""
    yy, xx = np.mgrid[: shape[0], : shape[1]].astype(np.float64)
    dy, dx = yy - cy, xx - cx
    c, s = np.cos(angle), np.sin(angle)
    u, v = c * dx + s * dy, -s * dx + c * dy
    return (np.abs(u) <= half_len) & (np.abs(v) <= half_wid)


def to_db(intensity: np.ndarray) -> np.ndarray:
    """Intensity to decibels (floored at 1e-6 so dark pixels stay finite), as Sentinel-1 GRD products in dB."""
    return (10.0 * np.log10(np.maximum(intensity, 1e-6))).astype(np.float32)
