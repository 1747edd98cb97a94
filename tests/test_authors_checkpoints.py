"""The authors' released checkpoints load exactly: each of their eight layouts (every key and shape as their own model
classes register them, ../shared/data/sarhub_authors_layouts) finds a place for every tensor by name, their
MobileNetV3-small reproduces their logits, and our SENet-50 stem and blocks compute what theirs do."""
import json
import re

import pytest
import timm
import torch
import torch.nn.functional as F
import torchvision

from sarhub import create_model, hub, hub_tools
from sarhub.authors_checkpoints import AUTHORS_NAMES, SWIN_BUFFERS, authors_layout
from sarhub.backbones import load_weights
from sarhub.errors import WeightsError

ARCHS = {name: arch for arch, name in AUTHORS_NAMES.items()}
# a few renamings each layout must make (timm key <- authors' key), checked through the tensors' values
EXPECTED = {
    "ResNet18": [("layer4.1.bn2.running_var", "layer4.1.bn2.running_var"), ("fc.weight", "fc.weight")],
    "ResNet50": [("layer2.0.downsample.0.weight", "layer2.0.downsample.0.weight")],
    "ResNet101": [("layer3.22.conv3.weight", "layer3.22.conv3.weight")],
    "DenseNet121": [("features.denseblock4.denselayer16.conv2.weight",
                     "features.denseblock4.denselayer16.conv2.weight"), ("classifier.weight", "classifier.weight")],
    "SENet50": [("layer0.bn1.running_mean", "conv1.1.running_mean"),
                ("layer1.0.se_module.fc1.weight", "conv2.0.se.1.weight"),
                ("layer1.0.downsample.0.weight", "conv2.0.shortcut.0.weight"),
                ("layer4.2.bn3.bias", "conv5.2.conv3.1.bias"), ("last_linear.weight", "fc.weight")],
    "MobileV3": [("blocks.0.0.se.conv_reduce.weight", "features.1.conv.3.fc.0.weight"),
                 ("blocks.0.0.conv_pw.weight", "features.1.conv.4.weight"),
                 ("blocks.2.0.se.conv_expand.bias", "features.4.conv.5.fc.2.bias"),
                 ("blocks.4.2.bn3.running_var", "features.11.conv.8.running_var"),
                 ("blocks.5.0.conv.weight", "conv.0.weight"), ("conv_head.weight", "classifier.0.weight"),
                 ("classifier.weight", "classifier.3.weight")],
    "Swin-T": [("layers.1.downsample.reduction.weight", "layers.0.downsample.reduction.weight"),
               ("layers.3.downsample.norm.bias", "layers.2.downsample.norm.bias"), ("head.fc.weight", "head.weight")],
    "Swin-B": [("layers.2.blocks.17.attn.relative_position_bias_table",
                "layers.2.blocks.17.attn.relative_position_bias_table")],
}
WRAPPERS = {"flat": lambda s: s, "module": lambda s: {f"module.{k}": v for k, v in s.items()},
            "model": lambda s: {"model": s}}


@pytest.fixture(scope="session")
def layouts(shared_data):
    path = shared_data / "sarhub_authors_layouts" / "state_dict_keys.json"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return json.loads(path.read_text())


def labelled_state(entries):
    """The authors' state dict with tensor i holding the value i + 1 everywhere (stride-0 views: no memory)."""
    return {key: (torch.tensor(i + 1, dtype=torch.int64) if dtype == "int64"
                  else torch.full((1,), float(i + 1)).expand(shape) if shape else torch.tensor(float(i + 1)))
            for i, (key, shape, dtype) in enumerate(entries)}


