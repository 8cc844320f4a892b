#!/usr/bin/env python3
"""Write small CIFAR-10 batches laid out as the official releases are.

Why: the recorder reads CIFAR-10's python version (`cifar-10-batches-py/`,
what torchvision downloads) with its own pickle decoder. Its test needs
pickles made by real pickle and NumPy code, of known content, and the same
images in the binary version, to check both read alike.

    write_cifar_batches.py FLAVOUR DIR
        Write DIR/cifar-10-batches-py/ (data_batch_1..5, test_batch,
        batches.meta) and DIR/cifar-10-batches-bin/ (data_batch_1..5.bin,
        test_batch.bin, batches.meta.txt), DIR being created if needed.
        FLAVOUR:
          py3  Python 3's C pickler, `pickle.dump(d, f, protocol=2)`, as a
               user re-pickling the batches would (bytes go through
               `_codecs.encode`, NumPy 2 names `numpy._core.multiarray`).
          py2  the official files' form, written by Python 2's cPickle at
               protocol 2: Python 2 `str` objects are SHORT_BINSTRING or
               BINSTRING, the reconstructor is `numpy.core.multiarray`, the
               dtype's arguments are the ints ('u1', 0, 1). The pure-Python
               pickler is used, with those three things changed.
    write_cifar_batches.py --bad KIND FILE
        Write one python batch FILE that must be refused: `float64` (its
        data array is float64), `truncated` (cut inside its pixel string),
        `opcode` (a BINFLOAT where the dict's first key should be).
        Print where a reader must stop, as pickletools finds it: the byte
        offset and name of the opcode (float64: the REDUCE that makes the
        float64 dtype; truncated: the BINSTRING holding the pixels, which
        the cut ends inside; opcode: the BINFLOAT).

Content: image g (numbered across data_batch_1..5 then test_batch) has
label (3 g + 1) mod 10 and pixel (channel c, row y, column x) equal to
(37 g + 101 c + 11 y + 3 x) mod 256. data_batch_1 holds 1001 images (the
picklers write lists in runs of 1000, so its last label takes APPEND), the
other training batches 60, the test batch 50. Needs numpy.
"""

import io
import os
import pickle
import pickletools
import struct
import sys

import numpy as np

SIZES = [1001, 60, 60, 60, 60, 50]
NAMES = ["data_batch_%d" % i for i in range(1, 6)] + ["test_batch"]
CLASSES = [b"airplane", b"automobile", b"bird", b"cat", b"deer", b"dog",
           b"frog", b"horse", b"ship", b"truck"]


def images(first, n):
    g = np.arange(first, first + n, dtype=np.int64)[:, None, None, None]
    c = np.arange(3)[None, :, None, None]
    y = np.arange(32)[None, None, :, None]
    x = np.arange(32)[None, None, None, :]
    pix = (37 * g + 101 * c + 11 * y + 3 * x) % 256
    return pix.astype(np.uint8).reshape(n, 3072)


def labels(first, n):
    return [(3 * g + 1) % 10 for g in range(first, first + n)]


class Py2Pickler(pickle._Pickler):
    """Python 2 cPickle's output for the same objects (see the docstring)."""

    def save_str_py2(self, obj):
        data = obj if isinstance(obj, bytes) else obj.encode("latin1")
        if len(data) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(data)]) + data)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(data)) + data)
        self.memoize(obj)

    dispatch = dict(pickle._Pickler.dispatch)
    dispatch[bytes] = save_str_py2
    dispatch[str] = save_str_py2

    def save_global(self, obj, name=None):
        name = name or obj.__name__
        module = {"_reconstruct": "numpy.core.multiarray"}.get(name, "numpy")
        self.write(pickle.GLOBAL + ("%s\n%s\n" % (module, name)).encode())
        self.memoize(obj)

    def reducer_override(self, obj):
        if isinstance(obj, np.dtype):
            func, args, state = obj.__reduce__()
            return func, (args[0], int(args[1]), int(args[2])), state
        return NotImplemented


def dump(obj, path, flavour):
    buf = io.BytesIO()
    if flavour == "py2":
        Py2Pickler(buf, protocol=2).dump(obj)
    else:
        pickle.dump(obj, buf, protocol=2)
    with open(path, "wb") as f:
        f.write(buf.getvalue())


def batch(index, first, n, data=None):
    what = "testing batch 1 of 1" if index == 5 else "training batch %d of 5" % (index + 1)
    return {
        b"batch_label": what.encode(),
        b"labels": labels(first, n),
        b"data": images(first, n) if data is None else data,
        b"filenames": [b"image_%05d.png" % g for g in range(first, first + n)],
    }


def write_all(flavour, root):
    py = os.path.join(root, "cifar-10-batches-py")
    binary = os.path.join(root, "cifar-10-batches-bin")
    os.makedirs(py, exist_ok=True)
    os.makedirs(binary, exist_ok=True)
    first = 0
    for index, (name, n) in enumerate(zip(NAMES, SIZES)):
        dump(batch(index, first, n), os.path.join(py, name), flavour)
        pix, lab = images(first, n), labels(first, n)
        with open(os.path.join(binary, name + ".bin"), "wb") as f:
            for i in range(n):
                f.write(bytes([lab[i]]) + pix[i].tobytes())
        first += n
    meta = {b"num_cases_per_batch": 10000, b"label_names": CLASSES, b"num_vis": 3072}
    dump(meta, os.path.join(py, "batches.meta"), flavour)
    with open(os.path.join(binary, "batches.meta.txt"), "wb") as f:
        f.write(b"\n".join(CLASSES) + b"\n")


def first_after(whole, after, name):
    """Offset of the first `name` opcode after the opcode `after` matches."""
    seen = False
    for op, arg, pos in pickletools.genops(whole):
        seen = seen or after(op, arg)
        if seen and op.name == name:
            return pos
    raise SystemExit("no %s in the pickle" % name)


def write_bad(kind, path):
    if kind == "float64":
        d = batch(5, 0, 4, data=images(0, 4).astype(np.float64))
        dump(d, path, "py2")
        with open(path, "rb") as f:
            whole = f.read()
        dtype = lambda op, arg: op.name == "GLOBAL" and arg == "numpy dtype"
        print(first_after(whole, dtype, "REDUCE"), "REDUCE")
    elif kind == "truncated":
        dump(batch(5, 0, 4), path, "py2")
        with open(path, "rb") as f:
            whole = f.read()
        print(first_after(whole, lambda op, arg: True, "BINSTRING"), "BINSTRING")
        with open(path, "wb") as f:
            f.write(whole[: len(whole) - 5000])
    elif kind == "opcode":
        dump(batch(5, 0, 4), path, "py2")
        with open(path, "rb") as f:
            whole = bytearray(f.read())
        # PROTO 2, EMPTY_DICT, BINPUT 0, MARK, then the first key at byte 6.
        assert whole[6:7] == pickle.SHORT_BINSTRING, whole[:8]
        whole[6:7] = pickle.BINFLOAT
        with open(path, "wb") as f:
            f.write(whole)
        print(6, "BINFLOAT")
    else:
        sys.exit("unknown --bad kind %r" % kind)


def main(argv):
    if len(argv) == 3 and argv[0] == "--bad":
        write_bad(argv[1], argv[2])
    elif len(argv) == 2 and argv[0] in ("py2", "py3"):
        write_all(argv[0], argv[1])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
