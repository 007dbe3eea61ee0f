"""Burrow's in-root helper: file work on a tree that a container controls.

Each call runs in a process whose root directory *is* the container's tree (chroot), as dockerd's
chrootarchive does, so no symlink, `..` or rename the container makes, however it races the call,
can lead a path outside that tree: the kernel resolves every path with the tree as "/". Volumes and
binds are attached in a private mount namespace that dies with this process, from mounts cloned
before the chroot (open_tree) onto mount points resolved after it, so nothing is left mounted by a
crash. Files outside the tree are reached only through descriptors opened before the chroot (the
daemon's private staging directories), never by a path.

Nothing is imported after the chroot: the container's files must never be loaded as code (the
CVE-2019-14271 class), and owners are never looked up through NSS (tar entries carry numbers only;
/etc/passwd is parsed here as text).

Called as: python3 -I -S -B in-root.py '<json spec>'. A failure prints one JSON line on stderr,
{"code": ..., "message": ...}, and exits 3.
"""
import ctypes
import io
import json
import os
import stat
import sys
import tarfile

# --- the kernel calls Python 3.11 does not wrap -------------------------------------------------
LIBC = ctypes.CDLL(None, use_errno=True)
LIBC.syscall.restype = ctypes.c_long
SYS_OPEN_TREE, SYS_MOVE_MOUNT, SYS_OPENAT2, SYS_MOUNT_SETATTR = 428, 429, 437, 442  # the same on every Linux arch
CLONE_NEWNS = 0x00020000
MS_REC, MS_PRIVATE = 0x4000, 0x40000
OPEN_TREE_CLONE, OPEN_TREE_CLOEXEC = 1, 0o2000000
AT_EMPTY_PATH, AT_RECURSIVE, AT_FDCWD = 0x1000, 0x8000, -100
MOVE_MOUNT_F_EMPTY_PATH, MOVE_MOUNT_T_EMPTY_PATH = 0x4, 0x40
MOUNT_ATTR_RDONLY = 0x1
RESOLVE_NO_MAGICLINKS, RESOLVE_IN_ROOT = 0x02, 0x10
CHUNK = 1 << 20


class MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64), ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]


class OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64)]


class Failure(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def checked(result, what):
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, "%s: %s" % (what, os.strerror(err)))
    return result


def in_root(base, path):
    """`path` opened below the directory `base` with `base` as its root (openat2 RESOLVE_IN_ROOT)."""
    how = OpenHow(os.O_PATH | os.O_CLOEXEC, 0, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)
    return checked(LIBC.syscall(ctypes.c_long(SYS_OPENAT2), ctypes.c_int(base), ctypes.c_char_p(os.fsencode(path)), ctypes.byref(how), ctypes.c_size_t(ctypes.sizeof(how))), "openat2 " + path)


def clone_tree(source, subpath, recursive, read_only):
    """A detached copy of the mount at `source` (a host path the user chose: trusted), or of a
    subpath of it, which the container writes and so is resolved with the volume as its root."""
    flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (AT_RECURSIVE if recursive else 0)
    at, name = AT_FDCWD, os.fsencode(source)
    if subpath:
        base = os.open(source, os.O_PATH | os.O_DIRECTORY)
        try:
            at, name, flags = in_root(base, subpath), b"", flags | AT_EMPTY_PATH
        finally:
            os.close(base)
    try:
        fd = checked(LIBC.syscall(ctypes.c_long(SYS_OPEN_TREE), ctypes.c_int(at), ctypes.c_char_p(name), ctypes.c_uint(flags)), "open_tree " + source)
    finally:
        if at != AT_FDCWD:
            os.close(at)
    if read_only:
        attr = MountAttr(MOUNT_ATTR_RDONLY, 0, 0, 0)
        checked(LIBC.syscall(ctypes.c_long(SYS_MOUNT_SETATTR), ctypes.c_int(fd), ctypes.c_char_p(b""), ctypes.c_uint(AT_EMPTY_PATH | AT_RECURSIVE), ctypes.byref(attr), ctypes.c_size_t(ctypes.sizeof(attr))), "mount_setattr")
    return fd


