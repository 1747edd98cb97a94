"""SAR-HUB: SAR pre-trained backbones, fine-tuning tasks and explainers, in one shared library."""
from sarhub.backbones import create_backbone, create_model

__version__ = "0.1.0"
__all__ = ["create_backbone", "create_model", "__version__"]
