"""trainwatt for Python: report training epochs to ``recorder wrap``, and
reduce runs to energy per epoch (``reduce_run``, in ``trainwatt.reduce``).

``recorder wrap -- python train.py`` runs the script with
``$TRAINWATT_EPOCH_LOG`` naming a file; each call here appends one JSON line
to it, which the recorder stamps on its own clock the moment it arrives
(the line's arrival is the epoch's boundary, so call these right when an
epoch starts and ends). Without the variable every call does nothing, so a
script runs the same with or without the recorder.

The Keras and PyTorch Lightning callbacks (``KerasCallback``,
``LightningCallback``) are built on first use, importing Keras or
Lightning only then: this package imports without either.
"""

import json
import math
import os

__all__ = [
    "report_epoch",
    "epoch_start",
    "enabled",
    "KerasCallback",
    "LightningCallback",
    "EPOCH_LOG_ENV",
    "CLOCK_ORIGIN_ENV",
    "reduce_run",
    "reduce_dir",
    "read_run",
]


__version__ = "0.2.0"

#: Where the recorder says to append the lines.
EPOCH_LOG_ENV = "TRAINWATT_EPOCH_LOG"
#: CLOCK_MONOTONIC ns of the run's t = 0 (see ``run_clock_ns``).
CLOCK_ORIGIN_ENV = "TRAINWATT_CLOCK_ORIGIN_NS"


def enabled():
    """Whether a recorder is listening (``$TRAINWATT_EPOCH_LOG`` is set)."""
    return bool(os.environ.get(EPOCH_LOG_ENV))


def run_clock_ns():
    """Now on the run's clock (ns since the recording's origin), or None
    outside ``recorder wrap``."""
    import time

    origin = os.environ.get(CLOCK_ORIGIN_ENV)
    if origin is None:
        return None
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC) - int(origin)


def _number(value, name):
    """A plain float from a Python, NumPy or PyTorch scalar."""
    if value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    value = float(value)
    if not math.isfinite(value):
        raise ValueError("%s must be a finite number, not %r" % (name, value))
    return value


def _epoch_number(epoch):
    if isinstance(epoch, bool) or int(epoch) != epoch or epoch < 1:
        raise ValueError("epoch numbers are whole and start at 1, not %r" % (epoch,))
    return int(epoch)


def _append(record):
    path = os.environ.get(EPOCH_LOG_ENV)
    if not path:
        return False
    line = json.dumps(record, separators=(",", ":")) + "\n"
    # One write of the whole line in append mode: the recorder never sees
    # half a line from us, and never a rewritten file.
    with open(path, "a", encoding="utf-8") as f:
        f.write(line)
        f.flush()
    return True


def report_epoch(epoch, train_acc=None, test_acc=None, train_loss=None,
                 test_loss=None, examples=None):
    """Epoch ``epoch`` (1-based) has just ended: appends its line.

    Accuracies are fractions in [0, 1]; any argument may be None (left
    out). Returns whether a line was written (False without a recorder).
    """
    record = {"epoch": _epoch_number(epoch)}
    for name, value in (
        ("train_acc", train_acc),
        ("test_acc", test_acc),
        ("train_loss", train_loss),
        ("test_loss", test_loss),
    ):
        value = _number(value, name)
        if value is not None:
            if name.endswith("_acc") and not 0.0 <= value <= 1.0:
                raise ValueError(
                    "%s = %r is not a fraction in [0, 1] (divide percentages by 100)"
                    % (name, value)
                )
            record[name] = value
    if examples is not None:
        record["examples"] = int(examples)
    return _append(record)


def epoch_start(epoch):
    """Epoch ``epoch`` (1-based) starts now. Optional: without it an epoch
    starts where the previous one ended, and epoch 1 when the script
    started (so interpreter start-up and data loading count as epoch 1)."""
    return _append({"event": "epoch_start", "epoch": _epoch_number(epoch)})


def __getattr__(name):
    # PEP 562: the callback classes subclass Keras' or Lightning's base
    # class, so they are built (and those libraries imported) on first use.
    if name == "KerasCallback":
        from . import callbacks

        return callbacks.keras_callback_class()
    if name == "LightningCallback":
        from . import callbacks

        return callbacks.lightning_callback_class()
    # The reducer needs pyarrow and the compiled extension; the epoch
    # helpers need neither, so it too loads on first use.
    if name in ("reduce_run", "reduce_dir", "read_run", "reduced_schema", "options_json"):
        from . import reduce

        return getattr(reduce, name)
    raise AttributeError("module 'trainwatt' has no attribute %r" % (name,))