def attach(tree, dest_fd):
    checked(LIBC.syscall(ctypes.c_long(SYS_MOVE_MOUNT), ctypes.c_int(tree), ctypes.c_char_p(b""), ctypes.c_int(dest_fd), ctypes.c_char_p(b""), ctypes.c_uint(MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH)), "move_mount")


def private_namespace():
    checked(LIBC.unshare(ctypes.c_int(CLONE_NEWNS)), "unshare")
    # Nothing mounted here may show in the engine's namespace, nor anything of it here.
    checked(LIBC.mount(None, b"/", None, ctypes.c_ulong(MS_REC | MS_PRIVATE), None), "make-rprivate")


def enter(spec):
    """Clone the mounts, keep the descriptors asked for, then make the tree the root."""
    mounts = spec.get("mounts") or []
    trees = []
    if mounts:
        private_namespace()
        trees = [clone_tree(m["source"], m.get("subpath"), m.get("recursive", True), m.get("readOnly", False)) for m in mounts]
    held = {name: os.open(spec[name], os.O_RDONLY | os.O_DIRECTORY) for name in ("staging",) if spec.get(name)}
    os.chroot(spec["root"])
    os.chdir("/")
    seal_imports()
    # Parents before children (the caller orders them): a mount inside a volume lands in the volume.
    for m, tree in zip(mounts, trees):
        dest = m["destination"]
        if not stat.S_ISDIR(os.fstat(tree).st_mode):
            os.makedirs(os.path.dirname(dest) or "/", exist_ok=True)
            if not os.path.lexists(dest):
                os.close(os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
        else:
            os.makedirs(dest, exist_ok=True)
        dest_fd = os.open(dest, os.O_PATH)
        try:
            attach(tree, dest_fd)
        finally:
            os.close(dest_fd)
            os.close(tree)
    return held


def seal_imports():
    # Everything this program needs is loaded: any later import would read the container's files.
    sys.meta_path[:] = []
    sys.path_hooks[:] = []
    sys.path_importer_cache.clear()
    sys.path[:] = []


# --- stat and tar ------------------------------------------------------------------------------
tarfile.pwd = None  # numeric owners only: no NSS inside the container's root
tarfile.grp = None


def missing(err):
    return isinstance(err, OSError) and err.errno in (2, 20)  # ENOENT, ENOTDIR


def stat_json(path):
    st = os.lstat(path)
    target = os.path.realpath(path) if stat.S_ISLNK(st.st_mode) else ""
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
def lstat_or_none(path):
    try:
        return os.lstat(path)
    except OSError as err:
        if missing(err):
            return None
        raise


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


def copy_data(src_fd, dst_fd):
    while True:
        n = os.sendfile(dst_fd, src_fd, None, CHUNK)
        if n == 0:
            return


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
                src = os.open(relp, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=staging)
                try:
                    # EXCL: whatever the container put there since the removal is never written through.
                    dst = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
                    try:
                        copy_data(src, dst)
                    finally:
                        os.close(dst)
                finally:
                    os.close(src)
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
    dest = os.path.realpath(path)
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


# --- the upper dir: docker diff's listing and commit's staging -----------------------------------
def walk_upper(skip, visit):
    def walk(dir_path):
        try:
            names = sorted(os.listdir(dir_path), key=os.fsencode)
        except OSError:
            return
        for name in names:
            path = ("" if dir_path == "/" else dir_path) + "/" + name
            if path in skip:
                continue
            st = lstat_or_none(path)
            if st is not None and visit(path, st) and stat.S_ISDIR(st.st_mode):
                walk(path)

    walk("/")


def is_opaque(path, xattr):
    try:
        return os.getxattr(path, xattr, follow_symlinks=False) == b"y"
    except OSError:
        return False


def op_list(spec, _held):
    """Every entry of the upper dir, parents first: docker diff compares them with the image."""
    out = io.TextIOWrapper(io.FileIO(1, "wb", closefd=False), encoding="utf-8", errors="surrogateescape", write_through=False)

    def visit(path, st):
        entry = {"path": path, "mode": st.st_mode, "size": st.st_size, "mtimeNs": str(st.st_mtime_ns), "rdev": st.st_rdev}
        if stat.S_ISDIR(st.st_mode) and is_opaque(path, spec["opaqueXattr"]):
            entry["opaque"] = True
        out.write(json.dumps(entry) + "\n")
        return True

    walk_upper(set(spec.get("skip") or []), visit)
    out.flush()


def op_stage(spec, held):
    """commit: the upper dir mirrored into the staging dir (hard links), whiteouts as OCI markers."""
    staging, xattr = held["staging"], spec["opaqueXattr"]
    count = 0
    dir_times = []

    def marker(rel, st):
        fd = os.open(rel, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644, dir_fd=staging)
        os.close(fd)
        os.utime(rel, ns=(st.st_atime_ns, st.st_mtime_ns), dir_fd=staging, follow_symlinks=False)

    def visit(path, st):
        nonlocal count
        rel = path[1:]
        parent, _, name = rel.rpartition("/")
        count += 1
        mode = st.st_mode
        if stat.S_ISCHR(mode) and st.st_rdev == 0:
            marker((parent + "/" if parent else "") + ".wh." + name, st)
            return False
        if stat.S_ISDIR(mode):
            os.mkdir(rel, 0o700, dir_fd=staging)
            if is_opaque(path, xattr):
                marker(rel + "/.wh..wh..opq", st)
            dir_times.append((rel, st))
            return True
        if stat.S_ISREG(mode):
            try:
                # A hard link carries owner, mode and times with it; a copy is the fallback.
                os.link(path, rel, dst_dir_fd=staging, follow_symlinks=False)
                return False
            except OSError:
                src = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
                try:
                    dst = os.open(rel, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=staging)
                    try:
                        copy_data(src, dst)
                    finally:
                        os.close(dst)
                finally:
                    os.close(src)
        elif stat.S_ISLNK(mode):
            os.symlink(os.readlink(path), rel, dir_fd=staging)
        elif stat.S_ISFIFO(mode):
            os.mkfifo(rel, dir_fd=staging)
        else:
            count -= 1  # devices other than whiteouts cannot exist in a rootless upper dir
            return False
        os.chown(rel, st.st_uid, st.st_gid, dir_fd=staging, follow_symlinks=False)
        if not stat.S_ISLNK(mode):
            os.chmod(rel, stat.S_IMODE(mode), dir_fd=staging)
        os.utime(rel, ns=(st.st_atime_ns, st.st_mtime_ns), dir_fd=staging, follow_symlinks=False)
        return False

    walk_upper(set(spec.get("skip") or []), visit)
    for rel, st in dir_times:
        os.chown(rel, st.st_uid, st.st_gid, dir_fd=staging, follow_symlinks=False)
        os.chmod(rel, stat.S_IMODE(st.st_mode), dir_fd=staging)
    for rel, st in reversed(dir_times):
        os.utime(rel, ns=(st.st_atime_ns, st.st_mtime_ns), dir_fd=staging, follow_symlinks=False)
    print(json.dumps({"entries": count}), flush=True)


OPS = {"stat": op_stat, "get": op_get, "export": op_export, "put": op_put, "list": op_list, "stage": op_stage}


def main():
    try:
        spec = json.loads(sys.argv[1])
        op = OPS[spec["op"]]
        if not os.path.isdir(spec["root"]):
            raise Failure("not-found", "")
        op(spec, enter(spec))
    except Failure as failure:
        report(failure.code, str(failure))
    except BrokenPipeError:
        os._exit(0)  # the reader went away: nothing to say
    except OSError as err:
        report("not-found" if missing(err) else "internal", err.strerror or str(err))
    except BaseException as err:  # noqa: BLE001 -- the daemon must get a message, never a trace
        report("internal", "%s: %s" % (type(err).__name__, err))


def report(code, message):
    try:
        sys.stderr.write(json.dumps({"code": code, "message": message}) + "\n")
        sys.stderr.flush()
    finally:
        os._exit(3)


main()
