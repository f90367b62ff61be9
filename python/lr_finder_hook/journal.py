"""Undo the script's file changes inside the workspace.

A Python audit hook sees every `open` for writing, rename, remove, mkdir, rmdir and rmtree *before* it happens; the
first time a path inside the workspace is touched, its state is saved (a copy of the file in a folder outside the
workspace, or "absent"). At exit every saved path is put back: files rewritten byte for byte, new files and folders
removed, removed ones recreated. Writes by C code that bypass Python's I/O (torch.save's C++ writer is blocked
separately) are not seen; writes outside the workspace are listed, not undone.

Child processes (DataLoader workers, forked or spawned, and any Python the script starts) journal too: they save into
the same folder and append their entries to a file of their own there, which the main process reads when it restores.
For a path several processes touched, the earliest saved state wins.
"""
import json
import os
import shutil
import stat
import tempfile
import time

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_IGNORED_OUTSIDE = ("/dev/", "/proc/", "/sys/")


class Journal:
    def __init__(self, root, shared_dir=None, max_outside=50):
        self.root = os.path.realpath(root)
        self.backup_dir = shared_dir
        self.saved = {}  # path -> ("file", backup) | ("absent", None) | ("dir", None) | ("tree", backup)
        self.times = {}  # path -> when it was saved
        self.order = []
        self.child_pid = None  # Set in a child process: its entries go to a file in the shared folder
        self.child_blocked = []
        self.outside = []
        self.max_outside = max_outside
        self.untracked = 0  # operations relative to a directory descriptor
        self.files_read = []
        self._read_seen = set()
        self.enabled = True

    # -- classification ------------------------------------------------------------------------------
    def inside(self, path):
        return path == self.root or path.startswith(self.root + os.sep)

    def _resolve(self, path, follow=True):
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        path = os.fspath(path)
        if follow:
            return os.path.realpath(path)
        parent, name = os.path.split(os.path.abspath(path))
        return os.path.join(os.path.realpath(parent), name)

    def _note_outside(self, path):
        if self.backup_dir and path.startswith(self.backup_dir):
            return
        if path.startswith(_IGNORED_OUTSIDE) or path in self.outside:
            return
        if len(self.outside) < self.max_outside:
            self.outside.append(path)

    # -- saving state before an operation --------------------------------------------------------------
    def _backup_path(self):
        if self.backup_dir is None:
            self.backup_dir = tempfile.mkdtemp(prefix="lr-finder-journal-")
        return os.path.join(self.backup_dir, "%d-%d" % (os.getpid(), len(self.order)))

    def become_child(self):
        """In a child process: from now on, new entries also go to this process's file in the shared folder."""
        if self.child_pid != os.getpid():
            self.child_pid = os.getpid()
            self.order = list(self.order)

    def _record(self, path, entry):
        self.saved[path] = entry
        self.times[path] = time.time()
        self.order.append(path)
        if self.child_pid is not None and self.backup_dir:
            self._append_child({"path": path, "kind": entry[0], "backup": entry[1], "t": self.times[path]})

    def note_blocked(self, what, path):
        if self.child_pid is not None and self.backup_dir:
            self._append_child({"blocked": what, "path": path})

    def _append_child(self, obj):
        self.enabled = False
        try:
            fd = os.open(os.path.join(self.backup_dir, "child-%d.jsonl" % os.getpid()), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                os.write(fd, (json.dumps(obj) + "\n").encode())
            finally:
                os.close(fd)
        except OSError:
            pass
        finally:
            self.enabled = True

    def merge_children(self):
        """The main process, before restoring: take in what the child processes saved."""
        if not self.backup_dir or not os.path.isdir(self.backup_dir):
            return []
        blocked = []
        for name in sorted(os.listdir(self.backup_dir)):
            if not (name.startswith("child-") and name.endswith(".jsonl")):
                continue
            try:
                with open(os.path.join(self.backup_dir, name)) as f:
                    lines = f.read().splitlines()
            except OSError:
                continue
            for line in lines:
                try:
                    e = json.loads(line)
                except ValueError:
                    continue
                if "blocked" in e:
                    blocked.append({"what": e["blocked"], "path": e["path"]})
                    continue
                path = e.get("path")
                if not path or not self.inside(path):
                    continue
                if path not in self.saved or e["t"] < self.times.get(path, float("inf")):
                    if path in self.saved:
                        self.order.remove(path)
                    self.saved[path] = (e["kind"], e.get("backup"))
                    self.times[path] = e["t"]
                    self.order.append(path)
        self.order.sort(key=lambda p: self.times.get(p, 0.0))
        return blocked

    def save(self, path):
        """Remember the current state of `path` (once)."""
        if path in self.saved or not self.inside(path) or path == self.root:
            return
        self.enabled = False  # our own copying must not journal itself
        try:
            if os.path.islink(path) or os.path.isfile(path):
                backup = self._backup_path()
                shutil.copy2(path, backup, follow_symlinks=False)
                entry = ("file", backup)
            elif os.path.isdir(path):
                entry = ("dir", None)
            else:
                entry = ("absent", None)
        except OSError:
            entry = ("absent", None) if not os.path.lexists(path) else ("unsaved", None)
        finally:
            self.enabled = True
        self._record(path, entry)

    def save_tree(self, path):
        if path in self.saved or not self.inside(path) or not os.path.isdir(path):
            return
        self.enabled = False
        try:
            backup = self._backup_path()
            shutil.copytree(path, backup, symlinks=True)
            entry = ("tree", backup)
        except OSError:
            entry = ("unsaved", None)
        finally:
            self.enabled = True
        self._record(path, entry)

    def _touch(self, raw, follow=True):
        try:
            path = self._resolve(raw, follow)
        except (TypeError, ValueError):
            return
        if self.inside(path):
            self.save(path)
        else:
            self._note_outside(path)

    # -- the audit hook ------------------------------------------------------------------------------
    def audit(self, event, args):
        if not self.enabled:
            return
        if event == "open":
            path, mode, flags = args
            if isinstance(path, int) or path is None:
                return
            writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                mode is None and isinstance(flags, int) and flags & _WRITE_FLAGS
            )
            if writes:
                self._touch(path)
            else:
                self._read(path)
        elif event == "os.rename":
            src, dst, src_dir_fd, dst_dir_fd = args
            if (src_dir_fd not in (None, -1)) or (dst_dir_fd not in (None, -1)):
                self.untracked += 1
                return
            self._touch(src, follow=False)
            self._touch(dst, follow=False)
        elif event in ("os.remove", "os.rmdir", "os.mkdir"):
            path, dir_fd = args[0], args[-1]
            if dir_fd not in (None, -1):
                # shutil.rmtree removes relative to a folder descriptor: its whole tree was saved already
                if event == "os.mkdir":
                    self.untracked += 1
                return
            self._touch(path, follow=False)
        elif event == "shutil.rmtree":
            try:
                path = self._resolve(args[0])
            except (TypeError, ValueError):
                return
            if self.inside(path):
                self.save_tree(path)
            else:
                self._note_outside(path)
        elif event in ("os.truncate", "os.symlink", "os.link"):
            target = args[-1] if event != "os.truncate" else args[0]
            if not isinstance(target, int):
                self._touch(target, follow=False)
        elif event == "sqlite3.connect":
            db = args[0]
            if isinstance(db, (str, bytes, os.PathLike)) and os.fspath(db) not in (":memory:", b":memory:", ""):
                for suffix in ("", "-journal", "-wal", "-shm"):
                    self._touch(os.fspath(db) + suffix)

    def _read(self, raw):
        try:
            path = self._resolve(raw)
        except (TypeError, ValueError):
            return
        if path not in self._read_seen and self.inside(path) and len(self.files_read) < 200:
            self._read_seen.add(path)
            if os.path.isfile(path):
                self.files_read.append(path)

    # -- restoring -----------------------------------------------------------------------------------
    def restore(self):
        """Put every saved path back; returns [{"path", "action"}] (paths relative to the root)."""
        self.enabled = False
        done = []
        # Latest first: a file created in a new folder goes before the folder, a rename's target before its source.
        for path in reversed(self.order):
            kind, backup = self.saved[path]
            rel = os.path.relpath(path, self.root)
            try:
                action = self._restore_one(path, kind, backup)
            except OSError as e:
                action = "failed: %s" % (e.strerror or e)
            if action == "removed-folder":
                done.append({"path": rel + "/", "action": "removed"})
            elif action:
                done.append({"path": rel, "action": action})
        if self.backup_dir:
            shutil.rmtree(self.backup_dir, ignore_errors=True)
            self.backup_dir = None
        return done

    def _restore_one(self, path, kind, backup):
        exists = os.path.lexists(path)
        if kind == "absent":
            if not exists:
                return None
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
                return "removed-folder"
            os.unlink(path)
            return "removed"
        if kind == "file":
            if exists and not os.path.islink(path) and os.path.isfile(path) and _same(path, backup):
                return None
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            elif exists:
                os.unlink(path)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            shutil.copy2(backup, path, follow_symlinks=False)
            return "restored"
        if kind == "dir":
            if os.path.isdir(path):
                return None
            if exists:
                os.unlink(path)
            os.makedirs(path)
            return "recreated"
        if kind == "tree":
            if os.path.isdir(path) and _same_tree(path, backup):
                return None
            if os.path.lexists(path):
                shutil.rmtree(path) if os.path.isdir(path) else os.unlink(path)
            shutil.copytree(backup, path, symlinks=True)
            return "restored"
        return "not saved: could not be restored"


def _same(a, b):
    try:
        sa, sb = os.stat(a), os.stat(b)
        if sa.st_size != sb.st_size or stat.S_IMODE(sa.st_mode) != stat.S_IMODE(sb.st_mode):
            return False
        with open(a, "rb") as fa, open(b, "rb") as fb:
            while True:
                x, y = fa.read(1 << 20), fb.read(1 << 20)
                if x != y:
                    return False
                if not x:
                    return True
    except OSError:
        return False


def _same_tree(a, b):
    for dirpath, dirnames, filenames in os.walk(b):
        rel = os.path.relpath(dirpath, b)
        other = os.path.join(a, rel)
        if not os.path.isdir(other) or set(os.listdir(other)) != set(dirnames) | set(filenames):
            return False
        if not all(_same(os.path.join(other, f), os.path.join(dirpath, f)) for f in filenames):
            return False
    return True
