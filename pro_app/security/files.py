"""Files that hold health data or the secret key are the service user's alone: the instance folder (0700) and the
SQLite database with its -wal and -shm files (0600; SQLite gives those the database file's mode).

What pro-app creates, it creates private whatever the umask. What already exists is left as the site made it,
but start-up warns when others on the machine can read it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

FOLDER_MODE = 0o700
FILE_MODE = 0o600
#: any permission for the group or for others
SHARED = stat.S_IRWXG | stat.S_IRWXO


def private_folder(path: Path) -> None:
    """Create the folder (and missing parents) readable only by the service user; an existing one is kept."""
    if path.is_dir():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):  # another worker created it meanwhile
        path.mkdir(mode=FOLDER_MODE)
        os.chmod(path, FOLDER_MODE)  # mkdir's mode is narrowed by the umask only, never widened: be explicit


def private_file(path: Path) -> None:
    """Create an empty file readable only by the service user unless it exists (an empty file is a valid SQLite
    database, so SQLite then opens it and gives its -wal and -shm files the same mode)."""
    if path.exists() or not path.parent.is_dir():
        return
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
        os.chmod(path, FILE_MODE)


def sqlite_files(database: Path) -> tuple[Path, ...]:
    return database, database.with_name(database.name + "-wal"), database.with_name(database.name + "-shm")


def warn_if_shared(*paths: Path) -> list[Path]:
    """Log a warning for each existing path that the group or others may access; the paths warned about."""
    shared = []
    for path in paths:
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except FileNotFoundError:
            continue
        if mode & SHARED:
            shared.append(path)
            wanted = FOLDER_MODE if path.is_dir() else FILE_MODE
            log.warning("%s has mode %04o: other users on this machine can read it (health data or the secret "
                        "key). Restrict it to the service user: chmod %o %s", path, mode, wanted, path)
    return shared
