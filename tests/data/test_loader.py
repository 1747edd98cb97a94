"""Seeded training loaders: every draw a function of (seed, epoch, rank, index), whatever the workers, and the
training step's own random state left untouched."""
import torch
from torch.utils.data import Dataset

from sarhub.data.loader import EpochBatches, SeededDraws, SeededSamples, derived_seed, seeded_train_loader
from sarhub.distributed import DistEnv

ENV = DistEnv(0, 1, 0, torch.device("cpu"))


class RandomCrop(Dataset):
    """Index plus a random draw, as an augmenting dataset makes one."""

    def __len__(self):
        return 10

    def __getitem__(self, index):
        return torch.tensor([float(index), torch.rand(()).item()])


def batches(workers, epochs=2, seed=0):
    loader, sampler = seeded_train_loader(RandomCrop(), 4, workers, ENV, seed=seed)
    out = []
    for epoch in range(epochs):
        sampler.set_epoch(epoch)
        out.append([b.clone() for b in loader])
    return out


def test_batches_and_augmentations_follow_the_seed_not_the_workers():
    none, two = batches(0), batches(2)
    assert all(torch.equal(a, b) for ea, eb in zip(none, two) for a, b in zip(ea, eb))
    assert [len(e) for e in none] == [2, 2]  # drop_last: 10 samples give two batches of 4
    assert not torch.equal(none[0][0], none[1][0])  # another epoch, another order and other draws
    assert not torch.equal(none[0][0], batches(0, epochs=1, seed=1)[0][0])


def test_loading_leaves_the_global_random_state_alone():
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    SeededSamples(RandomCrop(), seed=5)[(0, 3)]
    assert torch.equal(torch.rand(3), expected)


def test_samplers_and_seeds():
    assert derived_seed(1, 2, 3) == derived_seed(1, 2, 3) != derived_seed(1, 2, 4)
    keys = list(EpochBatches(5, 2, drop_last=False, seed=0))
    assert [len(b) for b in keys] == [2, 2, 1] and sorted(i for b in keys for _, i in b) == [0, 1, 2, 3, 4]
    assert len(EpochBatches(5, 2, drop_last=True, seed=0)) == 2
    draws = SeededDraws(length=3, num_samples=7, seed=0)
    first = list(draws)
    assert len(first) == 7 and set(first) <= {0, 1, 2} and list(draws) == first
    draws.set_epoch(1)
    assert list(draws) != first
