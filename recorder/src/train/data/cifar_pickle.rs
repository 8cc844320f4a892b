//! A decoder of exactly the pickles CIFAR-10's python version is made of.
//!
//! Why it exists: `cifar-10-batches-py/` (what torchvision downloads and the
//! paper's code reads) holds pickled dicts whose `data` is a NumPy array, and
//! no pickle crate builds those (serde-pickle refuses the `GLOBAL`/`REDUCE`
//! of NumPy's reconstructor). The batches use a small, fixed part of pickle
//! protocol 2, so this module decodes that part and refuses everything else,
//! naming the byte offset and the opcode.
//!
//! Accepted, as found with `pickletools` on the official files' form (Python
//! 2's cPickle) and on Python 3's `pickle.dump(…, protocol=2)` with NumPy 2:
//!
//! - framing: `PROTO` (2 only), `STOP` (nothing may follow), `MARK`;
//! - scalars: `NONE`, `NEWFALSE`, `NEWTRUE`, `BININT1`, `BININT2`, `BININT`,
//!   `LONG1` (up to 64 bits);
//! - strings: `SHORT_BINSTRING`, `BINSTRING` (Python 2 `str`, kept as
//!   bytes), `BINUNICODE`;
//! - containers: `EMPTY_DICT`, `SETITEM`, `SETITEMS`, `EMPTY_LIST`, `APPEND`,
//!   `APPENDS`, `TUPLE`, `TUPLE1`, `TUPLE2`, `TUPLE3`;
//! - memo: `BINPUT`, `LONG_BINPUT`, `BINGET`, `LONG_BINGET`;
//! - objects: `GLOBAL` of `numpy.core.multiarray _reconstruct` (or NumPy 2's
//!   `numpy._core.multiarray`), `numpy ndarray`, `numpy dtype` and
//!   `_codecs encode` (Python 3 writes `bytes` at protocol 2 as
//!   `_codecs.encode(text, 'latin1')`), applied by `REDUCE`, and `BUILD` of
//!   an array's state `(1, shape, dtype, is_fortran, raw bytes)` and of a
//!   dtype's state.
//!
//! Arrays must be C-ordered `uint8` (`'u1'`); a second reference (`BINGET`)
//! to a list, dict or array is refused, since the batches hold none.

use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;

/// A decoded value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `None`.
    None,
    /// `False` / `True`.
    Bool(bool),
    /// An int (64 bits at most).
    Int(i64),
    /// Python 2 `str` or Python 3 `bytes`.
    Bytes(Rc<[u8]>),
    /// Python 3 `str` (Python 2 `unicode`).
    Str(Rc<str>),
    /// A list.
    List(Vec<Value>),
    /// A tuple.
    Tuple(Vec<Value>),
    /// A dict, in the pickle's order.
    Dict(Vec<(Value, Value)>),
    /// One of the accepted globals.
    Global(Global),
    /// `numpy.dtype('u1')`.
    DtypeU1,
    /// An ndarray made by `_reconstruct`, before its `BUILD`.
    NewArray,
    /// A built C-ordered uint8 array.
    Array {
        /// Its shape.
        shape: Vec<usize>,
        /// Its bytes, row-major.
        data: Rc<[u8]>,
    },
}

impl Value {
    /// The bytes of a `Bytes` or `Str`.
    pub fn as_text(&self) -> Option<&[u8]> {
        match self {
            Value::Bytes(b) => Some(b),
            Value::Str(s) => Some(s.as_bytes()),
            _ => None,
        }
    }

    /// The value of `key` (bytes or str) in a dict.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Dict(items) => items
                .iter()
                .find(|(k, _)| k.as_text() == Some(key.as_bytes()))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    fn as_int(&self) -> Option<i64> {
        match *self {
            Value::Int(i) => Some(i),
            Value::Bool(b) => Some(i64::from(b)),
            _ => None,
        }
    }
}

/// The globals the batches name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Global {
    /// `numpy.core.multiarray._reconstruct`.
    Reconstruct,
    /// `numpy.ndarray`.
    Ndarray,
    /// `numpy.dtype`.
    Dtype,
    /// `_codecs.encode`.
    Encode,
}

/// Why a pickle was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// The bytes end inside an opcode's argument or before `STOP`.
    Truncated,
    /// An opcode these files never use.
    UnknownOpcode,
    /// A `PROTO` other than 2.
    Protocol(u8),
    /// A `GLOBAL` other than the accepted ones.
    Global(String),
    /// An array of another dtype than uint8.
    Dtype(String),
    /// Anything else out of place (stack, memo, argument types…).
    Malformed(String),
}

