//! Entry points for the fuzz targets in the repository's `fuzz/` folder (feature `fuzzing`).
//!
//! Not part of the API: these reach internals the fuzzers exercise (the centralized sampler's
//! response handling, the JSON writer, the datagram packer) without a network. They may change
//! at any time.

use crate::emit::json::{self, SegmentDefaults};
use crate::emit::pack::{self, Sink};
use crate::emit::{DAEMON_HEADER, Datagram};
use crate::model::Document;

#[cfg(feature = "centralized-sampling")]
pub use crate::sampling::centralized::fuzzing::{
    sampling_rules_response, sampling_targets_response,
};

/// The document as the recorder writes it (independent subsegment or embedded form).
pub fn write_document(doc: &Document) -> Vec<u8> {
    let mut out = Vec::new();
    json::write_document(&mut out, doc);
    out
}

/// The document as the recorder writes a segment, with empty recorder defaults.
pub fn write_segment(doc: &Document) -> Vec<u8> {
    let mut out = Vec::new();
    json::write_segment(&mut out, doc, &SegmentDefaults::default());
    out
}

/// What `pack` produced.
#[derive(Debug, Default)]
pub struct Packed {
    /// Every datagram, header line included, with its `streamed` and `truncated` flags.
    pub datagrams: Vec<(Vec<u8>, bool, bool)>,
    /// Names of the documents dropped because they could not be made to fit.
    pub oversize: Vec<String>,
}

impl Sink for Packed {
    fn datagram(&mut self, datagram: Datagram<'_>, streamed: bool, truncated: bool) {
        self.datagrams
            .push((datagram.bytes().to_vec(), streamed, truncated));
    }

    fn oversize(&mut self, name: &str, _bytes: usize, _streamed: bool) {
        self.oversize.push(name.to_owned());
    }
}

/// Splits and truncates `doc` into datagrams of at most `limit` bytes, as the recorder does.
pub fn pack(doc: Document, limit: usize) -> Packed {
    let mut packed = Packed::default();
    pack::pack(doc, limit, &SegmentDefaults::default(), &mut packed);
    packed
}

/// The daemon header line every datagram starts with.
pub const HEADER: &[u8] = DAEMON_HEADER;
