"""Reduce a run to energy per epoch and source with the analyzer's own fold.

``reduce_run`` takes a run's three parts (docs/trace-format.md) as Python
objects: the manifest (JSON text, a dict, or the path of manifest.json), the
epoch rows and the power samples as pyarrow tables or record-batch readers
(or anything with ``__arrow_c_stream__``: polars and pandas frames). It
returns the run's rows of the reduced table (docs/reduced-format.md) as a
``pyarrow.Table``: one row per epoch and source with the energy in every
mode the source allows, or a single row naming why the run is excluded.

The numbers come from the Rust crate ``trainwatt-fold`` (the extension
``trainwatt._fold``), the code ``analyzer reduce`` runs, so they equal its
rows bit for bit; ``analyzer report`` reads a folder of such tables in
place of an archive.
"""

import json
import os

__all__ = ["reduce_run", "reduce_dir", "read_run", "reduced_schema", "options_json"]


def _fold():
    try:
        from . import _fold as ext
    except ImportError as e:  # a source checkout on PYTHONPATH, not installed
        raise ImportError(
            "trainwatt.reduce_run needs the compiled extension trainwatt._fold: "
            "install the package with `pip install ./python` (maturin builds it; "
            "it needs a Rust toolchain)"
        ) from e
    return ext


def _stream(obj, what):
    """An object the extension can read: an Arrow stream, or a Parquet
    file's bytes (decoded by the fold with the analyzer's own reader)."""
    if isinstance(obj, (bytearray, memoryview)):
        return bytes(obj)
    if isinstance(obj, bytes) or hasattr(obj, "__arrow_c_stream__"):
        return obj
    if hasattr(obj, "to_arrow"):  # older polars
        return obj.to_arrow()
    raise TypeError(
        f"{what}: expected a pyarrow Table or RecordBatchReader (or any object with "
        f"__arrow_c_stream__), or a Parquet file's bytes, got {type(obj).__name__}"
    )


def _manifest(manifest):
    """(JSON text, the folder of manifest.json when a path was given)."""
    if manifest is None:  # the folder has none: the run is excluded, saying so
        return None, None
    if isinstance(manifest, dict):
        return json.dumps(manifest), None
    if isinstance(manifest, bytes):
        return manifest.decode("utf-8"), None
    if isinstance(manifest, str) and manifest.lstrip().startswith("{"):
        return manifest, None
    if isinstance(manifest, (str, os.PathLike)):
        path = os.fspath(manifest)
        with open(path, encoding="utf-8") as f:
            return f.read(), os.path.dirname(os.path.abspath(path))
    raise TypeError(
        f"manifest: expected JSON text, a dict or the path of manifest.json, "
        f"got {type(manifest).__name__}"
    )


def _segments(samples, run_dir):
    """[(path, stream)] in name order."""
    if isinstance(samples, dict):
        samples = sorted(samples.items())
    if isinstance(samples, (list, tuple)):
        out = []
        for k, item in enumerate(samples):
            if not (isinstance(item, tuple) and len(item) == 2):
                raise TypeError(
                    f"samples[{k}]: expected a (path, table) pair for each segment"
                )
            name, table = item
            name = os.fspath(name)
            if not os.path.isabs(name) and "://" not in name:
                name = os.path.join(run_dir, "samples", name)
            out.append((name, _stream(table, f"samples[{k}]")))
        return out
    return [(os.path.join(run_dir, "samples", "<table>"), _stream(samples, "samples"))]


def reduce_run(
    manifest,
    epochs,
    samples,
    *,
    run_dir=None,
    energy=None,
    components=(),
    baseline=False,
    gap_tolerance_s=1.0,
):
    """The reduced rows of one run (a ``pyarrow.Table``).

    manifest: JSON text, a dict, or the path of manifest.json (``None``: the
        run's folder has none; its row then says `missing-manifest`).
    epochs: the rows of epochs.parquet (``None``: the run has none).
    samples: one table of samples in file order, or ``(path, table)`` pairs
        (or a ``{path: table}`` dict), one per segment, in name order.
        Any table here may also be the Parquet file's ``bytes``: the fold
        then decodes it with the analyzer's reader (the same types accepted
        and messages given as ``analyzer reduce`` on the file).
    run_dir: the run's folder as rows and messages name it (default: the
        folder of a manifest path, else the run id).
    energy: ``"counter"``, ``"integral"``, ``"sample-sum"`` or ``None``
        (counter where every source has one); components: any of ``gpu``,
        ``cpu``, ``dram`` (empty: all); baseline, gap_tolerance_s: as the
        analyzer's ``--baseline`` and ``--gap-tolerance``.
    """
    text, folder = _manifest(manifest)
    if run_dir is None:
        run_dir = folder
    if run_dir is None:
        try:
            run_dir = json.loads(text).get("run_id") or "."
        except (TypeError, ValueError, AttributeError):
            run_dir = "."
    run_dir = os.fspath(run_dir)
    return _fold().reduce_run(
        run_dir,
        text,
        None if epochs is None else _stream(epochs, "epochs"),
        _segments(samples, run_dir),
        energy,
        list(components),
        bool(baseline),
        float(gap_tolerance_s),
    )


def read_run(run_dir, decode=True):
    """(manifest text or None, epochs or None, [(path, segment)]) of a run
    folder: the parts ``reduce_run`` takes. With ``decode`` the Parquet
    files are read with pyarrow into tables; without, they are their bytes."""
    run_dir = os.path.abspath(os.fspath(run_dir))

    def load(path):
        if decode:
            import pyarrow.parquet as pq

            return pq.read_table(path)
        with open(path, "rb") as f:
            return f.read()

    manifest_path = os.path.join(run_dir, "manifest.json")
    text = None
    if os.path.isfile(manifest_path):
        with open(manifest_path, encoding="utf-8") as f:
            text = f.read()
    epochs_path = os.path.join(run_dir, "epochs.parquet")
    epochs = load(epochs_path) if os.path.isfile(epochs_path) else None
    samples_dir = os.path.join(run_dir, "samples")
    names = []
    if os.path.isdir(samples_dir):
        names = sorted(
            n
            for n in os.listdir(samples_dir)
            if n.endswith(".parquet") and os.path.isfile(os.path.join(samples_dir, n))
        )
    segments = [(os.path.join(samples_dir, n), load(os.path.join(samples_dir, n))) for n in names]
    return text, epochs, segments


def reduce_dir(run_dir, decode=False, **options):
    """``reduce_run`` of a run folder (same options). By default the files
    go to the fold as bytes; ``decode=True`` reads them with pyarrow first."""
    run_dir = os.path.abspath(os.fspath(run_dir))
    text, epochs, segments = read_run(run_dir, decode=decode)
    return reduce_run(text, epochs, segments, run_dir=run_dir, **options)


def reduced_schema():
    """The reduced table's ``pyarrow.Schema``."""
    return _fold().reduced_schema()


def options_json(energy=None, components=(), baseline=False, gap_tolerance_s=1.0):
    """The options JSON that reduced rows carry for these options."""
    return _fold().options_json(energy, list(components), bool(baseline), float(gap_tolerance_s))
