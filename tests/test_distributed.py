"""torchrun/DDP helpers: `--channels-last` resolved per device and applied when the model is wrapped."""
import torch

from sarhub.distributed import DistEnv, channels_last_on, wrap_ddp

CPU = DistEnv(0, 1, 0, torch.device("cpu"))
CUDA = DistEnv(0, 1, 0, torch.device("cuda", 0))


def test_channels_last_is_the_flag_when_given_else_on_for_cuda():
    assert not channels_last_on(None, CPU) and channels_last_on(None, CUDA)
    assert channels_last_on(True, CPU) and not channels_last_on(False, CUDA)


def test_wrap_ddp_gives_channels_last_weights_when_asked():
    conv = torch.nn.Sequential(torch.nn.Conv2d(2, 8, 3), torch.nn.BatchNorm2d(8))
    assert wrap_ddp(conv, CPU)[0].weight.is_contiguous()
    weight = wrap_ddp(conv, CPU, channels_last=True)[0].weight
    assert weight.is_contiguous(memory_format=torch.channels_last) and not weight.is_contiguous()
