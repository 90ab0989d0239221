"""torch.distributed set-up for torchrun: NCCL on GPUs, gloo on CPUs, or a single process."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistributedContext:
    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()

    def mean(self, values: dict[str, float]) -> dict[str, float]:
        """The mean of each value over all processes."""
        if not self.enabled or not values:
            return values
        tensor = torch.tensor(list(values.values()), dtype=torch.float64, device=self.device)
        dist.all_reduce(tensor)
        return dict(zip(values, (tensor / self.world_size).tolist()))

    def gather(self, items: list) -> list:
        """Every process's list, concatenated in rank order (on every process)."""
        if not self.enabled:
            return list(items)
        gathered: list = [None] * self.world_size
        dist.all_gather_object(gathered, items)
        return [item for part in gathered for item in part]


def start(device: str = "auto") -> DistributedContext:
    """Join the process group torchrun describes in the environment (RANK, WORLD_SIZE,
    LOCAL_RANK, MASTER_ADDR/PORT); without torchrun, a single process."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank, local_rank = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = torch.cuda.is_available() if device == "auto" else device.startswith("cuda")
    if use_cuda:
        torch.cuda.set_device(local_rank)
        chosen = torch.device("cuda", local_rank)
    else:
        chosen = torch.device("cpu")
    if world_size > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if use_cuda else "gloo", device_id=chosen if use_cuda else None)
    return DistributedContext(rank, world_size, local_rank, chosen)


def stop() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()
