"""The error kinds: one line naming where the problem is, also when a DataLoader worker re-raises it."""
import pytest
from torch.utils.data import DataLoader, Dataset

from sarhub.errors import ConfigError, DataError, RunDirError, SarHubError, TrainingError, WeightsError


def test_every_kind_is_one_line_naming_where_and_a_value_error():
    for kind in (DataError, ConfigError, WeightsError, RunDirError, TrainingError):
        error = kind("data/b/9.npy", "cannot be read")
        assert str(error) == "data/b/9.npy: cannot be read" and error.where == error.path == "data/b/9.npy"
        assert isinstance(error, SarHubError) and isinstance(error, ValueError)
    assert str(ConfigError(None, "settings contradict")) == "settings contradict"


class _BadFile(Dataset):
    def __len__(self):
        return 2

    def __getitem__(self, index):
        raise DataError("data/b/9.npy", "cannot be read")


def test_an_error_raised_in_a_dataloader_worker_keeps_its_one_line_message():
    with pytest.raises(DataError) as err:
        next(iter(DataLoader(_BadFile(), num_workers=1)))
    assert str(err.value) == "data/b/9.npy: cannot be read"
    assert DataError("plain message").problem == "plain message"  # one argument: the message itself
