"""Files written whole or not at all: the one place keras_umdf writes a file
that a crash must not leave half-written.

`atomic_path(path)` hands out a temporary name beside `path`; when the block
ends, the temporary file is flushed to the disk (`fsync`), renamed over `path`
(one atomic step) and the directory's entry flushed too (where the platform
allows it), so after a power cut `path` holds either the old or the new
content. When writing fails (a full disk, a file-size limit, no permission),
the temporary file is removed and an `OSError` names `path`.

Every checkpoint, history, training state, run record, results file and shard
index goes through here.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator

_KEPT_SUFFIXES = (".weights.h5", ".keras", ".npz", ".h5")
"""Suffixes the writers check (Keras saves only to ".keras" / ".weights.h5"),
kept at the end of the temporary name."""


def temporary_name(path: str) -> str:
    """The temporary file beside `path`: "model.keras" -> "model.tmp.keras",
    "history.json" -> "history.json.tmp-<pid>"."""
    for suffix in _KEPT_SUFFIXES:
        if path.endswith(suffix):
            return path[: -len(suffix)] + ".tmp" + suffix
    return f"{path}.tmp-{os.getpid()}"


def temporary_target(name: str) -> tuple[str, int | None] | None:
    """The inverse of `temporary_name` for a file name: the name of the file it
    is a temporary of, and the id of the process that wrote it (None for
    "model.tmp.keras"-style names, which carry none); None when `name` is not
    a temporary name."""
    for suffix in _KEPT_SUFFIXES:
        if name.endswith(".tmp" + suffix):
            return name[: -len(".tmp" + suffix)] + suffix, None
    target, separator, pid = name.rpartition(".tmp-")
    if separator and pid.isdigit():
        return target, int(pid)
    return None


@contextlib.contextmanager
def atomic_path(path, temporary: str | None = None) -> Iterator[str]:
    """Yields a temporary path to write; on success it replaces `path`.

    Args:
        path: the file to write.
        temporary: the temporary name (default `temporary_name(path)`).

    Raises:
        OSError: writing, flushing or renaming failed; the message names
            `path` and the temporary file is gone.

    Example:

    ```python
    with atomic_path("out/model.keras") as temporary:
        model.save(temporary)
    ```
    """
    path = os.fspath(path)
    temporary = temporary or temporary_name(path)
    try:
        yield temporary
        _fsync_file(temporary)
        os.replace(temporary, path)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.remove(temporary)
        if isinstance(error, OSError) and path not in str(error):
            raise named_os_error(error, path) from error
        raise
    fsync_directory(os.path.dirname(path) or ".")


def write_text_atomically(path, text: str, encoding: str = "utf-8") -> None:
    """Writes `text` to `path` whole or not at all (`atomic_path`)."""
    with atomic_path(path) as temporary:
        with open(temporary, "w", encoding=encoding, newline="") as file:
            file.write(text)


def fsync_directory(directory: str) -> None:
    """Flushes a directory's entries (a rename in it) to the disk; nothing on
    platforms or file systems that cannot (Windows)."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def _fsync_file(path: str) -> None:
    descriptor = os.open(path, os.O_RDWR if os.name == "nt" else os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def named_os_error(error: OSError, path: str, detail: str | None = None) -> OSError:
    """`error` again, its message naming the file and what to do (and
    `detail`, e.g. the bytes needed, after the reason)."""
    reason = error.strerror or str(error)
    if detail:
        reason = f"{reason} ({detail})"
    hint = {
        errno.ENOSPC: "free some disk space",
        errno.EFBIG: "free some disk space or raise the file-size limit (ulimit -f)",
        errno.EDQUOT: "free some space within your disk quota",
        errno.EACCES: "make the directory writable",
        errno.EROFS: "write to a writable file system",
    }.get(error.errno, "check that the directory can be written")
    named = type(error)(
        f"could not write {path!r}: {reason}; {hint}, or choose another output directory."
    )
    named.errno = error.errno
    return named
