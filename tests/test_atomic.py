"""Atomic writes: the file is complete or absent, with the permissions open() would give."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

from nnet import _atomic
from nnet._atomic import atomic_file

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits and umask")


def test_the_content_lands(tmp_path):
    target = tmp_path / "out.bin"
    with atomic_file(target) as file:
        file.write(b"hello ")
        file.write(b"world")
    assert target.read_bytes() == b"hello world"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


def test_it_replaces_an_existing_file(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old content, longer than the new")
    with atomic_file(str(target)) as file:  # str paths too
        file.write(b"new")
    assert target.read_bytes() == b"new"


def test_nothing_is_at_the_destination_until_the_end(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with atomic_file(target) as file:
        file.write(b"new")
        file.flush()
        assert target.read_bytes() == b"old"
        temporaries = [p.name for p in tmp_path.iterdir() if p.name != "out.bin"]
        assert len(temporaries) == 1 and temporaries[0].startswith(".out.bin.") and temporaries[0].endswith(".part")
    assert target.read_bytes() == b"new"


@pytest.mark.parametrize("failure", [OSError("disk full"), KeyboardInterrupt()])
def test_an_exception_keeps_the_old_file_and_leaves_no_temporary(tmp_path, failure):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(type(failure)):
        with atomic_file(target) as file:
            file.write(b"half of the new")
            raise failure
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


def test_an_exception_on_a_new_file_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_file(tmp_path / "out.bin") as file:
            file.write(b"x")
            raise RuntimeError("stop")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_rename_leaves_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")

    def refuse(source, destination):
        raise PermissionError("rename refused")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(PermissionError, match="rename refused"):
        with atomic_file(target) as file:
            file.write(b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


def test_a_missing_folder_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        with atomic_file(tmp_path / "no" / "out.bin") as file:
            file.write(b"x")


def test_the_file_and_then_its_folder_are_flushed_to_disk(tmp_path, monkeypatch):
    target = tmp_path / "out.bin"
    calls = []
    real_fsync = os.fsync

    def recording_fsync(descriptor):
        calls.append((os.fstat(descriptor), target.exists()))
        real_fsync(descriptor)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    with atomic_file(target) as file:
        file.write(b"data")
    kinds = [("folder" if stat.S_ISDIR(info.st_mode) else "file", there) for info, there in calls]
    assert kinds == [("file", False), ("folder", True)]  # the data before the rename, the folder after
    assert calls[1][0].st_ino == tmp_path.stat().st_ino


def test_a_folder_that_refuses_fsync_is_fine(tmp_path, monkeypatch):
    real_fsync = os.fsync

    def no_folders(descriptor):
        if stat.S_ISDIR(os.fstat(descriptor).st_mode):
            raise OSError(22, "Invalid argument")
        real_fsync(descriptor)

    monkeypatch.setattr(os, "fsync", no_folders)
    with atomic_file(tmp_path / "out.bin") as file:
        file.write(b"data")
    assert (tmp_path / "out.bin").read_bytes() == b"data"


# -- permissions ---------------------------------------------------------------------------

WRITE_ONE = (
    "import os, sys; from nnet._atomic import atomic_file\n"
    "with atomic_file(sys.argv[1]) as f: f.write(b'x')\n"
    "print(oct(os.stat(sys.argv[1]).st_mode & 0o777))"
)


@posix_only
@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664), (0o027, 0o640)])
def test_a_new_file_gets_the_mode_the_umask_allows(tmp_path, umask, mode):
    target = tmp_path / "new.bin"
    done = subprocess.run([sys.executable, "-c", WRITE_ONE, str(target)], umask=umask, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == oct(mode)
    assert stat.S_IMODE(target.stat().st_mode) == mode


@posix_only
def test_a_replaced_file_keeps_its_mode(tmp_path):
    target = tmp_path / "kept.bin"
    target.write_bytes(b"old")
    target.chmod(0o640)
    with atomic_file(target) as file:
        file.write(b"new")
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


@posix_only
def test_the_umask_is_read_without_changing_it(monkeypatch):
    before = os.umask(0o027)
    try:
        assert _atomic._read_umask() == 0o027

        def no_proc(*args, **kwargs):
            raise OSError("no /proc here")

        monkeypatch.setattr(_atomic, "open", no_proc, raising=False)
        assert _atomic._read_umask() == 0o027  # the portable way
        assert os.umask(0o027) == 0o027  # and the umask is as it was
    finally:
        os.umask(before)
