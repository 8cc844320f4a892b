#!/usr/bin/env python3
"""Rewrite a trainwatt archive's Parquet files with other tools' writers.

Why: the analyzer must read archives that users rewrote with the tools they
already have (pyarrow, pandas, DuckDB, polars), not only what trainwatt's own
Rust writer emits. Parquet leaves much to the writer: codec, page version,
encodings, dictionary index width, string flavour, integer widths, extra
metadata and columns. This script turns a real archive into test data made by
those real writers, so a Rust test can check the analyzer against each.

    rewrite_archive.py [--describe] VARIANT SRC DST
        Copy the archive folder SRC to DST (which must not exist): every
        non-Parquet file byte for byte, the same folder layout, and every
        *.parquet file rewritten as VARIANT says. Rows, row order, column
        names and values are kept; types change only where VARIANT says so
        (pandas: int columns holding nulls become double; duckdb-hive adds
        the hive keys as columns, as DuckDB does by default).
        With --describe, then print what --describe DIR prints for DST.
    rewrite_archive.py --describe DIR
        Print JSON describing every Parquet file under DIR, as the file's own
        Thrift metadata and page headers say: per column the physical type,
        codec, encodings, page types, data page version and Arrow type.
    rewrite_archive.py --list
        Print the variant names, one a line.

Otherwise the script prints nothing on success. Needs pyarrow, pandas, duckdb
and polars (only the first to describe).

Two variants are not straight from a tool: no installable writer for this
Python emits the old `LZ4` codec id any more (pyarrow >= 4 and DuckDB and
polars all write LZ4_RAW for "lz4"; pyarrow 2.x-3.x, which wrote Hadoop-framed
LZ4, has no wheel for Python >= 3.10). So `lz4-hadoop` and `lz4-legacy-raw`
take pyarrow's uncompressed file and re-compress each page with LZ4 (pyarrow's
LZ4 block codec) under codec id LZ4, Hadoop-framed as Arrow C++'s
Lz4HadoopCodec writes it (big-endian uncompressed size, compressed size, one
block), or bare as Arrow < 2 and fastparquet wrote it.
"""

import json
import shutil
import struct
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq


def read(src):
    """The file's table as pyarrow reads it (no hive columns from the path)."""
    return pq.ParquetFile(src).read()


def with_pyarrow(**options):
    return lambda src, dst: pq.write_table(read(src), dst, **options)


def cast(table, types):
    """The named columns (where the table has them) cast; a cast that would
    change a value fails."""
    for name, to in types.items():
        if name in table.column_names:
            i = table.schema.get_field_index(name)
            column = table[name]
            if pa.types.is_dictionary(column.type):
                column = column.cast(column.type.value_type)
            table = table.set_column(i, table.schema.field(i).with_type(to), column.cast(to))
    return table


def cast_then_pyarrow(types):
    return lambda src, dst: pq.write_table(cast(read(src), types), dst)


def encoded(ints, strings=None, floats=None):
    """pyarrow with an explicit encoding per column kind (no dictionary).
    `source` goes in as a plain string: pyarrow 26 writes DELTA_*BYTE_ARRAY
    for a dictionary column but cannot read it back."""

    def write(src, dst):
        table = cast(read(src), {"source": pa.string()}) if strings else read(src)
        encoding = {}
        for field in table.schema:
            kind = (ints if pa.types.is_integer(field.type) else
                    strings if pa.types.is_string(field.type) else
                    floats if pa.types.is_floating(field.type) else None)
            if kind:
                encoding[field.name] = kind
        pq.write_table(table, dst, use_dictionary=False, column_encoding=encoding)

    return write


def with_pandas(src, dst):
    import pandas as pd

    pd.read_parquet(src).to_parquet(dst)


def with_duckdb(hive, version=None):
    def write(src, dst):
        import duckdb

        q = lambda p: "'" + str(p).replace("'", "''") + "'"
        read_options = "" if hive else ", hive_partitioning = false"
        write_options = f", PARQUET_VERSION {version}" if version else ""
        with duckdb.connect() as con:
            con.execute(f"COPY (SELECT * FROM read_parquet({q(src)}{read_options})) "
                        f"TO {q(dst)} (FORMAT parquet{write_options})")

    return write


def with_polars(src, dst):
    import polars as pl

    pl.read_parquet(src).write_parquet(dst)


def dict_of(index):
    return pa.dictionary(index, pa.string())


