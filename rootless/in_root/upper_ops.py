"""The overlay upper dir (docker diff's listing, commit's staging) and a volume's first content (copy-up)."""
import errno
import io
import json
import os
import stat

from kernel import copy_file, lstat_or_none, missing, realpath


def walk(top, skip, visit):
    """Every entry below `top` (a path in the root), parents first, names in byte order; `visit`
    answers whether to descend into a directory."""

    def walk_dir(dir_path):
        try:
            names = sorted(os.listdir(dir_path), key=os.fsencode)
        except OSError:
            return
        for name in names:
            path = dir_path.rstrip("/") + "/" + name
            if path in skip:
                continue
            st = lstat_or_none(path)
            if st is not None and visit(path, st) and stat.S_ISDIR(st.st_mode):
                walk_dir(path)

    walk_dir(top)


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

    walk("/", set(spec.get("skip") or []), visit)
    out.flush()


def copy_xattrs(path, rel, target, is_dir):
    """cp -a keeps extended attributes (user.* ones are what a rootless tree can have)."""
    try:
        names = os.listxattr(path, follow_symlinks=False)
        if not names:
            return
        fd = os.open(rel, os.O_RDONLY | os.O_NOFOLLOW | (os.O_DIRECTORY if is_dir else 0), dir_fd=target)
    except OSError:
        return
    try:
        for name in names:
            try:
                os.setxattr(fd, name, os.getxattr(path, name, follow_symlinks=False))
            except OSError:
                pass  # an attribute this namespace may not set (trusted.*, security.*) is left out
    finally:
        os.close(fd)


def mirror(top, target, skip, whiteouts=None, xattrs=False):
    """The tree below `top` (a path in the root) recreated below the directory descriptor `target`,
    which lies outside the root: hard links where the filesystem allows, copies elsewhere. With
    `whiteouts` (the opaque xattr's name), the kernel's whiteouts become OCI markers. Returns the count."""
    count = 0
    dir_times = []
    base = top.rstrip("/")

    def marker(rel, st):
        os.close(os.open(rel, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644, dir_fd=target))
        os.utime(rel, ns=(st.st_atime_ns, st.st_mtime_ns), dir_fd=target, follow_symlinks=False)

    def visit(path, st):
        nonlocal count
        rel = path[len(base) + 1:]
        parent, _, name = rel.rpartition("/")
        count += 1
        mode = st.st_mode
        if whiteouts and stat.S_ISCHR(mode) and st.st_rdev == 0:
            marker((parent + "/" if parent else "") + ".wh." + name, st)
            return False
        if stat.S_ISDIR(mode):
            os.mkdir(rel, 0o700, dir_fd=target)
            if whiteouts and is_opaque(path, whiteouts):
                marker(rel + "/.wh..wh..opq", st)
            if xattrs:
                copy_xattrs(path, rel, target, True)
            dir_times.append((rel, st))
            return True
        if stat.S_ISREG(mode):
            try:
                # A hard link carries owner, mode, times and xattrs with it; a copy is the fallback.
                os.link(path, rel, dst_dir_fd=target, follow_symlinks=False)
                return False
            except OSError:
                copy_file(path, rel, dst_dir=target)
                if xattrs:
                    copy_xattrs(path, rel, target, False)
        elif stat.S_ISLNK(mode):
            os.symlink(os.readlink(path), rel, dir_fd=target)
        elif stat.S_ISFIFO(mode):
            os.mkfifo(rel, dir_fd=target)
        else:
            count -= 1  # devices cannot be made in a user namespace (nor exist in a rootless upper dir)
            return False
        os.chown(rel, st.st_uid, st.st_gid, dir_fd=target, follow_symlinks=False)
        if not stat.S_ISLNK(mode):
            os.chmod(rel, stat.S_IMODE(mode), dir_fd=target)
        os.utime(rel, ns=(st.st_atime_ns, st.st_mtime_ns), dir_fd=target, follow_symlinks=False)
        return False

    def visit_present(path, st):
        # An entry the container removes (or turns into something else) while it is mirrored was not
        # there to commit: it is left out, never the whole layer. (EINVAL: the link read after its
        # lstat is no longer a link.)
        nonlocal count
        try:
            return visit(path, st)
        except OSError as err:
            if not (missing(err) or (err.errno == errno.EINVAL and stat.S_ISLNK(st.st_mode))):
                raise
            count -= 1
            return False

    walk(top, skip, visit_present)
    for rel, st in dir_times:
        os.chown(rel, st.st_uid, st.st_gid, dir_fd=target, follow_symlinks=False)
        os.chmod(rel, stat.S_IMODE(st.st_mode), dir_fd=target)
    for rel, st in reversed(dir_times):
        os.utime(rel, ns=(st.st_atime_ns, st.st_mtime_ns), dir_fd=target, follow_symlinks=False)
    return count


def op_stage(spec, held):
    """commit: the upper dir mirrored into the staging dir, whiteouts as OCI markers."""
    count = mirror("/", held["staging"], set(spec.get("skip") or []), whiteouts=spec["opaqueXattr"])
    print(json.dumps({"entries": count}), flush=True)


def op_copy_up(spec, held):
    """A new volume gets the image's content at its mount point (resolved in the root, as the
    container will see it), as cp -a would copy it; nothing when that is not a directory."""
    try:
        is_dir = stat.S_ISDIR(os.stat(spec["path"]).st_mode)
    except OSError:
        is_dir = False
    if is_dir:
        top = realpath(spec["path"])
        target = held["target"]
        mirror(top, target, set(), xattrs=True)
        # cp -a SRC/. DST/ gives DST the source directory's own owner, mode and times too.
        st = os.lstat(top)
        os.chown(target, st.st_uid, st.st_gid)
        os.chmod(target, stat.S_IMODE(st.st_mode))
        os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
    print(json.dumps({"copied": is_dir}), flush=True)
