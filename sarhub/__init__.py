"""SAR-HUB: SAR pre-trained backbones, fine-tuning tasks and explainers, in one shared library.

`sarhub.create_model` / `sarhub.create_backbone` load the model code (timm) on first use, so importing a light
module such as `sarhub.hub` or `sarhub.drae` does not."""
from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["create_backbone", "create_model", "__version__"]


def __getattr__(name: str) -> Any:  # PEP 562: the package's two entry points, imported when first asked for
    if name in ("create_backbone", "create_model"):
        from sarhub import backbones

        return getattr(backbones, name)
    raise AttributeError(f"module 'sarhub' has no attribute {name!r}")
