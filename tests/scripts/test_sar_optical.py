"""SAR–optical fusion (issue 10): HCL, shared augmentation, super-pixel means, Hungarian matching, the SEN12MS
reader and the three sar_optical scripts end to end."""
import json
import math
import sys

import numpy as np
import pytest
import tifffile
import torch
from helpers.scripts import run_script

from sarhub.data.sen12ms import IGNORE_INDEX, SEN12MSDataset, partner_path, split_files, to_labels
from sarhub.data.synthetic.sar_optical import write_pairs, write_sen12ms
from sarhub.errors import DataError
from sarhub.fusion import augment
from sarhub.fusion.losses import fusion_objective, hcl_loss
from sarhub.fusion.models import STRATEGIES, FusionNet
from sarhub.fusion.superpixels import superpixel_means
from sarhub.fusion.vq import GumbelVQ, kmeans
from sarhub.metrics.segmentation import hungarian_mapping, land_cover_scores


def hcl_by_hand(a, b, tau, tau_plus, beta):
    """The HCL formula written out for plain Python lists, anchor by anchor."""
    def unit(v):
        n = math.sqrt(sum(x * x for x in v))
        return [x / n for x in v]

    z = [unit(v) for v in a + b]
    n = len(a)
    total = 0.0
    for i in range(2 * n):
        j = (i + n) % (2 * n)
        s = [sum(x * y for x, y in zip(z[i], z[k])) / tau for k in range(2 * n)]
        negs = [s[k] for k in range(2 * n) if k not in (i, j)]
        m = len(negs)
        imp = [math.exp(beta * v) for v in negs]
        mean_imp = sum(imp) / m
        reweighted = sum(w * math.exp(v) for w, v in zip(imp, negs)) / mean_imp
        ng = max((reweighted - m * tau_plus * math.exp(s[j])) / (1 - tau_plus), m * math.exp(-1 / tau))
        total += -math.log(math.exp(s[j]) / (math.exp(s[j]) + ng))
    return total / (2 * n)


def test_hcl_equals_hand_computed_value_for_two_pairs():
    a = [[1.0, 0.0, 0.5], [0.2, 1.0, -0.3]]
    b = [[0.9, 0.1, 0.4], [-0.1, 0.8, 0.2]]
    expected = hcl_by_hand(a, b, 0.5, 0.1, 1.0)
    got = hcl_loss(torch.tensor(a), torch.tensor(b), tau=0.5, tau_plus=0.1, beta=1.0)
    assert got.item() == pytest.approx(expected, rel=1e-5)
    # β = 0 and τ⁺ = 0 is NT-Xent: −log(e^pos / (e^pos + Σ e^neg)) (clamp inactive for these vectors)
    nt = hcl_by_hand(a, b, 0.5, 0.0, 0.0)
    assert hcl_loss(torch.tensor(a), torch.tensor(b), 0.5, 0.0, 0.0).item() == pytest.approx(nt, rel=1e-5)
    # aligned pairs far from the other pairs cost less than swapped ones
    swapped = hcl_loss(torch.tensor(a), torch.tensor(b[::-1]))
    assert got < swapped
    with pytest.raises(ValueError, match="at least 2"):
        hcl_loss(torch.ones(1, 3), torch.ones(1, 3))


def test_shared_augmentation_keeps_pixel_correspondence():
    g = torch.Generator().manual_seed(3)
    ids = torch.arange(48 * 48).reshape(1, 48, 48).repeat(4, 1, 1)  # every pixel its own id
    image = torch.stack([ids.float(), -ids.float()], dim=1)  # a 2-channel "image" carrying the ids
    params = augment.sample_params(4, (32, 32), min_scale=0.5, generator=g)
    out_map = augment.apply(ids, params)
    out_img = augment.apply(image, params, mode="nearest")
    assert out_map.shape == (4, 32, 32) and out_img.shape == (4, 2, 32, 32)
    assert torch.equal(out_img[:, 0].long(), out_map) and torch.equal(-out_img[:, 1].long(), out_map)
    # the four samples got different transforms, and the map still holds valid ids only
    assert len({tuple(m.flatten()[:5].tolist()) for m in out_map}) > 1
    assert out_map.min() >= 0 and out_map.max() < 48 * 48
    # a pure flip (scale 1, no crop): exactly the flipped map
    flip = augment.GeometricParams(torch.tensor([[[-1.0, 0, 0], [0, 1.0, 0]]]), (48, 48))
    assert torch.equal(augment.apply(ids[:1], flip), ids[:1].flip(-1))


