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

Called as: python3 -I -S -B main.py '<json spec>'. A failure prints one JSON line on stderr,
{"code": ..., "message": ...}, and exits 3.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import archive_ops  # noqa: E402 -- the helper's own modules, loaded before any chroot
import kernel  # noqa: E402
import upper_ops  # noqa: E402

OPS = {
    "stat": archive_ops.op_stat,
    "get": archive_ops.op_get,
    "export": archive_ops.op_export,
    "put": archive_ops.op_put,
    "list": upper_ops.op_list,
    "stage": upper_ops.op_stage,
    "copy-up": upper_ops.op_copy_up,
}


def op_pin(spec):
    """A volume's subpath, resolved with the volume as its root, bound onto a daemon-private pin
    point in the engine's own namespace: the runtime then mounts the pin, never a path the
    container could have swapped for a symlink meanwhile."""
    kind = kernel.pin(spec["source"], spec["subpath"], spec["pin"])
    print(json.dumps({"kind": kind}), flush=True)


def main():
    try:
        spec = json.loads(sys.argv[1])
        if spec["op"] == "pin":
            op_pin(spec)
            return
        op = OPS[spec["op"]]
        if not os.path.isdir(spec["root"]):
            # Distinct from a path missing inside it: a container that never ran has no upper dir.
            raise kernel.Failure("no-tree", "")
        op(spec, kernel.enter(spec))
    except kernel.Failure as failure:
        report(failure.code, str(failure))
    except BrokenPipeError:
        os._exit(0)  # the reader went away: nothing to say
    except OSError as err:
        report("not-found" if kernel.missing(err) else "internal", err.strerror or str(err))
    except BaseException as err:  # noqa: BLE001 -- the daemon must get a message, never a trace
        report("internal", "%s: %s" % (type(err).__name__, err))


def report(code, message):
    try:
        sys.stderr.write(json.dumps({"code": code, "message": message}) + "\n")
        sys.stderr.flush()
    finally:
        os._exit(3)


main()