@pytest.mark.parametrize("network, wrapper", [(n, w) for n, w in zip(EXPECTED, list(WRAPPERS) * 3)])
def test_every_authors_layout_loads_every_tensor_by_name(layouts, tmp_path, network, wrapper):
    entries = layouts[network]
    state = labelled_state(entries)
    arch = ARCHS[network]
    assert authors_layout(state) == arch
    path = tmp_path / f"{network}_TSX.pth"
    torch.save(WRAPPERS[wrapper](state), path)
    model = create_model(arch, num_classes=32, img_size=128)
    report = load_weights(model, path, arch=arch)
    dropped = [k for k in state if k.rsplit(".", 1)[-1] in SWIN_BUFFERS]
    assert (report.missing, report.unexpected, report.skipped, report.gaps) == ([], [], [], [])
    assert report.matched == len(state) - len(dropped) == len(model.state_dict())
    assert sorted(report.dropped) == sorted(dropped)
    first = entries[0][0]
    assert report.adapted == [next(k for k, v in model.state_dict().items() if v.ndim == 4)]
    # every tensor landed exactly once, where its name says (the 3 -> 1 input conv holds three copies summed)
    index = {key: i + 1 for i, (key, _, _) in enumerate(entries)}
    landed = {k: v.flatten()[0].item() / (3 if k in report.adapted else 1) for k, v in model.state_dict().items()}
    assert sorted(landed.values()) == sorted(index[k] for k in state if k not in dropped)
    assert landed[report.adapted[0]] == index[first]
    for ours, theirs in EXPECTED[network]:
        assert landed[ours] == index[theirs], (ours, theirs)


def test_three_wrappers_load_the_same_network(tmp_path):
    torch.manual_seed(0)
    src = torchvision.models.resnet18(num_classes=32).eval()
    x = torch.rand(2, 1, 128, 128)
    outputs = []
    for name, wrap in WRAPPERS.items():
        torch.save(wrap(src.state_dict()), tmp_path / f"{name}.pth")
        outputs.append(create_model("resnet18", num_classes=32, weights=str(tmp_path / f"{name}.pth")).eval()(x))
    assert torch.allclose(outputs[0], src(x.repeat(1, 3, 1, 1)), atol=1e-4)
    assert torch.equal(outputs[0], outputs[1]) and torch.equal(outputs[0], outputs[2])


@pytest.fixture(scope="session")
def mobilenet_io(shared_data):
    path = shared_data / "sarhub_authors_layouts" / "mobilenetv3_small_io.pth"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return path, torch.load(path, weights_only=True)


def _close(out, ref):
    return (out - ref).abs().max().item() <= 1e-4 * ref.abs().max().item()


@torch.no_grad()
def test_authors_mobilenetv3_reproduces_their_logits(mobilenet_io, tmp_path, monkeypatch):
    path, io = mobilenet_io
    model = create_model("mobilenetv3", num_classes=32, weights=str(path)).eval()  # the raw file, on the fly
    assert _close(model(io["input_gray"]), io["logits"])
    pooled = model.global_pool(model.forward_features(io["input_gray"])).flatten(1)
    assert _close(pooled, io["pooled"])
    # converted once to a Model-Hub file: the same network, 1 channel, by name
    monkeypatch.setenv("SARHUB_MANIFEST", str(tmp_path / "manifest.json"))
    new, report = hub_tools.convert_authors(path, "mobilenetv3-tsx", out_dir=tmp_path, keep_classifier=True)
    assert report.gaps == [] and new["sha256"] == hub.sha256(tmp_path / "mobilenetv3-tsx.safetensors")
    by_name = create_model("mobilenetv3", num_classes=32, weights="mobilenetv3-tsx", weights_dir=tmp_path).eval()
    assert _close(by_name(io["input_gray"]), io["logits"])
    assert by_name.input_contract.drae.method == "rd"  # the packaged TSX entry's contract travelled along


@torch.no_grad()
def test_timm_mobilenetv3_is_another_network_and_refuses_the_authors_weights(mobilenet_io):
    path, io = mobilenet_io
    with pytest.raises(WeightsError, match=r"authors' MobileV3 network, not mobilenetv3_small_100.*--arch mobilenetv3"):
        create_model("mobilenetv3_small_100", num_classes=32, weights=str(path))
    timm_order = create_model("mobilenetv3_small_100", num_classes=32, weights=str(path), allow_partial=True).eval()
    assert not _close(timm_order(io["input_gray"]), io["logits"])  # SE after the activation: not their network


def _bn(x, bn):
    return F.batch_norm(x, bn.running_mean, bn.running_var, bn.weight, bn.bias, False, 0.0, bn.eps)


def _randomise(model):
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.normal_(0, 0.1)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.normal_(0, 0.1)
    return model.eval()


