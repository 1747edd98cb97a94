"""The paper's reported numbers: the reference a results row is shown beside, and initialisation labels."""
import pytest

from sarhub.paper import TABLE6, TABLE7, TABLE8, init_label, scene_reference


def test_scene_reference_picks_the_closest_table_cell():
    assert scene_reference("resnet50", "TSX", "minicbl", drae=True, pretrained=True) == 72.47  # Table 1, DRAE + Mini-CBL
    assert scene_reference("resnet50", "OSU", "ce", drae=False, pretrained=True) == 55.03  # Table 1, neither
    assert scene_reference("swin_b", "BEN", "minicbl", drae=True, pretrained=False) == 60.59  # Table 3, from scratch
    assert scene_reference("resnet18", "TSX", "cbl", drae=True, pretrained=True) == 71.59  # Table 3, CBL from init
    assert scene_reference("resnet18", "TSX", "focal", drae=True, pretrained=True) is None  # not in the paper
    assert scene_reference("resnet18", "RSSCN7", "minicbl", drae=True, pretrained=True) is None


@pytest.mark.parametrize("weights, label", [
    (None, "scratch"), ("scratch", "scratch"), ("imagenet", "IMG"), ("resnet18-tsx", "TSX"),
    ("weights/ResNet50_BEN.pth", "BEN"), ("swin_t-osu.safetensors", "OSU"), ("my_run.pth", "my_run.pth"),
])
def test_init_label_from_a_weights_value(weights, label):
    assert init_label(weights) == label


def test_tables_hold_every_backbone_and_initialisation():
    assert TABLE8["resnet18"]["TSX"] == (53.04, 64.48, 74.42, 74.74)
    assert TABLE6["swin_b"]["OSU"]["fusar"] == 68.65 and len(TABLE6) == 8
    assert TABLE7["resnet50"]["hrsid"]["IMG"] == (60.68, 87.61)
    assert all(set(inits) == {"IMG", "OPT", "TSX", "BEN", "OSU"} for inits in TABLE7["swin_t"].values())
