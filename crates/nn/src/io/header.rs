//! A first, bounded pass over a safetensors header, before the `safetensors` crate parses it.
//! It caps what a hostile header can make the loader do: the header's size is limited, every
//! shape has at most [`MAX_DIMS`] dimensions (so parsing allocates a small multiple of the
//! file, never what the header claims), and a tensor named twice is refused (JSON allows a
//! repeated key, and the crate would keep the last one silently).

use serde::de::{Deserializer, Error as _, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::collections::HashSet;
use std::fmt;

/// The largest header accepted, in bytes: room for about 100,000 tensors.
pub const MAX_HEADER_BYTES: usize = 16 << 20;
/// The most dimensions a tensor in a weight file may have.
pub const MAX_DIMS: usize = 64;

/// Checks the header of safetensors `bytes`; the message says what is wrong.
pub(crate) fn check(bytes: &[u8]) -> Result<(), String> {
    let Some(length) = bytes.get(..8) else {
        return Err(format!("the file has {} bytes, fewer than the 8 that give the header's length", bytes.len()));
    };
    let claimed = u64::from_le_bytes(length.try_into().expect("8 bytes"));
    if claimed > MAX_HEADER_BYTES as u64 {
        return Err(format!("the header claims {claimed} bytes; at most {MAX_HEADER_BYTES} are accepted"));
    }
    let Some(header) = bytes.get(8..8 + claimed as usize) else {
        return Err(format!("the header claims {claimed} bytes, but only {} follow", bytes.len() - 8));
    };
    let mut json = serde_json::Deserializer::from_slice(header);
    json.deserialize_map(HeaderVisitor).map_err(|e| format!("invalid header: {e}"))?;
    json.end().map_err(|e| format!("invalid header: {e}"))
}

/// A name as it appears in a message: cut after 100 characters.
pub(crate) fn shown(name: &str) -> String {
    const SHOWN: usize = 100;
    match name.char_indices().nth(SHOWN) {
        Some((cut, _)) => format!("{}… ({} bytes)", &name[..cut], name.len()),
        None => name.to_string(),
    }
}

struct HeaderVisitor;

impl<'de> Visitor<'de> for HeaderVisitor {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of tensor entries")
    }
    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<(), M::Error> {
        let mut names = HashSet::new();
        while let Some(name) = map.next_key::<String>()? {
            if name == "__metadata__" {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            map.next_value::<Entry>()?;
            if names.contains(&name) {
                return Err(M::Error::custom(format!("tensor `{}` appears twice", shown(&name))));
            }
            names.insert(name);
        }
        Ok(())
    }
}

/// The part of a tensor entry checked here; the crate checks the rest.
#[derive(Deserialize)]
struct Entry {
    #[serde(rename = "shape")]
    _shape: Dims,
}

/// A shape, refused past [`MAX_DIMS`] dimensions without storing them.
struct Dims;

impl<'de> Deserialize<'de> for Dims {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_seq(DimsVisitor)
    }
}

struct DimsVisitor;

impl<'de> Visitor<'de> for DimsVisitor {
    type Value = Dims;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of dimensions")
    }
    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Dims, S::Error> {
        let mut count = 0;
        while seq.next_element::<u64>()?.is_some() {
            count += 1;
            if count > MAX_DIMS {
                return Err(S::Error::custom(format!("a shape has more than {MAX_DIMS} dimensions")));
            }
        }
        Ok(Dims)
    }
}