def test_superpixel_means_are_exact_means_over_a_hand_made_map():
    seg = torch.tensor([[[0, 0, 1], [0, 2, 1], [2, 2, 1]]])
    feats = torch.arange(9, dtype=torch.float32).reshape(1, 1, 3, 3).repeat(1, 2, 1, 1)
    feats[:, 1] *= 10
    means, present = superpixel_means(feats, seg, num_segments=4)
    assert present.tolist() == [True, True, True, False]
    assert means[0].tolist() == pytest.approx([(0 + 1 + 3) / 3, 10 * (0 + 1 + 3) / 3])
    assert means[1].tolist() == pytest.approx([(2 + 5 + 8) / 3, 10 * (2 + 5 + 8) / 3])
    assert means[2].tolist() == pytest.approx([(4 + 6 + 7) / 3, 10 * (4 + 6 + 7) / 3])
    # a second image's segments are kept apart
    both, present = superpixel_means(feats.repeat(2, 1, 1, 1), torch.cat([seg, seg * 0]), num_segments=4)
    assert present.tolist() == [True, True, True, False, True, False, False, False]
    assert both[4, 0].item() == pytest.approx(4.0)


def test_hungarian_mapping_of_a_permuted_label_map_gives_accuracy_one():
    rng = np.random.default_rng(0)
    truth = torch.as_tensor(rng.integers(0, 5, (64, 64)))
    perm = torch.tensor([3, 0, 4, 1, 2])
    clusters = perm[truth]
    counts = torch.zeros(5, 5, dtype=torch.int64)
    counts.index_put_((clusters.flatten(), truth.flatten()), torch.ones(64 * 64, dtype=torch.int64), accumulate=True)
    lookup = hungarian_mapping(counts)
    assert torch.equal(lookup[clusters], truth)
    cm = torch.zeros(5, 5, dtype=torch.int64)
    cm.index_put_((truth.flatten(), lookup[clusters].flatten()), torch.ones(64 * 64, dtype=torch.int64), accumulate=True)
    scores = land_cover_scores(cm)
    assert scores["overall_accuracy"] == 100 and scores["miou"] == 100 and scores["average_accuracy"] == 100


def test_land_cover_scores_on_a_small_confusion_matrix():
    cm = torch.tensor([[8, 2, 0], [1, 9, 0], [0, 0, 0]])  # class 2 absent from the truth: left out of the means
    s = land_cover_scores(cm, ("a", "b", "c"))
    assert s["overall_accuracy"] == pytest.approx(85.0)
    assert s["average_accuracy"] == pytest.approx((80 + 90) / 2)
    assert s["miou"] == pytest.approx((8 / 11 + 9 / 12) / 2 * 100)
    assert s["acc_a"] == pytest.approx(80) and "acc_c" not in s


def test_labels_follow_the_dfc2020_scheme():
    igbp = np.array([[0, 1, 5, 6], [10, 12, 14, 17]], np.uint8)
    lc = np.stack([igbp] + [np.zeros_like(igbp)] * 3, axis=-1)
    assert to_labels(lc, "lc").tolist() == [[IGNORE_INDEX, 0, 0, 1], [3, 5, 5, 9]]
    assert to_labels(np.array([[0, 1, 10, 255]], np.uint8), "dfc").tolist() == [[IGNORE_INDEX, 0, 9, IGNORE_INDEX]]
    for code, kind in ((11, "dfc"), (200, "lc")):  # not a class, not no-data: an error, never water
        with pytest.raises(DataError, match=f"code {code}"):
            to_labels(np.array([[1, code]], np.uint8), kind)


