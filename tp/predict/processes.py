"""Which share of a bulk prediction this process does, when launched several times (`accelerate launch`,
`torchrun`): its rank and the world size from the launcher's environment, and a start barrier.

accelerate's PartialState reports a single process on a CPU-only machine even under
`accelerate launch --multi_gpu --num_processes 2`, so the ranks are read from the environment torchrun sets
(RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE). The only collective is one gloo barrier at the start; the
end is coordinated through the parts' done markers, so a process that finishes early never waits on a timeout.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

from tp.errors import ConfigError


def _env_int(*names: str, default: int) -> int:
    for name in names:
        value = os.environ.get(name)
        if value not in (None, ""):
            try:
                return int(value)
            except ValueError:
                raise ConfigError(f"{name}={value!r} is not an integer: unset it or fix the launcher.") from None
    return default


@dataclass(frozen=True)
class Processes:
    """This process's place among the processes of one launch."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    local_world: int = 1

    @property
    def main(self) -> bool:
        return self.rank == 0

    def owns(self, part: int) -> bool:
        """Parts are dealt round-robin: process r takes parts r, r + N, r + 2N, ..."""
        return part % self.world == self.rank

    def label(self) -> str:
        return f"[{self.rank + 1}/{self.world}] " if self.world > 1 else ""

    @contextlib.contextmanager
    def main_first(self) -> Iterator[None]:
        """The main process runs the block first (clean-up, manifest, a cold ONNX export); the others run it once
        it has. One process: no barrier at all."""
        if self.world == 1:
            yield
            return
        import torch.distributed as dist

        if not dist.is_initialized():
            try:
                dist.init_process_group("gloo", rank=self.rank, world_size=self.world, timeout=timedelta(hours=2))
            except (ValueError, RuntimeError) as error:
                raise ConfigError(f"WORLD_SIZE={self.world} but the processes cannot meet ({error}): launch them "
                                  "with `accelerate launch` or `torchrun`, or unset WORLD_SIZE.") from error
        if not self.main:
            dist.barrier()
        yield
        if self.main:
            dist.barrier()

    def close(self) -> None:
        if self.world > 1:
            import torch.distributed as dist

            if dist.is_initialized():
                dist.destroy_process_group()


def current() -> Processes:
    """The launch this process belongs to (one process when no launcher set the variables)."""
    world = _env_int("WORLD_SIZE", default=1)
    rank = _env_int("RANK", default=0)
    if world < 1 or not 0 <= rank < world:
        raise ConfigError(f"RANK={rank} and WORLD_SIZE={world} do not fit together: fix the launcher's settings.")
    local_world = _env_int("LOCAL_WORLD_SIZE", default=world)
    local_rank = _env_int("LOCAL_RANK", default=rank % max(local_world, 1))
    return Processes(rank, world, local_rank, max(local_world, 1))


def cpu_threads(processes: Processes) -> int:
    """torch threads for one of `local_world` processes sharing this machine's cores (torchrun sets
    OMP_NUM_THREADS=1 for each, which would leave most cores idle)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, cores // processes.local_world)