VARIANTS = {
    # Each tool with its defaults.
    "pyarrow": with_pyarrow(),
    "pandas": with_pandas,  # keeps pandas' defaults: ints with nulls become doubles
    "duckdb": with_duckdb(hive=False),
    # DuckDB's own default: read_parquet sees the hive folders in the path and
    # adds platform, dataset, arch, width, run as columns of every file.
    "duckdb-hive": with_duckdb(hive=True),
    "duckdb-v2": with_duckdb(hive=False, version="v2"),
    "polars": with_polars,
    # Every codec, written by pyarrow.
    "uncompressed": with_pyarrow(compression="none"),
    "snappy": with_pyarrow(compression="snappy"),
    "gzip": with_pyarrow(compression="gzip"),
    "brotli": with_pyarrow(compression="brotli"),
    "zstd": with_pyarrow(compression="zstd"),
    "lz4-raw": with_pyarrow(compression="lz4"),  # pyarrow's "lz4" is LZ4_RAW
    "lz4-hadoop": None,  # see lz4_legacy below
    "lz4-legacy-raw": None,
    # Page layout and encodings.
    "page-v2": with_pyarrow(data_page_version="2.0"),
    "plain": with_pyarrow(use_dictionary=False),
    "delta": encoded("DELTA_BINARY_PACKED", "DELTA_BYTE_ARRAY", "BYTE_STREAM_SPLIT"),
    "delta-length": encoded("DELTA_BINARY_PACKED", "DELTA_LENGTH_BYTE_ARRAY"),
    "byte-stream-split": encoded("BYTE_STREAM_SPLIT", None, "BYTE_STREAM_SPLIT"),
    # Several row groups, and several pages per column chunk.
    "row-groups": with_pyarrow(row_group_size=1000, data_page_size=1024, write_batch_size=100),
    # A small dictionary limit: high-cardinality columns (t_ns) start with
    # RLE_DICTIONARY pages and fall back to PLAIN pages within one chunk.
    "dict-fallback": with_pyarrow(dictionary_pagesize_limit=1024, write_batch_size=100),
    # The `source` column of sample files as other Arrow string types.
    "source-string": cast_then_pyarrow({"source": pa.string()}),
    "source-large-string": cast_then_pyarrow({"source": pa.large_string()}),
    "source-string-view": cast_then_pyarrow({"source": pa.string_view()}),
    "source-dict-int8": cast_then_pyarrow({"source": dict_of(pa.int8())}),
    "source-dict-int16": cast_then_pyarrow({"source": dict_of(pa.int16())}),
    "source-dict-uint16": cast_then_pyarrow({"source": dict_of(pa.uint16())}),
    "source-dict-int32": cast_then_pyarrow({"source": dict_of(pa.int32())}),
    "source-dict-int64": cast_then_pyarrow({"source": dict_of(pa.int64())}),
    # Other integer and float widths (ns times stay int64).
    "int-widths": cast_then_pyarrow({"epoch": pa.int16(), "examples": pa.int32(),
                                     "power_w": pa.float64()}),
    "int-widths-wide": cast_then_pyarrow({"epoch": pa.int64(), "power_w": pa.float64()}),
    "int-widths-unsigned": cast_then_pyarrow({"epoch": pa.uint16(), "examples": pa.uint32(),
                                              "energy_uj": pa.uint64()}),
}


# --- Thrift compact protocol: just enough to read and rewrite Parquet's
# footer and page headers. A struct is {field id: (type, value)}, a list
# (element type, [values]).

def _varint(b, i):
    n = shift = 0
    while True:
        n |= (b[i] & 0x7F) << shift
        shift += 7
        i += 1
        if b[i - 1] < 0x80:
            return n, i


def _unzigzag(n):
    return (n >> 1) ^ -(n & 1)


def _read(b, i, t):
    """The value of Thrift type t at b[i], and the offset after it."""
    if t in (1, 2):  # a bool field: the type is the value
        return t == 1, i
    if t == 3:
        return struct.unpack_from("b", b, i)[0], i + 1
    if t in (4, 5, 6):
        n, i = _varint(b, i)
        return _unzigzag(n), i
    if t == 7:
        return struct.unpack_from("<d", b, i)[0], i + 8
    if t == 8:
        n, i = _varint(b, i)
        return bytes(b[i:i + n]), i + n
    if t in (9, 10):
        size, et = b[i] >> 4, b[i] & 15
        i += 1
        if size == 15:
            size, i = _varint(b, i)
        items = []
        for _ in range(size):
            if et in (1, 2):
                v, i = b[i] == 1, i + 1
            else:
                v, i = _read(b, i, et)
            items.append(v)
        return (et, items), i
    if t == 12:
        fields, fid = {}, 0
        while b[i]:
            delta, ft = b[i] >> 4, b[i] & 15
            i += 1
            if delta:
                fid += delta
            else:
                n, i = _varint(b, i)
                fid = _unzigzag(n)
            v, i = _read(b, i, ft)
            fields[fid] = (ft, v)
        return fields, i + 1
    raise ValueError(f"Thrift type {t} at {i} not expected in Parquet metadata")