def test_reader_normalises_and_pairs_the_sen12ms_layout(tmp_path):
    root = write_sen12ms(tmp_path / "sen12ms", n_patches=3, size=32, seed=1)
    s1 = sorted(root.rglob("*_s1_*.tif"))[0]
    assert partner_path(s1, "s2").name == s1.name.replace("_s1_", "_s2_") and partner_path(s1, "s2").parent.name == "s2_1"
    raw = tifffile.imread(s1)
    raw[0, 0, 0] = np.nan
    raw[0, 1, 0] = 5.0  # above 0 dB: clipped to 0
    tifffile.imwrite(s1, raw)
    ds = SEN12MSDataset(root)
    sample = ds[0]
    assert sample["s1"].shape == (2, 32, 32) and sample["s2"].shape == (4, 32, 32) and sample["mask"].shape == (32, 32)
    assert sample["s1"][0, 0, 0] == 0  # NaN → 0 after standardisation
    assert sample["s1"][0, 0, 1].item() == pytest.approx((0 + 11.5) / 4.5)
    assert torch.isfinite(sample["s2"]).all() and sample["mask"].dtype == torch.int64
    assert set(sample["mask"].unique().tolist()) <= {0, 3, 5, 6, 8, 9}
    train, test = split_files(ds.s1_files, 0.34, seed=0)
    assert len(train) == 2 and len(test) == 1 and not set(train) & set(test)
    partner_path(s1, "s2").unlink()
    with pytest.raises(DataError, match="missing s2 partner"):
        SEN12MSDataset(root)
    assert len(SEN12MSDataset(root, modalities=("s1",))) == 3  # SAR only needs no S2


def test_reader_on_the_real_sen12ms_patch(shared_data):
    root = shared_data / "sen12ms_s1"
    ds = SEN12MSDataset(root, modalities=("s1",), labels="lc")
    sample = ds[0]
    assert sample["s1"].shape == (2, 256, 256)
    assert -3 < float(sample["s1"].mean()) < 3  # standardised dB values
    # IGBP codes 4, 5, 8, 9 of this patch are forest (4, 5) and savanna (8, 9) in the simplified scheme
    assert set(sample["mask"].unique().tolist()) == {0, 2}


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_strategy_trains_and_gives_full_resolution_features(strategy):
    model = FusionNet(strategy, (8, 16, 16, 32), dim=16)
    s1, s2 = torch.randn(3, 2, 32, 32), torch.randn(3, 4, 32, 32)
    seg = torch.randint(0, 6, (3, 32, 32))
    p1, p2 = augment.sample_params(3, (24, 24)), augment.sample_params(3, (24, 24))
    out1 = model(augment.apply(s1, p1), augment.apply(s2, p1))
    out2 = model(augment.apply(s1, p2), augment.apply(s2, p2))
    loss, terms = fusion_objective(out1, out2, augment.apply(seg, p1), augment.apply(seg, p2))
    loss.backward()
    assert torch.isfinite(loss)
    expected = {"late": 8, "intermediate": 4}.get(strategy, 2)
    assert len(terms) == expected
    feats = model.features(s1 if "s1" in model.modalities else None, s2 if "s2" in model.modalities else None)
    assert feats.shape == (3, model.feature_dim, 32, 32)


def test_vq_assigns_deterministically_and_kmeans_finds_separated_clusters():
    vq = GumbelVQ(in_dim=8, num_codes=4)
    feats = torch.randn(2, 8, 5, 5)
    loss, terms = vq.loss(feats.permute(0, 2, 3, 1).reshape(-1, 8))
    loss.backward()
    assert set(terms) == {"contrast", "codebook", "diversity"}
    vq.eval()
    assert torch.equal(vq.assign(feats), vq.assign(feats)) and vq.assign(feats).shape == (2, 5, 5)
    points = torch.cat([torch.randn(50, 2) * 0.1 + c for c in (torch.tensor([0.0, 0]), torch.tensor([5.0, 5]))])
    centres = kmeans(points, 2)
    assert sorted(centres.round().tolist()) == [[0.0, 0.0], [5.0, 5.0]]


