//! The few protocol-buffer encodings an ONNX file needs (varints, length-delimited fields,
//! packed repeated integers, 32-bit floats), written by hand: ONNX's messages are plain
//! protobuf, and these five field writers are all the exporter uses.

/// A protobuf message being written, field by field.
#[derive(Default)]
pub(crate) struct Message(Vec<u8>);

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

impl Message {
    fn key(&mut self, field: u32, wire: u8) {
        varint(&mut self.0, (u64::from(field) << 3) | u64::from(wire));
    }
    /// An integer field (`int64`, `int32`, enum): negative values take ten bytes, as protobuf
    /// encodes them.
    pub(crate) fn int(&mut self, field: u32, v: i64) -> &mut Self {
        self.key(field, 0);
        varint(&mut self.0, v as u64);
        self
    }
    /// A `float` field.
    pub(crate) fn float(&mut self, field: u32, v: f32) -> &mut Self {
        self.key(field, 5);
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    /// A `bytes` field.
    pub(crate) fn bytes(&mut self, field: u32, bytes: &[u8]) -> &mut Self {
        self.key(field, 2);
        varint(&mut self.0, bytes.len() as u64);
        self.0.extend_from_slice(bytes);
        self
    }
    /// A `string` field.
    pub(crate) fn string(&mut self, field: u32, s: &str) -> &mut Self {
        self.bytes(field, s.as_bytes())
    }
    /// An embedded message.
    pub(crate) fn message(&mut self, field: u32, m: &Message) -> &mut Self {
        self.bytes(field, &m.0)
    }
    /// A packed `repeated int64` field.
    pub(crate) fn ints(&mut self, field: u32, values: &[i64]) -> &mut Self {
        let mut packed = Vec::new();
        for &v in values {
            varint(&mut packed, v as u64);
        }
        self.bytes(field, &packed)
    }
    /// The encoded bytes.
    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}
