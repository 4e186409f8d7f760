//! Counters of what the receiver did with each datagram.

use std::fmt;

use serde::Serialize;
use serde::ser::{SerializeStruct, Serializer};

use crate::datagram::RejectKind;

/// Rejected datagrams by [`RejectKind`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RejectCounts {
    /// Not valid UTF-8.
    pub not_utf8: u64,
    /// No header line.
    pub missing_header: u64,
    /// A header line with the wrong format or version.
    pub bad_header: u64,
    /// Nothing after the header line.
    pub empty_body: u64,
    /// JSON cut short.
    pub truncated_json: u64,
    /// Not JSON.
    pub malformed_json: u64,
    /// JSON that is not a usable segment document.
    pub invalid_document: u64,
    /// Over the size limit.
    pub oversized: u64,
}

impl RejectCounts {
    fn slot(&mut self, kind: RejectKind) -> &mut u64 {
        match kind {
            RejectKind::NotUtf8 => &mut self.not_utf8,
            RejectKind::MissingHeader => &mut self.missing_header,
            RejectKind::BadHeader => &mut self.bad_header,
            RejectKind::EmptyBody => &mut self.empty_body,
            RejectKind::TruncatedJson => &mut self.truncated_json,
            RejectKind::MalformedJson => &mut self.malformed_json,
            RejectKind::InvalidDocument => &mut self.invalid_document,
            RejectKind::Oversized => &mut self.oversized,
        }
    }

    pub(crate) fn add(&mut self, kind: RejectKind) {
        *self.slot(kind) += 1;
    }

    /// The count for one kind.
    pub fn get(&self, kind: RejectKind) -> u64 {
        let mut copy = *self;
        *copy.slot(kind)
    }

    /// All rejected datagrams.
    pub fn total(&self) -> u64 {
        RejectKind::ALL.iter().map(|k| self.get(*k)).sum()
    }

    /// The kinds with a non-zero count, with their counts.
    pub fn iter(&self) -> impl Iterator<Item = (RejectKind, u64)> + '_ {
        RejectKind::ALL
            .into_iter()
            .map(|k| (k, self.get(k)))
            .filter(|(_, n)| *n > 0)
    }
}

impl Serialize for RejectCounts {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("RejectCounts", 9)?;
        st.serialize_field("total", &self.total())?;
        for kind in RejectKind::ALL {
            st.serialize_field(kind.as_str(), &self.get(kind))?;
        }
        st.end()
    }
}

/// What the receiver has done since it started.
///
/// Every datagram is either a document (`documents`) or rejected (`rejected`), so
/// `datagrams == documents + rejected.total()`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ReceiverStats {
    /// Datagrams received.
    pub datagrams: u64,
    /// Documents accepted.
    pub documents: u64,
    /// Of `documents`, segments.
    pub segments: u64,
    /// Of `documents`, independent subsegments.
    pub subsegments: u64,
    /// Of `documents`, in-progress versions (no `end_time` yet).
    pub in_progress: u64,
    /// Of `documents`, documents accepted with fields left out because they did not fit the
    /// segment document model (for example a `content_length` given as a string).
    pub repaired: u64,
    /// Entity versions replaced by a later version (usually in-progress ones by the completed
    /// one).
    pub replaced: u64,
    /// In-progress versions that arrived after the completed version and were ignored.
    pub ignored: u64,
    /// Entities dropped because their trace had reached the entity limit.
    pub dropped_entities: u64,
    /// Distinct traces started.
    pub traces: u64,
    /// Times a trace finished (a trace reopened by a late document finishes again).
    pub traces_finished: u64,
    /// Traces forgotten to stay within the trace limit.
    pub traces_evicted: u64,
    /// Rejected datagrams by kind.
    pub rejected: RejectCounts,
}

impl fmt::Display for ReceiverStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} datagrams: {} documents ({} segments, {} independent subsegments), {} traces",
            self.datagrams, self.documents, self.segments, self.subsegments, self.traces
        )?;
        if self.repaired > 0 {
            write!(f, ", {} repaired", self.repaired)?;
        }
        let rejected = self.rejected.total();
        if rejected > 0 {
            write!(f, ", {rejected} rejected (")?;
            for (i, (kind, n)) in self.rejected.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{n} {kind}")?;
            }
            f.write_str(")")?;
        }
        Ok(())
    }
}