@pytest.mark.slow
def test_pretrain_linear_eval_and_unsupervised_scripts_end_to_end(tmp_path):
    data = write_sen12ms(tmp_path / "data", n_patches=6, size=32, seed=0)
    out = tmp_path / "run"
    common = ["--data-root", str(data), "--test-fraction", "0.34"]
    run_script("sar_optical", [sys.executable, "pretrain.py", "--strategy", "intermediate", *common, "--epochs", "1",
                               "--batch-size", "2", "--crop", "24", "--widths", "8", "8", "16", "16", "--dim", "8",
                               "--workers", "0", "--output", str(out)], tmp_path)
    ckpt = out / "checkpoint_last.pth"
    assert ckpt.is_file() and (tmp_path / "cache" / "superpixels").is_dir()
    results = tmp_path / "results"
    proc = run_script("sar_optical", [sys.executable, "linear_eval.py", "--checkpoint", str(ckpt), *common,
                                      "--steps", "20", "--results", str(results / "linear")], tmp_path)
    assert "OA" in proc.stdout and (results / "confusion_intermediate.png").is_file()
    assert (results / "linear.md").read_text().count("| intermediate |") == 1
    proc = run_script("sar_optical", [sys.executable, "segment_unsupervised.py", "--checkpoint", str(ckpt), *common,
                                      "--steps", "5", "--results", str(results / "unsup")], tmp_path)
    table = (results / "unsup.md").read_text()
    assert "| Gumbel-softmax VQ |" in table and "| k-means |" in table
    assert (results / "unsupervised_intermediate.png").is_file()
    bad = run_script("sar_optical", [sys.executable, "linear_eval.py", "--checkpoint", str(data / "nothing.pth")],
                     tmp_path, check=False)
    assert bad.returncode == 2 and "nothing.pth" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.slow
def test_real_pair_layout_pretrain_retrieval_and_maps_end_to_end(tmp_path):
    """Issue 27 on a tiny fixture in the real sar/NNN.png + opt/NNN.jpg layout: pre-training (image-level-only
    baseline and the full objective), resumed with --resume auto, cross-modal retrieval with a random-init row and
    the label-free maps with their agreement table; a bad pair is one error line."""
    data = write_pairs(tmp_path / "pairs", n_fragments=5, size=64, seed=0)
    tiny = ["--data-root", str(data), "--config", "s1s2_pairs", "--patch", "32", "--crop", "24", "--batch-size", "4",
            "--widths", "8", "8", "16", "16", "--dim", "8", "--test-fraction", "0.4"]
    runs = {}
    for name, extra in (("late", []), ("late_image", ["--no-superpixel-contrast"])):
        runs[name] = tmp_path / name
        run_script("sar_optical", [sys.executable, "pretrain.py", "--strategy", "late", *tiny, *extra, "--epochs", "1",
                                   "--output", str(runs[name])], tmp_path)
    resumed = run_script("sar_optical", [sys.executable, "pretrain.py", "--strategy", "late", *tiny, "--epochs", "1",
                                         "--output", str(runs["late"]), "--resume", "auto"], tmp_path)
    assert "already complete" in resumed.stdout
    args = json.loads((runs["late"] / "args.json").read_text())
    assert args["sar_channels"] == 1 and args["optical_channels"] == 3 and len(args["input_stats"]["s2"][0]) == 3
    ckpts = [str(runs[n] / "checkpoint_last.pth") for n in runs]
    results = tmp_path / "results"
    run_script("sar_optical", [sys.executable, "retrieval.py", "--checkpoint", *ckpts, "--random-init",
                               "--results", str(results / "retrieval")], tmp_path)
    table = (results / "retrieval.md").read_text()
    assert table.count("| late fusion | pre-trained |") == 3 and table.count("| random init |") == 3
    assert table.count("| late fusion, image-level contrast only | pre-trained |") == 3
    assert "| 8 |" in table  # image level: N = the 2 held-out fragments × 4 windows
    proc = run_script("sar_optical", [sys.executable, "segment_unsupervised.py", "--checkpoint", *ckpts, "--steps", "5",
                                      "--results", str(results / "unsup")], tmp_path)
    assert "2 held-out fragments" in proc.stdout
    maps = (results / "unsup_real.md").read_text()
    assert "| k-means | raw SAR pixels | SAR |" in maps and "| late fusion, SAR branch | SAR |" in maps
    assert (results / "unsupervised_real_seed0.png").is_file()
    (data / "opt" / "001.jpg").unlink()
    bad = run_script("sar_optical", [sys.executable, "retrieval.py", "--checkpoint", ckpts[0]], tmp_path, check=False)
    assert bad.returncode == 2 and "001.png: missing partner" in bad.stderr and "Traceback" not in bad.stderr