def _uvarint(n):
    out = bytearray()
    while n > 0x7F:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    return bytes(out + bytes([n]))


def _write(t, v):
    if t in (1, 2):
        return b""
    if t == 3:
        return struct.pack("b", v)
    if t in (4, 5, 6):
        return _uvarint((v << 1) ^ (v >> 63))
    if t == 7:
        return struct.pack("<d", v)
    if t == 8:
        return _uvarint(len(v)) + v
    if t in (9, 10):
        et, items = v
        head = bytes([len(items) << 4 | et]) if len(items) < 15 else bytes([0xF0 | et]) + _uvarint(len(items))
        return head + b"".join(bytes([1 if x else 2]) if et in (1, 2) else _write(et, x) for x in items)
    out, last = bytearray(), 0
    for fid, (ft, fv) in v.items():
        if ft in (1, 2):
            ft = 1 if fv else 2
        delta = fid - last
        out += bytes([delta << 4 | ft]) if 0 < delta <= 15 else bytes([ft]) + _uvarint((fid << 1) ^ (fid >> 15))
        out += _write(ft, fv)
        last = fid
    return bytes(out + b"\0")


def _footer(b):
    assert b[:4] == b[-4:] == b"PAR1", "not a plain (unencrypted) Parquet file"
    n = struct.unpack_from("<I", b, len(b) - 8)[0]
    return _read(b, len(b) - 8 - n, 12)[0]


def _get(s, fid, default=None):
    return s[fid][1] if fid in s else default


def _chunks(meta):
    """(row group, column chunk, column metadata) for every column chunk."""
    for rg in _get(meta, 4)[1]:
        for cc in _get(rg, 1)[1]:
            yield rg, cc, _get(cc, 3)


def _pages(b, cmd):
    """(page header, body offset) for every page of a column chunk."""
    i = min(o for o in (_get(cmd, 11), _get(cmd, 9)) if o)
    values = 0
    while values < _get(cmd, 5):
        header, body = _read(b, i, 12)
        data = _get(header, 5) or _get(header, 8)
        values += _get(data, 1) if data else 0
        i = body + _get(header, 3)
        yield header, body


def lz4_legacy(hadoop):
    def write(src, dst):
        sink = pa.BufferOutputStream()
        pq.write_table(read(src), sink, compression="none")
        b = sink.getvalue().to_pybytes()
        meta = _footer(b)
        lz4 = pa.Codec("lz4_raw")
        out = bytearray(b"PAR1")
        for rg, cc, cmd in _chunks(meta):
            assert not set(cc) & {4, 5, 6, 7} and 14 not in cmd, "page index or bloom filter"
            start, dict_at, data_at = len(out), None, None
            for header, at in _pages(b, cmd):
                assert 4 not in header and _get(header, 1) in (0, 2), "page CRC or page v2"
                raw = b[at:at + _get(header, 3)]
                block = lz4.compress(raw, asbytes=True)
                body = struct.pack(">II", len(raw), len(block)) + block if hadoop else block
                header[3] = (5, len(body))
                if _get(header, 1) == 2:
                    dict_at = len(out)
                elif data_at is None:
                    data_at = len(out)
                out += _write(12, header) + body
            cmd[4] = (5, 5)  # codec LZ4
            cmd[7] = (6, len(out) - start)
            cmd[9] = (6, data_at)
            if dict_at is not None:
                cmd[11] = (6, dict_at)
            if 2 in cc:
                cc[2] = (6, start)
        for rg in _get(meta, 4)[1]:
            columns = [_get(cc, 3) for cc in _get(rg, 1)[1]]
            first = min(o for o in (_get(columns[0], 11), _get(columns[0], 9)) if o)
            if 5 in rg:
                rg[5] = (6, first)
            if 6 in rg:
                rg[6] = (6, sum(_get(c, 7) for c in columns))
        footer = _write(12, meta)
        out += footer + struct.pack("<I", len(footer)) + b"PAR1"
        Path(dst).write_bytes(out)

    return write


VARIANTS["lz4-hadoop"] = lz4_legacy(hadoop=True)
VARIANTS["lz4-legacy-raw"] = lz4_legacy(hadoop=False)

PHYSICAL = ["BOOLEAN", "INT32", "INT64", "INT96", "FLOAT", "DOUBLE", "BYTE_ARRAY",
            "FIXED_LEN_BYTE_ARRAY"]
