"""torchrun/DDP helpers: the same script runs as `python train.py` (one process) or `torchrun --nproc_per_node N`.

NCCL on GPUs, gloo on CPU. Evaluation shards the dataset without DistributedSampler's padding and gathers the
outputs back in dataset order, so every sample is scored exactly once whatever the world size.
"""
from __future__ import annotations

import os
import random
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import Sampler


@dataclass(frozen=True)
class DistEnv:
    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def pick_device(device: str | None = None) -> torch.device:
    """The device an option names: "auto" (or None) is CUDA where there is one, else the CPU."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def init_distributed(device: str | None = None) -> DistEnv:
    """Join the process group torchrun describes in the environment (or run single-process) and pick the device."""
    world_size = int(os.environ.get("WORLD_SIZE", 1))
    rank = int(os.environ.get("RANK", 0))
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    if device is None or device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda":
        torch.cuda.set_device(local_rank)
        dev = torch.device("cuda", local_rank)
    else:
        dev = torch.device(device)
    if world_size > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if dev.type == "cuda" else "gloo", rank=rank, world_size=world_size)
    return DistEnv(rank, world_size, local_rank, dev)


def cleanup() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def barrier() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def all_gather_objects(obj: Any) -> list[Any]:
    if not (dist.is_available() and dist.is_initialized()):
        return [obj]
    out: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


class ShardSampler(Sampler[int]):
    """Deterministic evaluation shard: rank r takes indices r, r+W, r+2W, ... (no padding, no duplicates)."""

    def __init__(self, length: int, rank: int = 0, world_size: int = 1):
        self.indices = list(range(rank, length, world_size))

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The bare model inside DistributedDataParallel (or the model itself)."""
    return model.module if isinstance(model, torch.nn.parallel.DistributedDataParallel) else model


def channels_last_on(flag: bool | None, env: DistEnv) -> bool:
    """`--channels-last` resolved: the flag when given, else on for CUDA (on a CPU it pays for some models and not
    for others: benchmarks/RESULTS.md)."""
    return env.device.type == "cuda" if flag is None else flag


def wrap_ddp(model: torch.nn.Module, env: DistEnv, find_unused_parameters: bool = False,
             channels_last: bool = False) -> torch.nn.Module:
    """Move to the device (channels_last weights when asked) and wrap in DDP when several processes run;
    SyncBatchNorm only on CUDA (NCCL)."""
    model = model.to(env.device, memory_format=torch.channels_last) if channels_last else model.to(env.device)
    if not env.distributed:
        return model
    if env.device.type == "cuda":
        model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
        return torch.nn.parallel.DistributedDataParallel(model, device_ids=[env.local_rank],
                                                         find_unused_parameters=find_unused_parameters)
    return torch.nn.parallel.DistributedDataParallel(model, find_unused_parameters=find_unused_parameters)