/// A refusal, with where it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PickleError {
    /// Byte offset of the opcode (or of the end, when truncated).
    pub offset: usize,
    /// The opcode byte, when there is one.
    pub opcode: Option<u8>,
    /// What is wrong.
    pub kind: ErrorKind,
}

impl fmt::Display for PickleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.opcode {
            Some(op) => write!(
                f,
                "at byte {}, opcode {} (0x{op:02x}): ",
                self.offset,
                name(op)
            )?,
            None => write!(f, "at byte {}: ", self.offset)?,
        }
        match &self.kind {
            ErrorKind::Truncated => f.write_str("truncated pickle: the file ends too early"),
            ErrorKind::UnknownOpcode => {
                f.write_str("unknown opcode (not one CIFAR-10 python batches use)")
            }
            ErrorKind::Protocol(p) => write!(f, "pickle protocol {p}; the batches are protocol 2"),
            ErrorKind::Global(g) => write!(f, "unexpected global {g:?}"),
            ErrorKind::Dtype(d) => write!(
                f,
                "array of dtype {d:?}{}; CIFAR-10 pixels are uint8 ('u1')",
                if d.ends_with("f8") { " (float64)" } else { "" }
            ),
            ErrorKind::Malformed(what) => write!(f, "malformed pickle: {what}"),
        }
    }
}

impl std::error::Error for PickleError {}

/// The name `pickletools` gives an opcode (accepted ones and a few others).
pub fn name(op: u8) -> &'static str {
    match op {
        0x80 => "PROTO",
        b'.' => "STOP",
        b'(' => "MARK",
        b'N' => "NONE",
        0x88 => "NEWTRUE",
        0x89 => "NEWFALSE",
        b'K' => "BININT1",
        b'M' => "BININT2",
        b'J' => "BININT",
        0x8a => "LONG1",
        b'U' => "SHORT_BINSTRING",
        b'T' => "BINSTRING",
        b'X' => "BINUNICODE",
        b'}' => "EMPTY_DICT",
        b's' => "SETITEM",
        b'u' => "SETITEMS",
        b']' => "EMPTY_LIST",
        b'a' => "APPEND",
        b'e' => "APPENDS",
        b't' => "TUPLE",
        0x85 => "TUPLE1",
        0x86 => "TUPLE2",
        0x87 => "TUPLE3",
        b'q' => "BINPUT",
        b'r' => "LONG_BINPUT",
        b'h' => "BINGET",
        b'j' => "LONG_BINGET",
        b'c' => "GLOBAL",
        b'R' => "REDUCE",
        b'b' => "BUILD",
        b')' => "EMPTY_TUPLE",
        b'G' => "BINFLOAT",
        b'B' => "BINBYTES",
        b'C' => "SHORT_BINBYTES",
        0x8c => "SHORT_BINUNICODE",
        0x93 => "STACK_GLOBAL",
        0x94 => "MEMOIZE",
        0x95 => "FRAME",
        _ => "?",
    }
}

struct Decoder<'a> {
    bytes: &'a [u8],
    pos: usize,
    at: usize,
    op: u8,
    stack: Vec<Value>,
    marks: Vec<usize>,
    memo: HashMap<u32, Value>,
}

/// Decodes one pickle, which must be all of `bytes`.
pub fn decode(bytes: &[u8]) -> Result<Value, PickleError> {
    let mut d = Decoder {
        bytes,
        pos: 0,
        at: 0,
        op: 0,
        stack: Vec::new(),
        marks: Vec::new(),
        memo: HashMap::new(),
    };
    loop {
        if d.pos >= bytes.len() {
            return Err(PickleError {
                offset: bytes.len(),
                opcode: None,
                kind: ErrorKind::Truncated,
            });
        }
        if let Some(value) = d.step()? {
            return Ok(value);
        }
    }
}

impl<'a> Decoder<'a> {
    fn err(&self, kind: ErrorKind) -> PickleError {
        PickleError {
            offset: self.at,
            opcode: Some(self.op),
            kind,
        }
    }

