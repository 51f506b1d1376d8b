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


# -- temporary files left by a killed writer (issue 9, finding 8) -------------------------------

_WRITER = """
import sys, time
from nnet._atomic import atomic_file
with atomic_file(sys.argv[1]) as file:
    file.write(b"half a checkpoint")
    file.flush()
    print("writing", flush=True)
    time.sleep(60)
"""


def start_writer(target):
    """A process in the middle of an atomic write of ``target``; returns it once its temporary
    file exists."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    writer = subprocess.Popen([sys.executable, "-c", _WRITER, str(target)], stdout=subprocess.PIPE, env=env)
    assert writer.stdout.readline() == b"writing\n"
    return writer


def parts(folder, name="out.bin"):
    return sorted(path.name for path in folder.iterdir() if path.name.startswith(f".{name}.") and path.name.endswith(".part"))


def age(paths, seconds=3600):
    for path in paths:
        stamp = path.stat().st_mtime - seconds
        os.utime(path, (stamp, stamp))


@posix_only
def test_a_write_removes_what_a_killed_writer_left(tmp_path):
    target = tmp_path / "out.bin"
    writer = start_writer(target)
    writer.kill()  # SIGKILL: no cleanup runs
    writer.wait()
    left = parts(tmp_path)
    assert len(left) == 1  # what kill -9 leaves today
    age(tmp_path / name for name in left)
    with atomic_file(target) as file:
        file.write(b"whole")
    assert target.read_bytes() == b"whole"
    assert parts(tmp_path) == []


@posix_only
def test_a_live_writers_temporary_file_is_never_removed(tmp_path):
    target = tmp_path / "out.bin"
    writer = start_writer(target)
    try:
        left = parts(tmp_path)
        age(tmp_path / name for name in left)  # old, but its writer is alive and holds the lock
        with atomic_file(target) as file:
            file.write(b"mine")
        assert parts(tmp_path) == left
    finally:
        writer.kill()
        writer.wait()


def test_only_old_temporary_files_of_this_destination_are_removed(tmp_path):
    target = tmp_path / "out.bin"
    abandoned = tmp_path / ".out.bin.abcd1234.part"
    young = tmp_path / ".out.bin.young123.part"
    other_file = tmp_path / ".other.bin.abcd1234.part"
    not_ours = tmp_path / ".out.bin.abc.part"  # not mkstemp's eight characters
    for path in (abandoned, young, other_file, not_ours):
        path.write_bytes(b"x")
    age([abandoned, other_file, not_ours])
    with atomic_file(target) as file:
        file.write(b"data")
    assert not abandoned.exists()
    assert young.exists() and other_file.exists() and not_ours.exists()


@posix_only
def test_a_link_named_like_a_temporary_file_is_left_alone(tmp_path):
    victim = tmp_path / "precious.txt"
    victim.write_bytes(b"keep me")
    link = tmp_path / ".out.bin.abcd1234.part"
    link.symlink_to(victim)
    os.utime(link, (0, 0), follow_symlinks=False)
    assert _atomic.remove_stale_parts(tmp_path / "out.bin") == []
    assert link.is_symlink() and victim.read_bytes() == b"keep me"


@posix_only
def test_another_users_temporary_file_is_left_alone(tmp_path, monkeypatch):
    stale = tmp_path / ".out.bin.abcd1234.part"
    stale.write_bytes(b"x")
    age([stale])
    monkeypatch.setattr(os, "getuid", lambda: stale.stat().st_uid + 1)
    assert _atomic.remove_stale_parts(tmp_path / "out.bin") == []
    assert stale.exists()
