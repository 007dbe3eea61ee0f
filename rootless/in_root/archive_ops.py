"""docker cp's calls inside the container's root: stat, get (tar out), put (merge a staged upload), export."""
import io
import json
import os
import stat
import sys
import tarfile

from kernel import CHUNK, Failure, copy_file, lstat_or_none, missing, realpath

tarfile.pwd = None  # numeric owners only: no NSS inside the container's root
tarfile.grp = None


def stat_json(path):
    st = os.lstat(path)
    target = realpath(path) if stat.S_ISLNK(st.st_mode) else ""
    return {"mode": st.st_mode, "size": st.st_size, "mtimeNs": str(st.st_mtime_ns), "linkTarget": target}


class Padded:
    """A file that shrank while it was read is padded with zeros, as GNU tar does."""

    def __init__(self, f, size):
        self.f, self.left = f, size

    def read(self, n):
        data = self.f.read(min(n, self.left)) if self.left > 0 else b""
        if len(data) < min(n, self.left):
            data += b"\0" * (min(n, self.left) - len(data))
        self.left -= len(data)
        return data


def add(tf, path, arcname, recursive=True, skip=()):
    try:
        info = tf.gettarinfo(path, arcname)
    except OSError:
        return  # vanished meanwhile (GNU tar's --ignore-failed-read)
    if info is None:
        return  # sockets have no tar form
    info.uname = info.gname = ""
    if info.isreg():
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            return
        with os.fdopen(fd, "rb") as f:
            tf.addfile(info, Padded(f, info.size))
    else:
        tf.addfile(info)
    if info.isdir() and recursive:
        try:
            names = sorted(os.listdir(path))
        except OSError:
            return
        base = path.rstrip("/")
        for name in names:
            child = base + "/" + name
            if child not in skip:
                add(tf, child, arcname.rstrip("/") + "/" + name, True, skip)


def open_tar():
    out = io.FileIO(1, "wb", closefd=False)
    return tarfile.open(fileobj=out, mode="w|", format=tarfile.GNU_FORMAT, bufsize=CHUNK, copybufsize=CHUNK)


def op_stat(spec, _held):
    print(json.dumps(stat_json(spec["path"])), flush=True)


def op_get(spec, _held):
    path = spec["path"]
    first = stat_json(path)
    sys.stdout.write(json.dumps(first) + "\n")
    sys.stdout.flush()
    with open_tar() as tf:
        # What the header said is what is sent: a path the container removes meanwhile gives an empty archive.
        add(tf, path, spec["rebase"], stat.S_ISDIR(first["mode"]))


def op_export(_spec, _held):
    with open_tar() as tf:
        for name in sorted(os.listdir("/")):
            add(tf, "/" + name, name)


# --- put: a staged tree merged into the container ------------------------------------------------
def table(path):
    try:
        with open(path, "rb") as f:
            text = f.read(1 << 22).decode("utf-8", "replace")
    except OSError:
        return []
    return [line.split(":") for line in text.split("\n") if line and not line.startswith("#")]


def owner_of(user):
    """copyUIDGID: the container's User, from its own /etc/passwd and /etc/group."""
    name, _, group = user.partition(":")
    entry = next((p for p in table("/etc/passwd") if p[0] == name), None)
    if entry is None and name.isdigit():
        entry = next((p for p in table("/etc/passwd") if len(p) > 2 and p[2] == name), None)
    if entry is not None and len(entry) > 3 and entry[2].isdigit() and entry[3].isdigit():
        uid, gid = int(entry[2]), int(entry[3])
    elif name.isdigit():
        uid = gid = int(name)
    else:
        raise Failure("invalid-parameter", "unable to find user %s: no matching entries in passwd file" % name)
    if group:
        if group.isdigit():
            gid = int(group)
        else:
            found = next((g for g in table("/etc/group") if g[0] == group and len(g) > 2 and g[2].isdigit()), None)
            if found is None:
                raise Failure("invalid-parameter", "unable to find group %s: no matching entries in group file" % group)
            gid = int(found[2])
    return uid, gid


