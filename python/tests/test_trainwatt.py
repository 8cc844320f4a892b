"""Tests of the trainwatt helper without Keras, Lightning or pytest: the
frameworks are stood in for by small fake modules with the attributes the
callbacks use. Run with ``python python/tests/test_trainwatt.py`` (the
recorder's tests/python_helper.rs runs it too); exits non-zero on failure.
"""

import json
import os
import sys
import tempfile
import types
import unittest

try:  # the installed package, where there is one
    import trainwatt
except ImportError:  # else the source tree beside this file
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))
    import trainwatt


class FakeScalar:
    """A one-element tensor: ``.item()`` gives the number."""

    def __init__(self, v):
        self.v = v

    def item(self):
        return self.v


def install_fake_keras():
    class Callback:
        def __init__(self):
            self.model = None

    keras = types.ModuleType("keras")
    keras.callbacks = types.ModuleType("keras.callbacks")
    keras.callbacks.Callback = Callback
    sys.modules["keras"] = keras
    sys.modules["keras.callbacks"] = keras.callbacks
    return Callback


def install_fake_lightning():
    class Callback:
        pass

    names = ["lightning", "lightning.pytorch", "lightning.pytorch.callbacks"]
    mods = [types.ModuleType(n) for n in names]
    mods[0].pytorch = mods[1]
    mods[1].callbacks = mods[2]
    mods[2].Callback = Callback
    for n, m in zip(names, mods):
        sys.modules[n] = m
    return Callback


class FakeTrainer:
    def __init__(self, epoch, metrics, rank0=True):
        self.current_epoch = epoch
        self.callback_metrics = metrics
        self.is_global_zero = rank0


class Helper(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.log = os.path.join(self.dir.name, "child-epochs.jsonl")
        os.environ[trainwatt.EPOCH_LOG_ENV] = self.log

    def tearDown(self):
        os.environ.pop(trainwatt.EPOCH_LOG_ENV, None)
        self.dir.cleanup()

    def lines(self):
        if not os.path.exists(self.log):
            return []
        with open(self.log, encoding="utf-8") as f:
            text = f.read()
        self.assertTrue(text == "" or text.endswith("\n"), repr(text))
        return [json.loads(line) for line in text.splitlines()]

    def test_imports_without_the_frameworks(self):
        self.assertNotIn("keras", sys.modules)
        self.assertNotIn("lightning", sys.modules)
        self.assertNotIn("torch", sys.modules)

    def test_without_a_recorder_nothing_is_written(self):
        del os.environ[trainwatt.EPOCH_LOG_ENV]
        origin = os.environ.pop(trainwatt.CLOCK_ORIGIN_ENV, None)
        self.assertFalse(trainwatt.enabled())
        self.assertFalse(trainwatt.report_epoch(1, test_acc=0.5))
        self.assertFalse(trainwatt.epoch_start(1))
        self.assertIsNone(trainwatt.run_clock_ns())
        if origin is not None:
            os.environ[trainwatt.CLOCK_ORIGIN_ENV] = origin
        self.assertEqual(self.lines(), [])

    def test_lines_are_appended_in_the_protocol(self):
        self.assertTrue(trainwatt.epoch_start(1))
        self.assertTrue(trainwatt.report_epoch(
            1, train_acc=0.5, test_acc=FakeScalar(0.25), train_loss=1.5, examples=600))
        trainwatt.report_epoch(2)
        self.assertEqual(self.lines(), [
            {"event": "epoch_start", "epoch": 1},
            {"epoch": 1, "train_acc": 0.5, "test_acc": 0.25, "train_loss": 1.5, "examples": 600},
            {"epoch": 2},
        ])

    def test_bad_values_are_refused_before_writing(self):
        for call in (
            lambda: trainwatt.report_epoch(0),
            lambda: trainwatt.report_epoch(1.5),
            lambda: trainwatt.report_epoch(True),
            lambda: trainwatt.report_epoch(1, test_acc=91.0),
            lambda: trainwatt.report_epoch(1, train_loss=float("nan")),
            lambda: trainwatt.epoch_start(-2),
        ):
            with self.assertRaises(ValueError):
                call()
        self.assertEqual(self.lines(), [])

    def test_keras_callback_reports_one_based_epochs_from_the_logs(self):
        base = install_fake_keras()
        try:
            cb = trainwatt.KerasCallback()
            self.assertIsInstance(cb, base)
            cb.on_epoch_begin(0)
            cb.on_epoch_end(0, logs={"accuracy": 0.5, "val_accuracy": 0.4,
                                     "loss": 1.25, "val_loss": 1.5, "lr": 0.1})
            cb.on_epoch_begin(1)
            cb.on_epoch_end(1, logs={"acc": 0.75})
            custom = trainwatt.KerasCallback(test_acc="val_top1")
            custom.on_epoch_end(2, logs={"val_top1": 0.9, "val_accuracy": 0.1})
            self.assertEqual(self.lines(), [
                {"event": "epoch_start", "epoch": 1},
                {"epoch": 1, "train_acc": 0.5, "test_acc": 0.4, "train_loss": 1.25,
                 "test_loss": 1.5},
                {"event": "epoch_start", "epoch": 2},
                {"epoch": 2, "train_acc": 0.75},
                {"epoch": 3, "test_acc": 0.9},
            ])
        finally:
            for n in ("keras", "keras.callbacks"):
                sys.modules.pop(n, None)

    def test_lightning_callback_reads_callback_metrics_on_rank_zero(self):
        base = install_fake_lightning()
        try:
            cb = trainwatt.LightningCallback()
            self.assertIsInstance(cb, base)
            metrics = {"train_acc": FakeScalar(0.6), "val_acc": FakeScalar(0.55),
                       "train_loss": FakeScalar(0.9), "val_loss": 1.0}
            cb.on_train_epoch_start(FakeTrainer(0, {}), None)
            cb.on_train_epoch_end(FakeTrainer(0, metrics), None)
            # Another rank says nothing.
            cb.on_train_epoch_start(FakeTrainer(1, metrics, rank0=False), None)
            cb.on_train_epoch_end(FakeTrainer(1, metrics, rank0=False), None)
            self.assertEqual(self.lines(), [
                {"event": "epoch_start", "epoch": 1},
                {"epoch": 1, "train_acc": 0.6, "test_acc": 0.55, "train_loss": 0.9,
                 "test_loss": 1.0},
            ])
        finally:
            for n in ("lightning", "lightning.pytorch", "lightning.pytorch.callbacks"):
                sys.modules.pop(n, None)

    def test_unknown_attributes_are_attribute_errors(self):
        with self.assertRaises(AttributeError):
            trainwatt.NoSuchThing  # noqa: B018


if __name__ == "__main__":
    unittest.main(verbosity=2)
