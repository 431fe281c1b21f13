"""File storage for the config store: atomic replace with fsync, and named crash points for tests.

``write`` = write ``name.tmp``, flush, fsync, rename over ``name``, fsync the
directory. ``EDGEGATE_CRASH_AT=before-write|after-write|after-fsync|after-rename``
(with ``EDGEGATE_CRASH_FILE`` naming which file, default any) makes the process
exit at once at that step: a fault injection for the crash-consistency tests,
never set in production.
"""

import os

from edgegate.config.store import Storage


def read_material(path, what, error):
    """The bytes of a file the config names (a certificate, a key); ``error(msg, path)`` names it if unreadable."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise error("%s %s: %s" % (what, path, e.strerror or e), path) from None


class FileStorage(Storage):
    def __init__(self, directory):
        self.dir = directory

    def _path(self, name):
        return os.path.join(self.dir, name)

    def read(self, name):
        try:
            with open(self._path(name), "rb") as f:
                return f.read()
        except FileNotFoundError:
            return None

    def _crash(self, step, name):
        if os.environ.get("EDGEGATE_CRASH_AT") == step and os.environ.get("EDGEGATE_CRASH_FILE", name) == name:
            os._exit(99)

    def write(self, name, data):
        path = self._path(name)
        tmp = path + ".tmp"
        self._crash("before-write", name)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            view = memoryview(data)
            while view:
                n = os.write(fd, view)
                view = view[n:]
            self._crash("after-write", name)
            os.fsync(fd)
        finally:
            os.close(fd)
        self._crash("after-fsync", name)
        os.replace(tmp, path)
        self._crash("after-rename", name)
        self._fsync_dir()

    def remove(self, name):
        try:
            os.unlink(self._path(name))
        except FileNotFoundError:
            return
        self._fsync_dir()

    def _fsync_dir(self):
        fd = os.open(self.dir, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