    fn bad<T>(&self, what: impl Into<String>) -> Result<T, PickleError> {
        Err(self.err(ErrorKind::Malformed(what.into())))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], PickleError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or_else(|| self.err(ErrorKind::Truncated))?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, PickleError> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<u32, PickleError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn line(&mut self) -> Result<&'a str, PickleError> {
        let rest = &self.bytes[self.pos..];
        let n = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| self.err(ErrorKind::Truncated))?;
        let line = std::str::from_utf8(self.take(n + 1)?)
            .map_err(|_| self.err(ErrorKind::Malformed("GLOBAL name is not UTF-8".into())))?;
        Ok(&line[..n])
    }

    fn pop(&mut self) -> Result<Value, PickleError> {
        match self.stack.pop() {
            Some(v) if self.marks.last().is_none_or(|&m| self.stack.len() >= m) => Ok(v),
            _ => self.bad("stack empty"),
        }
    }

    fn pop_mark(&mut self) -> Result<Vec<Value>, PickleError> {
        match self.marks.pop() {
            Some(m) => Ok(self.stack.split_off(m)),
            None => self.bad("no MARK"),
        }
    }

    fn top_ref(&self) -> Result<&Value, PickleError> {
        match self.stack.last() {
            Some(v) if self.marks.last() != Some(&self.stack.len()) => Ok(v),
            _ => self.bad("stack empty"),
        }
    }

    fn top(&mut self) -> Result<&mut Value, PickleError> {
        self.top_ref()?;
        Ok(self.stack.last_mut().expect("checked"))
    }

    fn tuple(&mut self, n: usize) -> Result<(), PickleError> {
        let mut items = Vec::with_capacity(n);
        for _ in 0..n {
            items.push(self.pop()?);
        }
        items.reverse();
        self.stack.push(Value::Tuple(items));
        Ok(())
    }

    fn put(&mut self, idx: u32) -> Result<(), PickleError> {
        let v = self.top_ref()?.clone();
        self.memo.insert(idx, v);
        Ok(())
    }

    fn get(&mut self, idx: u32) -> Result<(), PickleError> {
        match self.memo.get(&idx) {
            Some(Value::List(_) | Value::Dict(_) | Value::NewArray | Value::Array { .. }) => {
                self.bad("a second reference to a list, dict or array")
            }
            Some(v) => {
                self.stack.push(v.clone());
                Ok(())
            }
            None => self.bad(format!("memo {idx} was never stored")),
        }
    }

    fn step(&mut self) -> Result<Option<Value>, PickleError> {
        self.at = self.pos;
        self.op = self.bytes[self.pos];
        self.pos += 1;
        let value = match self.op {
            0x80 => match self.u8()? {
                2 => return Ok(None),
                p => return Err(self.err(ErrorKind::Protocol(p))),
            },
            b'.' => {
                let v = self.pop()?;
                if !self.stack.is_empty() || !self.marks.is_empty() {
                    return self.bad("values left on the stack at STOP");
                }
                if self.pos != self.bytes.len() {
                    let n = self.bytes.len() - self.pos;
                    return self.bad(format!("{n} bytes after STOP"));
                }
                return Ok(Some(v));
            }
            b'(' => {
                self.marks.push(self.stack.len());
                return Ok(None);
            }
            b'N' => Value::None,
            0x88 => Value::Bool(true),
            0x89 => Value::Bool(false),
            b'K' => Value::Int(i64::from(self.u8()?)),
            b'M' => {
                let b = self.take(2)?;
                Value::Int(i64::from(u16::from_le_bytes([b[0], b[1]])))
            }
            b'J' => Value::Int(i64::from(self.u32()? as i32)),
            0x8a => {
                let n = usize::from(self.u8()?);
                let b = self.take(n)?;
                if n > 8 {
                    return self.bad("integer wider than 64 bits");
                }
                let fill = if b.last().is_some_and(|&x| x >= 0x80) {
                    0xff
                } else {
                    0
                };
                let mut le = [fill; 8];
                le[..n].copy_from_slice(b);
                Value::Int(i64::from_le_bytes(le))
            }
            b'U' => {
                let n = usize::from(self.u8()?);
                Value::Bytes(self.take(n)?.into())
            }
            b'T' => {
                let n = self.u32()? as i32;
                let n = usize::try_from(n).or_else(|_| self.bad("negative length"))?;
                Value::Bytes(self.take(n)?.into())
            }
            b'X' => {
                let n = self.u32()? as usize;
                match std::str::from_utf8(self.take(n)?) {
                    Ok(s) => Value::Str(s.into()),
                    Err(_) => return self.bad("BINUNICODE is not UTF-8"),
                }
            }
            b'}' => Value::Dict(Vec::new()),
            b']' => Value::List(Vec::new()),
            b'a' | b'e' => {
                let items = if self.op == b'a' {
                    vec![self.pop()?]
                } else {
                    self.pop_mark()?
                };
                match self.top()? {
                    Value::List(list) => list.extend(items),
                    _ => return self.bad("append to a non-list"),
                }
                return Ok(None);
            }
            b's' | b'u' => {
                let items = if self.op == b's' {
                    let v = self.pop()?;
                    vec![self.pop()?, v]
                } else {
                    self.pop_mark()?
                };
                if items.len() % 2 != 0 {
                    return self.bad("odd number of items for SETITEMS");
                }
                let mut it = items.into_iter();
                match self.top()? {
                    Value::Dict(dict) => {
                        while let (Some(k), Some(v)) = (it.next(), it.next()) {
                            dict.push((k, v));
                        }
                    }
                    _ => return self.bad("set item of a non-dict"),
                }
                return Ok(None);
            }
            b't' => Value::Tuple(self.pop_mark()?),
            0x85..=0x87 => return self.tuple(usize::from(self.op - 0x84)).map(|()| None),
            b'q' => {
                return self
                    .u8()
                    .and_then(|i| self.put(u32::from(i)))
                    .map(|()| None)
            }
            b'r' => return self.u32().and_then(|i| self.put(i)).map(|()| None),
            b'h' => {
                return self
                    .u8()
                    .and_then(|i| self.get(u32::from(i)))
                    .map(|()| None)
            }
            b'j' => return self.u32().and_then(|i| self.get(i)).map(|()| None),
            b'c' => {
                let (module, name) = (self.line()?, self.line()?);
                Value::Global(match (module, name) {
                    ("numpy.core.multiarray" | "numpy._core.multiarray", "_reconstruct") => {
                        Global::Reconstruct
                    }
                    ("numpy", "ndarray") => Global::Ndarray,
                    ("numpy", "dtype") => Global::Dtype,
                    ("_codecs", "encode") => Global::Encode,
                    _ => return Err(self.err(ErrorKind::Global(format!("{module}.{name}")))),
                })
            }
            b'R' => {
                let args = self.pop()?;
                let func = self.pop()?;
                self.reduce(func, args)?
            }
            b'b' => {
                let state = self.pop()?;
                let built = self.build(state)?;
                *self.top()? = built;
                return Ok(None);
            }
            _ => return Err(self.err(ErrorKind::UnknownOpcode)),
        };
        self.stack.push(value);
        Ok(None)
    }

    fn reduce(&self, func: Value, args: Value) -> Result<Value, PickleError> {
        let Value::Tuple(args) = args else {
            return self.bad("REDUCE arguments are not a tuple");
        };
        match (func, args.as_slice()) {
            (Value::Global(Global::Reconstruct), [Value::Global(Global::Ndarray), ..]) => {
                Ok(Value::NewArray)
            }
            (Value::Global(Global::Dtype), [descr, align, copy])
                if align.as_int().is_some() && copy.as_int().is_some() =>
            {
                match descr.as_text() {
                    Some(b"u1") => Ok(Value::DtypeU1),
                    Some(d) => Err(self.err(ErrorKind::Dtype(String::from_utf8_lossy(d).into()))),
                    None => self.bad("dtype descriptor is not a string"),
                }
            }
            (Value::Global(Global::Encode), [Value::Str(text), enc])
                if enc.as_text() == Some(b"latin1") =>
            {
                match latin1(text) {
                    Some(b) => Ok(Value::Bytes(b.into())),
                    None => self.bad("_codecs.encode text has characters above U+00FF"),
                }
            }
            (func, args) => self.bad(format!(
                "cannot call {func:?} with {} arguments",
                args.len()
            )),
        }
    }

    fn build(&self, state: Value) -> Result<Value, PickleError> {
        let Value::Tuple(state) = state else {
            return self.bad("BUILD state is not a tuple");
        };
        match (self.top_ref()?, state.as_slice()) {
            (Value::DtypeU1, _) => Ok(Value::DtypeU1),
            (Value::NewArray, [version, Value::Tuple(shape), Value::DtypeU1, fortran, data]) => {
                if version.as_int() != Some(1) {
                    return self.bad("ndarray state version is not 1");
                }
                let shape: Option<Vec<usize>> = shape
                    .iter()
                    .map(|d| d.as_int().and_then(|i| usize::try_from(i).ok()))
                    .collect();
                let Some(shape) = shape else {
                    return self.bad("ndarray shape is not a tuple of sizes");
                };
                if fortran.as_int() != Some(0) && shape.len() > 1 {
                    return self.bad("Fortran-ordered array");
                }
                let (Value::Bytes(data), Some(n)) = (
                    data,
                    shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d)),
                ) else {
                    return self.bad("ndarray data is not bytes");
                };
                if data.len() != n {
                    let m = data.len();
                    return self.bad(format!("ndarray of {shape:?} holds {m} bytes, not {n}"));
                }
                let data = Rc::clone(data);
                Ok(Value::Array { shape, data })
            }
            (Value::NewArray, _) => {
                self.bad("ndarray state is not (1, shape, uint8 dtype, fortran, bytes)")
            }
            (other, _) => self.bad(format!("BUILD of {other:?}")),
        }
    }
}

