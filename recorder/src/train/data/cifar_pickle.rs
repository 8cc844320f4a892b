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

mod error;

pub use error::{name, ErrorKind, PickleError};
use std::collections::HashMap;
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

    /// Runs the opcode at `pos`; the decoded value once `STOP` is reached.
    fn step(&mut self) -> Result<Option<Value>, PickleError> {
        self.at = self.pos;
        self.op = self.bytes[self.pos];
        self.pos += 1;
        match self.op {
            0x80 => self.proto().map(|()| None),
            b'.' => self.stop().map(Some),
            b'(' => {
                self.marks.push(self.stack.len());
                Ok(None)
            }
            b'N' | 0x88 | 0x89 | b'K' | b'M' | b'J' | 0x8a => self.scalar().map(|()| None),
            b'U' | b'T' | b'X' => self.string().map(|()| None),
            b'}' | b']' | b't' | 0x85..=0x87 => self.new_container().map(|()| None),
            b'a' | b'e' => self.append().map(|()| None),
            b's' | b'u' => self.set_items().map(|()| None),
            b'q' | b'r' | b'h' | b'j' => self.memo_op().map(|()| None),
            b'c' => self.global().map(|()| None),
            b'R' => {
                let args = self.pop()?;
                let func = self.pop()?;
                let value = self.reduce(func, args)?;
                self.stack.push(value);
                Ok(None)
            }
            b'b' => {
                let state = self.pop()?;
                let built = self.build(state)?;
                *self.top()? = built;
                Ok(None)
            }
            _ => Err(self.err(ErrorKind::UnknownOpcode)),
        }
    }

    /// `PROTO`: only protocol 2.
    fn proto(&mut self) -> Result<(), PickleError> {
        match self.u8()? {
            2 => Ok(()),
            p => Err(self.err(ErrorKind::Protocol(p))),
        }
    }

    /// `STOP`: the one value left, which must end the bytes.
    fn stop(&mut self) -> Result<Value, PickleError> {
        let v = self.pop()?;
        if !self.stack.is_empty() || !self.marks.is_empty() {
            return self.bad("values left on the stack at STOP");
        }
        if self.pos != self.bytes.len() {
            let n = self.bytes.len() - self.pos;
            return self.bad(format!("{n} bytes after STOP"));
        }
        Ok(v)
    }

    /// `NONE`, `NEWTRUE`, `NEWFALSE`, `BININT1`, `BININT2`, `BININT`, `LONG1`.
    fn scalar(&mut self) -> Result<(), PickleError> {
        let value = match self.op {
            b'N' => Value::None,
            0x88 => Value::Bool(true),
            0x89 => Value::Bool(false),
            b'K' => Value::Int(i64::from(self.u8()?)),
            b'M' => {
                let b = self.take(2)?;
                Value::Int(i64::from(u16::from_le_bytes([b[0], b[1]])))
            }
            b'J' => Value::Int(i64::from(self.u32()? as i32)),
            0x8a => self.long1()?,
            _ => return Err(self.err(ErrorKind::UnknownOpcode)),
        };
        self.stack.push(value);
        Ok(())
    }

    /// `LONG1`: a little-endian two's-complement int of up to 8 bytes.
    fn long1(&mut self) -> Result<Value, PickleError> {
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
        Ok(Value::Int(i64::from_le_bytes(le)))
    }

    /// `SHORT_BINSTRING`, `BINSTRING` (as bytes) and `BINUNICODE`.
    fn string(&mut self) -> Result<(), PickleError> {
        let value = match self.op {
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
            _ => return Err(self.err(ErrorKind::UnknownOpcode)),
        };
        self.stack.push(value);
        Ok(())
    }

    /// `EMPTY_DICT`, `EMPTY_LIST`, `TUPLE`, `TUPLE1`, `TUPLE2`, `TUPLE3`.
    fn new_container(&mut self) -> Result<(), PickleError> {
        let value = match self.op {
            b'}' => Value::Dict(Vec::new()),
            b']' => Value::List(Vec::new()),
            b't' => Value::Tuple(self.pop_mark()?),
            0x85..=0x87 => return self.tuple(usize::from(self.op - 0x84)),
            _ => return Err(self.err(ErrorKind::UnknownOpcode)),
        };
        self.stack.push(value);
        Ok(())
    }

    /// `APPEND` (one item) and `APPENDS` (the items above the mark).
    fn append(&mut self) -> Result<(), PickleError> {
        let items = if self.op == b'a' {
            vec![self.pop()?]
        } else {
            self.pop_mark()?
        };
        match self.top()? {
            Value::List(list) => list.extend(items),
            _ => return self.bad("append to a non-list"),
        }
        Ok(())
    }

    /// `SETITEM` (one pair) and `SETITEMS` (the pairs above the mark).
    fn set_items(&mut self) -> Result<(), PickleError> {
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
        Ok(())
    }

    /// `BINPUT`, `LONG_BINPUT`, `BINGET`, `LONG_BINGET`.
    fn memo_op(&mut self) -> Result<(), PickleError> {
        match self.op {
            b'q' => self.u8().and_then(|i| self.put(u32::from(i))),
            b'r' => self.u32().and_then(|i| self.put(i)),
            b'h' => self.u8().and_then(|i| self.get(u32::from(i))),
            b'j' => self.u32().and_then(|i| self.get(i)),
            _ => Err(self.err(ErrorKind::UnknownOpcode)),
        }
    }

    /// `GLOBAL`: one of the accepted globals, by module and name.
    fn global(&mut self) -> Result<(), PickleError> {
        let (module, name) = (self.line()?, self.line()?);
        let global = match (module, name) {
            ("numpy.core.multiarray" | "numpy._core.multiarray", "_reconstruct") => {
                Global::Reconstruct
            }
            ("numpy", "ndarray") => Global::Ndarray,
            ("numpy", "dtype") => Global::Dtype,
            ("_codecs", "encode") => Global::Encode,
            _ => return Err(self.err(ErrorKind::Global(format!("{module}.{name}")))),
        };
        self.stack.push(Value::Global(global));
        Ok(())
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
mod tests;
