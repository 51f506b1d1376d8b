"""Run by tests/test_distributed.py under ``mpiexec -n N``: train a small network data-parallel
and write what each process ends with to OUT/rank<r>.npz (parameters, history).

    mpiexec -n 3 python tests/_mpi_fit.py OUT '{"optimizer": "adam", "dropout": 0.3, ...}'

The settings (JSON) are those of tests/_distributed_helpers.py's ``train``, and:
"fail": [rank, epoch, batch]   that process raises at the end of that batch (from 0);
"die": [rank, epoch, batch]    that process is killed (SIGKILL) there;
"stop": [rank, epoch, batch]   that process's callback asks to stop there;
"bad_rank": r                  that process alone gets a NaN in its data ("all": every one);
"checkpoint": FILE             rank 0 saves a training checkpoint there at the end;
"resume": FILE                 every process continues the checkpoint in FILE.
"""

import json
import os
import signal
import sys
from pathlib import Path

import numpy as np
from mpi4py import MPI

sys.path.insert(0, str(Path(__file__).parent))
from _distributed_helpers import train  # noqa: E402

import nnet  # noqa: E402
from nnet.checkpoints import save_checkpoint  # noqa: E402


class At(nnet.Callback):
    """Does ``what`` ("fail", "die" or "stop") at the end of one batch on one process."""

    def __init__(self, what, rank, epoch, batch):
        self.what, self.where = what, (rank, epoch, batch)

    def on_batch_end(self, state):
        if (MPI.COMM_WORLD.Get_rank(), state.epoch, state.batch) != self.where:
            return
        if self.what == "fail":
            raise RuntimeError(f"a callback failed in epoch {state.epoch + 1}, batch {state.batch + 1}")
        if self.what == "die":
            os.kill(os.getpid(), signal.SIGKILL)
        state.stop_training = True


def main(out: str, settings: dict) -> int:
    comm = MPI.COMM_WORLD
    callbacks = [At(what, *settings.pop(what)) for what in ("fail", "die", "stop") if what in settings]
    bad_rank = settings.pop("bad_rank", None)
    checkpoint, resume = settings.pop("checkpoint", None), settings.pop("resume", None)
    try:
        poison = bad_rank in ("all", comm.Get_rank())
        network, trainer = train(settings, comm=comm, callbacks=callbacks, poison=poison, resume=resume)
    except Exception as failure:  # noqa: BLE001 - reported as nnet train does: rank 0 alone
        if comm.Get_rank() == 0:
            print(f"error: {type(failure).__name__}: {failure}", file=sys.stderr, flush=True)
        return 1
    if checkpoint and comm.Get_rank() == 0:
        save_checkpoint(network, trainer.checkpoint(), checkpoint)
    np.savez(Path(out) / f"rank{comm.Get_rank()}.npz", parameters=network.parameters,
             history=json.dumps(trainer.history.to_dict()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], json.loads(sys.argv[2])))
