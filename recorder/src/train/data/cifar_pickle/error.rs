//! Why the CIFAR-10 pickle decoder refused a file, and the opcode names
//! its messages use.
//!
//! Kept apart from the decoder so the interpreter reads as opcodes only;
//! every refusal names the byte offset and the opcode (as `pickletools`
//! names it) where decoding stopped.

use std::fmt;

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
