"""FCOS over the seven Table-7 backbones: builds, trains a step, detects; FPN P3–P7 with P6 from C5; MMDetection's
test settings; Swin at sizes that are not multiples of 128; BatchNorm frozen when fine-tuning; optimiser groups;
float32 anchors, losses and boxes under bf16 autocast."""
import math

import pytest
import torch
from safetensors.torch import save_file
from torchvision.models.detection import FCOS
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.fcos import FCOSHead
from torchvision.models.detection.image_list import ImageList

from sarhub.backbones import create_model
from sarhub.models.detection import DETECTION_BACKBONES, build_fcos, param_groups

S = 128


def _target(n=1):
    boxes = torch.tensor([[20.0, 30.0, 60.0, 44.0], [80.0, 70.0, 90.0, 110.0]])[:n]
    return {"boxes": boxes, "labels": torch.zeros(n, dtype=torch.int64)}


@pytest.mark.parametrize("name", DETECTION_BACKBONES)
def test_every_table7_backbone_trains_a_step_and_detects(name):
    model = build_fcos(name, num_classes=1, min_size=S, max_size=S)
    assert isinstance(model, FCOS) and model.head.classification_head.num_classes == 1
    model.train()
    losses = model([torch.rand(1, S, S)], [_target(2)])
    assert set(losses) == {"classification", "bbox_regression", "bbox_ctrness"}
    loss = sum(losses.values())
    assert torch.isfinite(loss)
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    assert any(p.grad is not None for p in model.backbone.body.parameters())  # gradients reach the backbone
    model.eval()
    with torch.no_grad():
        (out,) = model([torch.rand(1, 96, 112)])
    assert out["boxes"].shape[1] == 4 and len(out["boxes"]) <= 100
    assert (out["boxes"][:, 2] <= 112 + 1e-3).all() and (out["boxes"][:, 3] <= 96 + 1e-3).all()  # original scale
    assert len(out["labels"]) and (out["labels"] == 0).all() and (out["scores"] >= 0.05).all()


def test_mmdetection_fcos_settings_and_fpn_levels():
    model = build_fcos("resnet18", num_classes=3, min_size=800, max_size=1333)
    t = model.transform
    assert (t.min_size, t.max_size, t.image_mean, t.image_std, t.size_divisible) == ((800,), 1333, [0.0], [1.0], 32)
    assert (model.score_thresh, model.nms_thresh, model.detections_per_img, model.topk_candidates) == \
        (0.05, 0.6, 100, 1000)
    assert model.head.classification_head.num_classes == 3
    assert [s[0] for s in model.anchor_generator.sizes] == [8, 16, 32, 64, 128]
    fpn = model.backbone.fpn
    assert model.backbone.out_channels == 256 and fpn.extra_blocks.use_P5 is False
    assert fpn.extra_blocks.p6.in_channels == model.backbone.body.out_channels[-1] == 512  # P6 from C5
    feats = model.backbone(torch.rand(1, 1, 160, 224))
    assert list(feats) == ["0", "1", "2", "p6", "p7"]
    assert [tuple(f.shape[-2:]) for f in feats.values()] == [(20, 28), (10, 14), (5, 7), (3, 4), (2, 2)]
    assert all(f.shape[1] == 256 for f in feats.values())


