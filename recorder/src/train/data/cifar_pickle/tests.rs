//! Tests of the CIFAR-10 pickle decoder on hand-written pickles, kept
//! beside it so the decoder's file holds the decoder only.

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
    let p = b"\x80\x02c_codecs\nencode\nX\x03\x00\x00\x00\xc3\xbf\x00X\x06\x00\x00\x00latin1\x86R.";
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