CODECS = ["UNCOMPRESSED", "SNAPPY", "GZIP", "LZO", "BROTLI", "LZ4", "ZSTD", "LZ4_RAW"]
ENCODINGS = ["PLAIN", "GROUP_VAR_INT", "PLAIN_DICTIONARY", "RLE", "BIT_PACKED",
             "DELTA_BINARY_PACKED", "DELTA_LENGTH_BYTE_ARRAY", "DELTA_BYTE_ARRAY",
             "RLE_DICTIONARY", "BYTE_STREAM_SPLIT"]
PAGES = ["DATA_PAGE", "INDEX_PAGE", "DICTIONARY_PAGE", "DATA_PAGE_V2"]


def describe(path):
    """What the file's own metadata and page headers say, per column."""
    b = Path(path).read_bytes()
    meta = _footer(b)
    pf = pq.ParquetFile(path)
    keys = [_get(kv, 1).decode() for kv in (_get(meta, 5) or (12, []))[1]]
    columns = {}
    for rg, cc, cmd in _chunks(meta):
        name = ".".join(p.decode() for p in _get(cmd, 3)[1])
        c = columns.setdefault(name, {"physical_type": PHYSICAL[_get(cmd, 1)], "codecs": set(),
                                      "encodings": set(), "page_types": set(),
                                      "page_encodings": set(), "lz4_hadoop_framed": set()})
        c["codecs"].add(CODECS[_get(cmd, 4)])
        c["encodings"].update(ENCODINGS[e] for e in _get(cmd, 2)[1])
        for header, at in _pages(b, cmd):
            kind = _get(header, 1)
            c["page_types"].add(PAGES[kind])
            if kind in (0, 3):
                sub = _get(header, 5 if kind == 0 else 8)
                c["page_encodings"].add(ENCODINGS[_get(sub, 2 if kind == 0 else 4)])
            if _get(cmd, 4) == 5:  # old LZ4: Hadoop frame or bare block?
                usize, csize = _get(header, 2), _get(header, 3)
                if kind == 3:  # v2 pages compress values only, after the levels
                    sub = _get(header, 8)
                    levels = _get(sub, 5, 0) + _get(sub, 6, 0)
                    at, usize, csize = at + levels, usize - levels, csize - levels
                frame = struct.unpack_from(">II", b, at) if csize >= 8 else (None, None)
                c["lz4_hadoop_framed"].add(frame == (usize, csize - 8))
    out = {}
    for i, (name, c) in enumerate(columns.items()):
        versions = {"DATA_PAGE": "1.0", "DATA_PAGE_V2": "2.0"}
        page_versions = sorted({versions[p] for p in c["page_types"] if p in versions})
        out[name] = {
            "physical_type": c["physical_type"],
            "logical_type": str(pf.schema.column(i).logical_type),
            "codec": "+".join(sorted(c["codecs"])),
            "encodings": sorted(c["encodings"]),
            "page_types": sorted(c["page_types"]),
            "data_page_encodings": sorted(c["page_encodings"]),
            "data_page_version": "+".join(page_versions),
            "arrow_type": str(pf.schema_arrow.field(name).type) if name in pf.schema_arrow.names else None,
        }
        if c["lz4_hadoop_framed"]:
            out[name]["lz4_hadoop_framed"] = all(c["lz4_hadoop_framed"])
    return {
        "created_by": _get(meta, 6, b"").decode(),
        "num_rows": _get(meta, 3),
        "row_group_rows": [_get(rg, 3) for rg in _get(meta, 4)[1]],
        "key_value_keys": keys,
        "arrow_schema_stored": "ARROW:schema" in keys,
        "columns": out,
    }


def describe_tree(root):
    root = Path(root)
    return {str(p.relative_to(root)): describe(p) for p in sorted(root.rglob("*.parquet"))}


def rewrite(variant, src, dst):
    src, dst = Path(src), Path(dst)
    if not src.is_dir():
        sys.exit(f"{src}: not a folder")
    if dst.exists():
        sys.exit(f"{dst}: already exists; refusing to write over it")
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("*.parquet"))
    try:
        for path in sorted(src.rglob("*.parquet")):
            VARIANTS[variant](path, dst / path.relative_to(src))
    except BaseException:
        shutil.rmtree(dst)
        raise


def main(args):
    show = "--describe" in args
    args = [a for a in args if a != "--describe"]
    if args == ["--list"]:
        print("\n".join(VARIANTS))
    elif show and len(args) == 1:
        print(json.dumps(describe_tree(args[0]), indent=1))
    elif len(args) == 3 and args[0] in VARIANTS:
        rewrite(*args)
        if show:
            print(json.dumps(describe_tree(args[2]), indent=1))
    else:
        sys.exit(__doc__.split("\n\n")[2] + "\n\nvariants: " + " ".join(VARIANTS))


if __name__ == "__main__":
    main(sys.argv[1:])