@pytest.mark.parametrize("hw", [(800, 800), (224, 352)])
def test_swin_runs_at_padded_sizes_that_are_not_multiples_of_128(hw):
    model = build_fcos("swin_t", num_classes=1, min_size=256, max_size=800).eval()
    with torch.no_grad():
        feats = model.backbone(torch.rand(1, 1, *hw))
    assert tuple(feats["0"].shape[-2:]) == (hw[0] // 8, hw[1] // 8)
    assert tuple(feats["p7"].shape[-2:]) == (math.ceil(hw[0] / 128), math.ceil(hw[1] / 128))


def test_empty_images_train_and_batches_mix():
    model = build_fcos("resnet18", num_classes=1, min_size=S, max_size=S).train()
    empty = {"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.int64)}
    losses = model([torch.rand(1, S, S), torch.rand(1, S, S)], [empty, _target(1)])
    assert all(torch.isfinite(v) for v in losses.values())
    losses = model([torch.rand(1, S, S)], [empty])
    assert all(torch.isfinite(v) for v in losses.values())


def test_labels_are_0_based_in_targets_and_detections():
    """K class outputs; label k of a target trains output k and output k is reported as label k (no shift)."""
    model = build_fcos("resnet18", num_classes=3, min_size=S, max_size=S)
    with torch.no_grad():
        model.head.classification_head.cls_logits.bias.copy_(torch.tensor([-9.0, -9.0, 9.0]))
    model.eval()
    with torch.no_grad():
        (out,) = model([torch.rand(1, S, S)])
    assert len(out["labels"]) and (out["labels"] == 2).all()
    model.train()
    target = {"boxes": torch.tensor([[20.0, 30.0, 60.0, 44.0]]), "labels": torch.tensor([2])}
    right = model([torch.zeros(1, S, S)], [target])["classification"]
    target["labels"] = torch.tensor([0])
    wrong = model([torch.zeros(1, S, S)], [target])["classification"]
    assert right < wrong
    for label in (3, -1):  # the old 1-based K, and a negative label torchvision would take for background
        target["labels"] = torch.tensor([label])
        with pytest.raises(ValueError, match=r"0\.\.2"):
            model([torch.zeros(1, S, S)], [target])


def test_anchors_losses_and_boxes_stay_float32_under_bf16_autocast(monkeypatch):
    """The anchors are the float32 ones whatever the feature maps' dtype (torchvision's bf16 anchors move by 4 px
    at 1333 px); the head's outputs reach target assignment, the losses and box decoding in float32."""
    model = build_fcos("resnet18", num_classes=1, min_size=S, max_size=S)
    images = ImageList(torch.zeros(1, 1, 800, 1344), [(800, 1333)])
    maps = [torch.zeros(1, 256, 800 // s, 1344 // s, dtype=torch.bfloat16) for s in (8, 16, 32, 64, 128)]
    expected = model.anchor_generator(images, [m.float() for m in maps])[0]
    anchors = model.anchor_generator(images, maps)[0]
    assert anchors.dtype == torch.float32 and torch.equal(anchors, expected)
    torchvisions = AnchorGenerator(model.anchor_generator.sizes, model.anchor_generator.aspect_ratios)(images, maps)[0]
    assert torchvisions.dtype == torch.bfloat16 and (torchvisions.float() - expected).abs().max() == 4

    seen, compute = [], FCOSHead.compute_loss
    monkeypatch.setattr(FCOSHead, "compute_loss", lambda self, targets, outputs, *rest: seen.append(
        {k: v.dtype for k, v in outputs.items()}) or compute(self, targets, outputs, *rest))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        losses = model([torch.rand(1, S, S)], [_target(2)])
    assert seen == [dict.fromkeys(("cls_logits", "bbox_regression", "bbox_ctrness"), torch.float32)]
    assert all(v.dtype == torch.float32 and torch.isfinite(v) for v in losses.values())
    model.eval()
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        (out,) = model([torch.rand(1, S, S)])
    assert len(out["boxes"]) and out["boxes"].dtype == out["scores"].dtype == torch.float32


def test_batchnorm_frozen_when_fine_tuning_and_trained_from_scratch(tmp_path):
    path = tmp_path / "resnet18_tsx.safetensors"
    save_file(create_model("resnet18", num_classes=32).state_dict(), str(path))
    tuned = build_fcos("resnet18", num_classes=1, weights=str(path), min_size=S, max_size=S)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in tuned.backbone.body.modules())
    conv1 = tuned.backbone.body.model.conv1.weight
    assert torch.equal(conv1, create_model("resnet18", weights=str(path)).conv1.weight)  # weights were loaded
    scratch = build_fcos("resnet18", num_classes=1, min_size=S, max_size=S)
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in scratch.backbone.body.modules())
    forced = build_fcos("resnet18", num_classes=1, min_size=S, max_size=S, freeze_bn=True)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in forced.backbone.body.modules())


@pytest.mark.parametrize("name", ["resnet18", "swin_t"])
def test_param_groups_cover_every_trainable_parameter_once(name):
    model = build_fcos(name, num_classes=1, min_size=S, max_size=S)
    groups = param_groups(model, lr=0.01, weight_decay=1e-4, backbone_lr_mult=0.1)
    ids = [id(p) for g in groups for p in g["params"]]
    assert len(ids) == len(set(ids)) == sum(p.requires_grad for p in model.parameters())
    names = {id(p): n for n, p in model.named_parameters()}
    for g in groups:
        kinds = {names[id(p)].endswith(".bias") for p in g["params"]}
        backbone = {names[id(p)].startswith("backbone.body.") for p in g["params"]}
        assert len(kinds) == 1 and len(backbone) == 1
        expected = 0.01 * (0.1 if backbone.pop() else 1.0) * (2.0 if kinds.pop() else 1.0)
        assert g["lr"] == pytest.approx(expected)
        if any(p.ndim <= 1 for p in g["params"]):
            assert g["weight_decay"] == 0.0
    torch.optim.SGD(groups, lr=0.01, momentum=0.9)  # accepted as is


def test_simulated_coco_set_flows_through_loader_model_and_coco_ap(tmp_path):
    pytest.importorskip("faster_coco_eval", reason="detection extra not installed (pip install -e .[detection])")
    from torch.utils.data import DataLoader

    from sarhub.data.detection import CocoDetection, RandomHorizontalFlip, collate, to_coco_gt
    from sarhub.data.synthetic.ships import write_coco_ship_dataset
    from sarhub.metrics.detection import METRIC_NAMES, coco_evaluate, detections_to_coco

    root = write_coco_ship_dataset(tmp_path, n_train=2, n_test=2, size=S, seed=0)
    train = CocoDetection(root / "annotations/train.json", root / "images", transform=RandomHorizontalFlip())
    test = CocoDetection(root / "annotations/test.json", root / "images")
    model = build_fcos("resnet18", num_classes=train.num_classes, min_size=S, max_size=S)
    optimizer = torch.optim.SGD(param_groups(model, 0.001, 1e-4), lr=0.001, momentum=0.9)
    images, targets = next(iter(DataLoader(train, batch_size=2, collate_fn=collate)))
    loss = sum(model(images, targets).values())
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    model.eval()
    images, targets = collate([test[0], test[1]])
    with torch.no_grad():
        outputs = model(images)
    results = detections_to_coco(outputs, [t["image_id"] for t in targets])
    metrics = coco_evaluate(to_coco_gt(test), results)
    assert set(metrics) == set(METRIC_NAMES) and 0.0 <= metrics["AP50"] <= 1.0
