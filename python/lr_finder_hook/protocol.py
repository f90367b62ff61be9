"""Writes protocol events (JSON lines, docs/protocol.md) to the descriptor the front end gave us, never to the
script's stdout. A closed pipe means the front end is gone: the sweep is then cancelled."""
import json
import math
import os

PROTOCOL_VERSION = 2


def wire(x):
    """JSON has no NaN/Infinity: they go as strings, as the reader expects."""
    if isinstance(x, float) and not math.isfinite(x):
        return "NaN" if x != x else ("Infinity" if x > 0 else "-Infinity")
    return x


class Channel:
    """A descriptor the front end opened (fd 3), or a file it reads as it grows (launchers that close inherited
    descriptors, cluster jobs). Every event is one write() of one line, so ranks appending to one file do not mix."""

    def __init__(self, fd, path=None):
        self.fd = fd
        self.broken = False
        if path:
            try:
                self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            except OSError:
                self.fd = None
        if self.fd is not None:
            try:
                os.set_inheritable(self.fd, False)  # programs the script execs do not get it
            except OSError:
                self.fd = None

    def send(self, event):
        if self.fd is None or self.broken:
            return False
        data = (json.dumps(event, separators=(",", ":"), default=str, allow_nan=False) + "\n").encode("utf-8")
        try:
            while data:
                n = os.write(self.fd, data)
                data = data[n:]
            return True
        except (BrokenPipeError, OSError):
            self.broken = True
            return False

    def close(self):
        if self.fd is not None:
            try:
                os.close(self.fd)
            except OSError:
                pass
            self.fd = None
