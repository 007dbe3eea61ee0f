"""The kernel calls Python 3.11 does not wrap (mount API, openat2), the private mount namespace, and
entering a container's tree: mounts cloned before the chroot, attached after it, imports sealed."""
import ctypes
import errno
import os
import stat
import sys

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
    held = {name: os.open(spec[name], os.O_RDONLY | os.O_DIRECTORY) for name in ("staging", "target") if spec.get(name)}
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


def missing(err):
    return isinstance(err, OSError) and err.errno in (2, 20)  # ENOENT, ENOTDIR


def realpath(path):
    """os.path.realpath for a tree the container changes while it is read. Python reads a link with a
    readlink after the lstat that found it; a link the container swaps for a file or directory in
    between fails that readlink with EINVAL, which says nothing about the path asked for: resolve again.
    A path that keeps changing under every try is as good as missing."""
    for _ in range(16):
        try:
            return os.path.realpath(path)
        except OSError as err:
            if err.errno != errno.EINVAL:
                raise
    raise Failure("not-found", "")


def lstat_or_none(path):
    try:
        return os.lstat(path)
    except OSError as err:
        if missing(err):
            return None
        raise


def copy_data(src_fd, dst_fd):
    while True:
        n = os.sendfile(dst_fd, src_fd, None, CHUNK)
        if n == 0:
            return


def pin(source, subpath, point):
    """Binds `subpath` of the directory `source`, resolved with `source` as its root, onto `point`
    (created here, as a directory or a file to match). Returns "dir" or "file"."""
    tree = clone_tree(source, subpath, True, False)
    try:
        is_dir = stat.S_ISDIR(os.fstat(tree).st_mode)
        if is_dir:
            os.mkdir(point, 0o700)
        else:
            os.close(os.open(point, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600))
        dest = os.open(point, os.O_PATH | os.O_NOFOLLOW)
        try:
            attach(tree, dest)
        finally:
            os.close(dest)
    finally:
        os.close(tree)
    return "dir" if is_dir else "file"


def copy_file(src, dst, src_dir=None, dst_dir=None):
    """A new file `dst` holding `src`'s bytes: never an existing file, never through a symlink (EXCL:
    whatever a container put there since it was removed is never written through)."""
    src_fd = os.open(src, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=src_dir)
    try:
        dst_fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=dst_dir)
        try:
            copy_data(src_fd, dst_fd)
        finally:
            os.close(dst_fd)
    finally:
        os.close(src_fd)