def holder_of(holders, dest):
    """The innermost volume or bind holding `dest` (dockerd's checkIfPathIsInAVolume)."""
    best = None
    for h in holders:
        d = h["destination"].rstrip("/") or "/"
        if dest == d or dest.startswith(d.rstrip("/") + "/"):
            if best is None or len(d) > len(best["destination"]):
                best = h
    return best


def merge(staging, dest, no_overwrite, owner):
    linked = {}
    dir_times = []

    def visit(rel):
        dfd = os.open(rel or ".", os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=staging)
        try:
            names = sorted(os.listdir(dfd))
        finally:
            os.close(dfd)
        for name in names:
            relp = rel + "/" + name if rel else name
            st = os.lstat(relp, dir_fd=staging)
            target = dest.rstrip("/") + "/" + relp
            existing = lstat_or_none(target)
            if existing is not None:
                if no_overwrite and stat.S_ISDIR(existing.st_mode) and not stat.S_ISDIR(st.st_mode):
                    raise Failure("internal", 'cannot overwrite directory "%s" with non-directory "%s"' % (target, target))
                if no_overwrite and not stat.S_ISDIR(existing.st_mode) and stat.S_ISDIR(st.st_mode):
                    raise Failure("internal", 'cannot overwrite non-directory "%s" with directory "%s"' % (target, target))
                if not (stat.S_ISDIR(existing.st_mode) and stat.S_ISDIR(st.st_mode)):
                    remove_tree(target, existing)
            uid, gid = owner if owner else (st.st_uid, st.st_gid)
            if stat.S_ISDIR(st.st_mode):
                if existing is None or not stat.S_ISDIR(existing.st_mode):
                    os.mkdir(target, 0o700)
                os.chown(target, uid, gid, follow_symlinks=False)
                os.chmod(target, stat.S_IMODE(st.st_mode))
                dir_times.append((target, st))
                visit(relp)
                continue
            if stat.S_ISLNK(st.st_mode):
                os.symlink(os.readlink(relp, dir_fd=staging), target)
            elif stat.S_ISREG(st.st_mode):
                key = (st.st_dev, st.st_ino)
                if st.st_nlink > 1 and key in linked:
                    os.link(linked[key], target, follow_symlinks=False)
                    continue
                copy_file(relp, target, src_dir=staging)
                if st.st_nlink > 1:
                    linked[key] = target
            elif stat.S_ISFIFO(st.st_mode):
                os.mkfifo(target)
            else:
                continue  # devices cannot be made in a user namespace; dockerd skips them there too
            os.chown(target, uid, gid, follow_symlinks=False)
            if not stat.S_ISLNK(st.st_mode):
                os.chmod(target, stat.S_IMODE(st.st_mode))
            os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)

    visit("")
    for path, st in reversed(dir_times):
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)


def remove_tree(path, st):
    if not stat.S_ISDIR(st.st_mode):
        os.unlink(path)
        return
    for name in os.listdir(path):
        child = path + "/" + name
        child_st = lstat_or_none(child)
        if child_st is not None:
            remove_tree(child, child_st)
    os.rmdir(path)


def op_put(spec, held):
    """Checks first and says so; merges the staged tree once the caller has filled it and says go."""
    path = spec["path"]
    try:
        st = os.stat(path)
    except OSError as err:
        if missing(err):
            raise Failure("not-found", "")
        raise
    if not stat.S_ISDIR(st.st_mode):
        raise Failure("invalid-parameter", "extraction point is not a directory")
    dest = realpath(path)
    holder = holder_of(spec.get("holders") or [], dest)
    if holder is not None and holder.get("readOnly"):
        raise Failure("forbidden", "mounted volume is marked read-only")
    if holder is None and spec.get("readonlyRootfs"):
        raise Failure("forbidden", "container rootfs is marked read-only")
    owner = owner_of(spec["user"]) if spec.get("user") else None
    print(json.dumps({"ready": True}), flush=True)
    if sys.stdin.readline().strip() != "merge":
        return
    merge(held["staging"], dest, spec.get("noOverwriteDirNonDir", False), owner)
    print(json.dumps({"merged": True}), flush=True)
