"""Fitted statistics (keyword IDF, category classifier) saved under DATA_DIR/models.

Workers reload a file when its modification time changes, so a refit by the periodic task reaches
every process without a restart.
"""
import os
import tempfile
import threading
from pathlib import Path

import joblib
from django.conf import settings

_cache: dict[str, tuple[float, object]] = {}
_lock = threading.Lock()


def _path(name: str) -> Path:
    directory = settings.DATA_DIR / "models"
    directory.mkdir(parents=True, exist_ok=True)
    return directory / f"{name}.joblib"


def save(name: str, obj: object) -> Path:
    """Writes atomically (temporary file, then rename), so a reader never sees half a file."""
    path = _path(name)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{name}-")
    os.close(fd)
    joblib.dump(obj, tmp)
    os.replace(tmp, path)
    with _lock:
        _cache.pop(name, None)
    return path


def load(name: str) -> object | None:
    """Returns the saved object, or None when it was never fitted."""
    path = _path(name)
    try:
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        return None
    with _lock:
        cached = _cache.get(name)
        if cached and cached[0] == mtime:
            return cached[1]
    obj = joblib.load(path)
    with _lock:
        _cache[name] = (mtime, obj)
    return obj


def delete(name: str) -> None:
    _path(name).unlink(missing_ok=True)
    with _lock:
        _cache.pop(name, None)
