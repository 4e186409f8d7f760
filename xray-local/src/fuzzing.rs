//! Entry points for the fuzz targets in the repository's `fuzz/` folder (feature `fuzzing`).
//!
//! Not part of the API; may change at any time.

use xray_core::model::Document;

use crate::datagram::{self, Rejection};

/// Parses one datagram as the receiver does: framing, header line, then the document (strictly,
/// then leniently). Returns the document and the paths of the fields the lenient path left out.
///
/// # Errors
///
/// The [`Rejection`] the receiver would count.
pub fn parse_datagram(
    datagram: &[u8],
    max_bytes: usize,
) -> Result<(Document, Vec<String>), Rejection> {
    datagram::parse(datagram, max_bytes).map(|p| (p.doc, p.repaired))
}
