"""Keras and PyTorch Lightning callbacks that report epochs to trainwatt.

Each class is built the first time it is asked for, as a subclass of the
framework's own ``Callback`` (which the frameworks check with
``isinstance``), so importing ``trainwatt`` never imports a framework.
"""

import functools

from . import epoch_start, report_epoch

#: Keras ``logs`` keys, in order of preference, for each reported number.
KERAS_KEYS = {
    "train_acc": ("accuracy", "acc", "sparse_categorical_accuracy", "categorical_accuracy"),
    "test_acc": ("val_accuracy", "val_acc", "val_sparse_categorical_accuracy",
                 "val_categorical_accuracy"),
    "train_loss": ("loss",),
    "test_loss": ("val_loss",),
}

#: Lightning ``trainer.callback_metrics`` keys, in order of preference.
LIGHTNING_KEYS = {
    "train_acc": ("train_acc", "train_accuracy", "acc", "accuracy"),
    "test_acc": ("val_acc", "val_accuracy", "test_acc", "test_accuracy"),
    "train_loss": ("train_loss", "loss"),
    "test_loss": ("val_loss", "test_loss"),
}


def _pick(metrics, keys):
    for k in keys:
        if metrics is not None and k in metrics and metrics[k] is not None:
            return metrics[k]
    return None


def _keys(defaults, given):
    """The default key names, with those the user gave instead."""
    out = dict(defaults)
    for name, key in given.items():
        if key is not None:
            out[name] = (key,) if isinstance(key, str) else tuple(key)
    return out


@functools.lru_cache(maxsize=None)
def keras_callback_class():
    """``trainwatt.KerasCallback``, a ``keras.callbacks.Callback``."""
    try:
        import keras
        base = keras.callbacks.Callback
    except ImportError:  # TensorFlow's bundled Keras
        from tensorflow import keras
        base = keras.callbacks.Callback

    class KerasCallback(base):
        """Reports each epoch of ``model.fit`` to trainwatt.

        Keras counts epochs from 0; trainwatt from 1. Key names (or lists
        of them) override where each number is read from ``logs``.
        """

        def __init__(self, train_acc=None, test_acc=None, train_loss=None, test_loss=None):
            super().__init__()
            self.keys = _keys(KERAS_KEYS, {
                "train_acc": train_acc, "test_acc": test_acc,
                "train_loss": train_loss, "test_loss": test_loss,
            })

        def on_epoch_begin(self, epoch, logs=None):
            epoch_start(epoch + 1)

        def on_epoch_end(self, epoch, logs=None):
            report_epoch(epoch + 1, **{n: _pick(logs, k) for n, k in self.keys.items()})

    return KerasCallback


@functools.lru_cache(maxsize=None)
def lightning_callback_class():
    """``trainwatt.LightningCallback``, a Lightning ``Callback``."""
    try:
        from lightning.pytorch.callbacks import Callback as base
    except ImportError:
        from pytorch_lightning.callbacks import Callback as base

    class LightningCallback(base):
        """Reports each training epoch to trainwatt, after its validation
        (Lightning calls ``on_train_epoch_end`` once validation is done).
        Only the global rank 0 process writes."""

        def __init__(self, train_acc=None, test_acc=None, train_loss=None, test_loss=None):
            super().__init__()
            self.keys = _keys(LIGHTNING_KEYS, {
                "train_acc": train_acc, "test_acc": test_acc,
                "train_loss": train_loss, "test_loss": test_loss,
            })

        def on_train_epoch_start(self, trainer, pl_module):
            if getattr(trainer, "is_global_zero", True):
                epoch_start(trainer.current_epoch + 1)

        def on_train_epoch_end(self, trainer, pl_module):
            if not getattr(trainer, "is_global_zero", True):
                return
            metrics = trainer.callback_metrics
            report_epoch(trainer.current_epoch + 1,
                         **{n: _pick(metrics, k) for n, k in self.keys.items()})

    return LightningCallback
