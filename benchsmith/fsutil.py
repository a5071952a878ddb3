"""Writing files so that readers see the old content or the new, never half of either.

Every file benchsmith writes in place (LLM cache entries, index metadata, reports) goes
through `atomic_write`: a temporary file in the same folder, unique per process and call,
then `os.replace`. Published versions are whole folders and are renamed into place by
`benchsmith.publish`, which builds on the same idea.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path

_names = itertools.count()


def temporary_sibling(path: Path | str) -> str:
    """A temporary file name next to `path`, unique per process and call (writers never share one)."""
    path = os.fspath(path)
    head, tail = os.path.split(path)
    return os.path.join(head, f".{tail}.{os.getpid()}.{next(_names)}.tmp")


@contextlib.contextmanager
def replacing(path: Path | str, *, exclusive: bool = False) -> Iterator[str]:
    """Yield a temporary name to write to; on success it replaces `path`, on error it is removed.

    For writers that want a path rather than bytes (faiss.write_index, pyarrow).
    `exclusive` puts the file in place only if `path` does not exist (a hard link, so
    `FileExistsError` if another writer got there first) instead of replacing it: for a
    file someone else may already have open under that name.
    """
    tmp = temporary_sibling(path)
    try:
        yield tmp
        if exclusive:
            os.link(tmp, path)
            os.unlink(tmp)
        else:
            os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write(path: Path | str, data: bytes | str, *, durable: bool = False) -> None:
    """Write `data` to `path` atomically; `durable` also fsyncs before the rename (survives power loss)."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    with replacing(path) as tmp:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            view = memoryview(raw)
            while view:
                view = view[os.write(fd, view):]
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write_lines(path: Path | str, lines: Callable[[], Iterator[str]], *, durable: bool = False) -> None:
    """Write the lines a generator yields (each with its own newline) to `path` atomically."""
    with replacing(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        for line in lines():
            fh.write(line)
        if durable:
            fh.flush()
            os.fsync(fh.fileno())


def check_writable_folder(path: Path, what: str) -> None:
    """Raise `SpecError` unless `path` is, or can be created as, a folder this process can write.

    Run before the first LLM call, so a bad `--output-dir` or `--workspace` costs nothing:
    a path below a regular file, or a folder without write permission, is named with the
    reason.
    """
    from benchsmith.errors import SpecError

    path = Path(path)
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise SpecError(f"{what} {path}: cannot be created: {probe} is a file, not a folder")
    if probe.exists() and not os.access(probe, os.W_OK | os.X_OK):
        raise SpecError(f"{what} {path}: {probe} is not writable by this user")