/// `text.encode('latin1')`, or `None` past U+00FF. A loop over the UTF-8
/// bytes (U+0080..U+00FF are C2/C3 and one continuation byte): tens of MB of
/// pixels arrive this way from Python 3 pickles, and `chars()` is slow in
/// debug builds.
fn latin1(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.as_bytes().iter();
    while let Some(&b) = bytes.next() {
        match b {
            0..=0x7f => out.push(b),
            0xc2 | 0xc3 => out.push(((b & 0x03) << 6) | (bytes.next()? & 0x3f)),
            _ => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(bytes: &[u8]) -> PickleError {
        decode(bytes).unwrap_err()
    }

    #[test]
    fn small_pickles_decode() {
        // {b'k': [1, -2, 70000, 2**40, -1], b'k': None}: the second key is a
        // LONG_BINGET of the first (LONG_BINPUT 256); APPENDS, APPEND, LONG1
        // and SETITEM.
        let mut p = b"\x80\x02}q\x00U\x01kr\x00\x01\x00\x00]q\x01(K\x01J\xfe\xff\xff\xff".to_vec();
        p.extend(b"J\x70\x11\x01\x00e\x8a\x06\x00\x00\x00\x00\x00\x01a\x8a\x01\xffas");
        p.extend(b"j\x00\x01\x00\x00Ns.");
        let v = decode(&p).unwrap();
        let ints = [1, -2, 70_000, 1 << 40, -1].map(Value::Int).to_vec();
        assert_eq!(v.get("k"), Some(&Value::List(ints)));
        let Value::Dict(items) = &v else {
            panic!("{v:?}")
        };
        assert_eq!(
            items[1],
            (Value::Bytes(b"k".as_slice().into()), Value::None)
        );
    }

    #[test]
    fn refusals_name_offset_and_opcode() {
        let e = err(b"\x80\x02}q\x00(G");
        assert_eq!(
            (e.offset, e.opcode, &e.kind),
            (6, Some(b'G'), &ErrorKind::UnknownOpcode)
        );
        assert!(
            e.to_string().contains("at byte 6, opcode BINFLOAT (0x47)"),
            "{e}"
        );
        let e = err(b"\x80\x02T\x10\x00\x00\x00abc");
        assert_eq!((e.offset, e.kind), (2, ErrorKind::Truncated));
        assert_eq!(err(b"\x80\x02N").offset, 3);
        assert_eq!(err(b"\x80\x04N.").kind, ErrorKind::Protocol(4));
        let e = err(b"\x80\x02cos\nsystem\n.");
        assert_eq!(e.kind, ErrorKind::Global("os.system".into()));
        assert!(matches!(err(b"\x80\x02N.N").kind, ErrorKind::Malformed(_)));
        assert!(matches!(err(b"\x80\x02(e.").kind, ErrorKind::Malformed(_)));
        let e = err(b"\x80\x02]q\x00h\x00.");
        assert!(e.to_string().contains("second reference"), "{e}");
    }

    #[test]
    fn latin1_bytes_and_float_dtype() {
        // _codecs.encode('\xff\x00', 'latin1') as Python 3 writes b'\xff\x00'.
        let p =
            b"\x80\x02c_codecs\nencode\nX\x03\x00\x00\x00\xc3\xbf\x00X\x06\x00\x00\x00latin1\x86R.";
        assert_eq!(decode(p).unwrap(), Value::Bytes(vec![0xff, 0].into()));
        let all: String = (0..=255u8).map(char::from).collect();
        assert_eq!(latin1(&all), Some((0..=255).collect()));
        assert_eq!(latin1("\u{100}"), None);
        let p = b"\x80\x02cnumpy\ndtype\nU\x02f8K\x00K\x01\x87R.";
        let e = err(p);
        assert_eq!(
            (e.offset, e.kind.clone()),
            (24, ErrorKind::Dtype("f8".into()))
        );
        assert!(e.to_string().contains("float64"), "{e}");
    }
}