@torch.no_grad()
def test_senet50_stem_and_block_are_the_authors(tmp_path):
    """Their stem: 7×7/2 conv, BN, ReLU, 3×3/2 max-pool with padding 1 (no ceil mode); their block: 1×1 conv with
    the stride, 3×3, 1×1, SE (avg-pool, 1×1 conv with bias, ReLU, 1×1 conv, sigmoid) times the residual branch,
    plus the 1×1/stride shortcut, ReLU."""
    model = _randomise(create_model("senet50"))
    x = torch.randn(2, 1, 66, 66)
    s = model.layer0
    stem = F.max_pool2d(F.relu(_bn(F.conv2d(x, s.conv1.weight, stride=2, padding=3), s.bn1)), 3, 2, padding=1)
    assert torch.allclose(model.pool0(model.layer0(x)), stem, atol=1e-5)
    timm_stem = _randomise(create_model("legacy_seresnet50"))
    timm_stem.load_state_dict(model.state_dict())
    assert timm_stem.pool0(timm_stem.layer0(x)).shape != stem.shape  # ceil mode, no padding: another grid

    b = model.layer2[0]
    y = torch.randn(2, 256, 16, 16)
    r = F.relu(_bn(F.conv2d(y, b.conv1.weight, stride=2), b.bn1))
    r = F.relu(_bn(F.conv2d(r, b.conv2.weight, padding=1), b.bn2))
    r = _bn(F.conv2d(r, b.conv3.weight), b.bn3)
    se = r.mean((2, 3), keepdim=True)
    se = torch.sigmoid(F.conv2d(F.relu(F.conv2d(se, b.se_module.fc1.weight, b.se_module.fc1.bias)),
                                b.se_module.fc2.weight, b.se_module.fc2.bias))
    shortcut = _bn(F.conv2d(y, b.downsample[0].weight, stride=2), b.downsample[1])
    assert torch.allclose(b(y), F.relu(r * se + shortcut), atol=1e-5)


def test_microsoft_swin_layout_converts_to_identical_outputs(tmp_path):
    """Microsoft's key layout built from a timm model (downsample at the end of a stage, plain head, index and mask
    buffers) loads through --weights into the identical 1-channel network."""
    torch.manual_seed(0)
    ref = timm.create_model("swin_tiny_patch4_window7_224", img_size=128, window_size=4, num_classes=32,
                            in_chans=3).eval()
    ms = {}
    for k, v in ref.state_dict().items():
        m = re.match(r"layers\.(\d+)\.downsample\.(.*)", k)
        k = f"layers.{int(m.group(1)) - 1}.downsample.{m.group(2)}" if m else k
        ms[k.replace("head.fc.", "head.")] = v
    for i, depth in enumerate((2, 2, 6, 2)):
        for b in range(depth):
            ms[f"layers.{i}.blocks.{b}.attn.relative_position_index"] = torch.zeros(16, 16, dtype=torch.long)
    torch.save({"model": ms}, tmp_path / "Swin-T_TSX.pth")
    model = create_model("swin_t", num_classes=32, weights=str(tmp_path / "Swin-T_TSX.pth")).eval()
    x = torch.rand(1, 1, 128, 128)
    assert torch.allclose(model(x), ref(x.repeat(1, 3, 1, 1)), atol=1e-4)


def test_old_torchvision_densenet_keys_convert_to_identical_outputs(tmp_path):
    torch.manual_seed(0)
    src = torchvision.models.densenet121(num_classes=32).eval()
    state = {re.sub(r"(denselayer\d+\.(?:norm|conv))([12])\.", r"\1.\2.", k): v for k, v in src.state_dict().items()
             if not k.endswith("num_batches_tracked")}
    torch.save({"state_dict": state}, tmp_path / "DenseNet121_TSX.pth")
    model = create_model("densenet121", num_classes=32, weights=str(tmp_path / "DenseNet121_TSX.pth")).eval()
    x = torch.rand(2, 1, 64, 64)
    assert torch.allclose(model(x), src(x.repeat(1, 3, 1, 1)), atol=1e-4)


def test_authors_checkpoint_of_another_network_is_refused_with_the_convert_command(layouts, tmp_path):
    path = tmp_path / "SENet50_BEN.pth"
    torch.save(labelled_state(layouts["SENet50"]), path)
    with pytest.raises(WeightsError) as err:
        create_model("resnet50", weights=str(path))
    assert str(path) in str(err.value)
    assert f"python -m sarhub.hub convert --source {path} --arch senet50 --name senet50-ben" in str(err.value)
