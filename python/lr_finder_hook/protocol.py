"""Writes protocol events (JSON lines, docs/protocol.md) to the descriptor the front end gave us, never to the
script's stdout. A closed pipe means the front end is gone: the sweep is then cancelled."""
import json
import math
import os
import threading
import time

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
        self._buffer = []
        self._since = None
        self._lock = threading.Lock()
        self._flusher = None
        self._flusher_pid = None
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

    _encode = json.JSONEncoder(separators=(",", ":"), default=str, allow_nan=False).encode
    #: Points are written in batches: one write() per point costs about 100 µs (it wakes the reader), more than
    #: everything else the hook does per step. Anything else goes at once, after what is buffered.
    BATCH_SECONDS = 0.02

    def send(self, event, urgent=True):
        if self.fd is None or self.broken:
            return False
        line = self._encode(event) + "\n"
        with self._lock:
            self._buffer.append(line)
            now = time.monotonic()
            if not urgent and self._since is None:
                self._since = now
            if urgent or now - self._since >= self.BATCH_SECONDS:
                return self._flush_locked()
        self._ensure_flusher()
        return True

    def flush(self):
        with self._lock:
            return self._flush_locked()

    def _flush_locked(self):
        self._since = None
        if not self._buffer or self.fd is None:
            return not self.broken
        data = "".join(self._buffer).encode("utf-8")
        self._buffer = []
        try:
            while data:
                n = os.write(self.fd, data)
                data = data[n:]
            return True
        except (BrokenPipeError, OSError):
            self.broken = True
            return False

    def _ensure_flusher(self):
        """A point buffered before a long pause of the script (a validation pass) still arrives within 0.2 s."""
        if self._flusher is not None and self._flusher_pid == os.getpid():
            return
        self._flusher_pid = os.getpid()

        def loop():
            while self.fd is not None and not self.broken:
                time.sleep(0.2)
                if self._buffer and self._flusher_pid == os.getpid():
                    self.flush()

        self._flusher = threading.Thread(target=loop, name="lr-finder-protocol", daemon=True)
        self._flusher.start()

    def close(self):
        self.flush()
        if self.fd is not None:
            try:
                os.close(self.fd)
            except OSError:
                pass
            self.fd = None
