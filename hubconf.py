"""torch.hub entry points: `torch.hub.load(<repo dir>, "resnet50", weights="resnet50-tsx", source="local")`.

Each takes `weights` (None, a Model-Hub name, a .safetensors/.pth file, one of the authors' released checkpoints or
"imagenet"), `num_classes` (0 = features vector) and any keyword of `sarhub.create_model` (in_chans, img_size,
features_only, weights_dir, allow_partial, ...). A load that leaves backbone tensors out is an error unless
allow_partial=True; weights from a Model-Hub name carry `model.input_contract`.
"""
dependencies = ["torch", "timm", "safetensors"]

from sarhub.backbones import create_model as _create  # noqa: E402


def _entry(arch: str):
    def build(weights=None, num_classes: int = 0, **kwargs):
        return _create(arch, num_classes=num_classes, weights=weights, **kwargs)

    build.__name__ = arch
    build.__doc__ = f"SAR-HUB {arch} (1-channel, 128 px by default)."
    return build


resnet18 = _entry("resnet18")
resnet50 = _entry("resnet50")
resnet101 = _entry("resnet101")
senet50 = _entry("senet50")
mobilenetv3 = _entry("mobilenetv3")
densenet121 = _entry("densenet121")
swin_t = _entry("swin_t")
swin_b = _entry("swin_b")
