"""Checkpoints of ``nnet train``: written after every epoch, resumed with ``--resume``.

``--checkpoint-dir DIR`` saves ``DIR/checkpoint.safetensors`` after every epoch (atomically: a
crash leaves the previous one whole): the weights, the optimizer's state, the history, the seed
and the settings and dataset of the run. ``--resume DIR`` rebuilds the run from it and goes on
from the next epoch; the epochs' shuffling and dropout are seeded by (seed, epoch), so the end
is bit for bit the weights of an uninterrupted run.
"""

from __future__ import annotations

import json
from pathlib import Path

from nnet.runs import DEFAULTS, NEWER_SETTINGS, check_setting
from nnet.training import Callback

from . import EXIT_INTERRUPTED, _term
from ._term import CLIError

CHECKPOINT_FILE = "checkpoint.safetensors"
#: Settings that a resumed run may change (--epochs extends the run).
RESUMABLE = ("epochs",)


class CheckpointWriter(Callback):
    """Saves the network and the trainer's state after every epoch, atomically."""

    def __init__(self, path: Path, metadata: dict):
        self.path = path
        self.metadata = metadata
        self.saved_epoch = 0

    def on_epoch_end(self, state):
        from nnet.checkpoints import save_checkpoint

        trainer = state.trainer
        metadata = {**self.metadata, "history": trainer.history.to_dict()}
        save_checkpoint(state.network, trainer.checkpoint(), self.path, metadata=metadata)
        self.saved_epoch = trainer.next_epoch


def load_resume(where: str, given: dict, preset: str | None, names) -> tuple:
    """The checkpoint of ``--resume WHERE`` (a folder or the file): ``(network, checkpoint,
    settings, file)``. ``given`` are the settings given explicitly this time: each must agree
    with the stored one, but for those in ``RESUMABLE``. ``names`` are the settings' names."""
    from nnet.checkpoints import load_checkpoint

    folder = Path(where)
    file = folder / CHECKPOINT_FILE if folder.is_dir() else folder
    if not file.exists():
        raise CLIError(f"{where}: no checkpoint here (expected {file}); checkpoints are written by --checkpoint-dir")
    network, checkpoint = load_checkpoint(file)
    stored = network.metadata.get("training")
    # The file's description (digest, checkpoint state ...) is rebuilt on every save: keep none of
    # it on the network, or nnet.save would carry the stale entries into the new files.
    network.metadata = {}
    if not isinstance(stored, dict) or any(name not in stored for name in names if name not in NEWER_SETTINGS):
        raise CLIError(f"{file}: a checkpoint without the settings of `nnet train`; resume it from Python with fit(resume=...)")
    try:  # the file's settings go through the same checks as the options (older files lack the newer ones)
        settings = {name: check_setting(name, stored.get(name, DEFAULTS.get(name))) for name in names}
    except (TypeError, ValueError) as failure:
        raise CLIError(f"{file}: the checkpoint's training settings are damaged: {failure}") from None
    if checkpoint["optimizer"]["name"] != settings["optimizer"]:
        raise CLIError(f"{file}: the checkpoint's optimizer state is {checkpoint['optimizer']['name']!r} but its "
                       f"settings say {settings['optimizer']!r}: the file is damaged")
    settings["preset"] = stored.get("preset")
    if preset is not None and preset != settings["preset"]:
        raise CLIError(f"--preset {preset} conflicts with the checkpoint's preset ({settings['preset']}); a resumed run keeps its settings")
    for name, value in given.items():
        if name in RESUMABLE:
            settings[name] = value
            continue
        same = value == settings[name]
        if name == "dataset" and not same:
            same = Path(value).exists() and Path(value).resolve() == Path(settings[name]).resolve()
        if not same:
            option = "--" + name.replace("_", "-")
            raise CLIError(
                f"{option} {_show(value)} conflicts with the checkpoint's {name} ({_show(settings[name])}); "
                f"a resumed run keeps its settings (only --epochs may change, to extend it)"
            )
    done = int(checkpoint["next_epoch"])
    if settings["epochs"] < done:
        raise CLIError(f"--epochs {settings['epochs']}: the checkpoint has already trained {done} epochs")
    return network, checkpoint, settings, file


def _show(value) -> str:
    if isinstance(value, list):
        return ",".join(map(str, value)) or "none"
    return str(value)


def checkpoint_path(folder: str | None, *, resumed_folder: Path | None = None) -> Path | None:
    """``FOLDER/checkpoint.safetensors`` for --checkpoint-dir (created). An existing checkpoint
    there is refused, unless FOLDER is the very folder being resumed (``resumed_folder``): a
    resumed run goes on writing its own checkpoint, never over another run's."""
    if folder is None:
        return None
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as failure:
        raise CLIError(f"--checkpoint-dir {folder}: cannot create it: {failure.strerror or failure}") from None
    path = folder / CHECKPOINT_FILE
    own = resumed_folder is not None and folder.resolve() == Path(resumed_folder).resolve()
    if path.exists() and not own:
        raise CLIError(
            f"{path} already exists: continue that run with --resume {folder}, or choose another --checkpoint-dir"
        )
    return path


def interrupted(trainer, writer: CheckpointWriter | None) -> int:
    """After Ctrl-C: say what was saved (the last checkpoint, or nothing); the exit status, 130."""
    history = trainer.history
    epoch = history.epochs[-1].epoch if history.epochs else 0
    if history.epochs and (trainer.next_epoch >= trainer.epochs or history.stopped_early):
        when = "after the last epoch, before the model was saved"
    else:
        when = f"during epoch {epoch + 1} of {trainer.epochs}"
    saved = None if writer is None else _saved_epoch(writer)
    if saved:
        where = (
            f"no model was saved; the last checkpoint is {writer.path} (after epoch {saved}); "
            f"continue with: nnet train --resume {writer.path.parent}"
        )
    elif writer is not None:
        where = "nothing was saved: no epoch had finished, so no checkpoint was written yet"
    else:
        where = (
            "nothing was saved (no model, no checkpoint); with --checkpoint-dir DIR a checkpoint is "
            "written after every epoch, to continue with --resume DIR"
        )
    _term.note(f"nnet: interrupted {when}; {where}")
    return EXIT_INTERRUPTED


def _saved_epoch(writer: CheckpointWriter) -> int:
    """The epoch of the checkpoint on disk. Ctrl-C may land after a save's rename and before the
    writer noted it, so the file itself says; 0 when there is none (or it cannot be read)."""
    from nnet.serialization import ModelFileError, read_safetensors

    try:
        _, container = read_safetensors(writer.path)
        return int(json.loads(container["nnet"])["checkpoint"]["next_epoch"])
    except (OSError, ModelFileError, KeyError, TypeError, ValueError):
        return writer.saved_epoch
