//! Trace and segment identifiers.
//!
//! A [`TraceId`] is `1-<8 hex digits of epoch seconds>-<24 random hex digits>`; a [`SegmentId`] is
//! 16 random hex digits. Both are generated from the thread-local, cryptographically seeded
//! generator of the `rand` crate: no system call and no lock per id, and unpredictable enough that
//! an attacker cannot guess a trace id from a response header.

use std::fmt;
use std::str::FromStr;

use rand::Rng;

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Length of a formatted trace id: `1-` + 8 + `-` + 24.
pub const TRACE_ID_LEN: usize = 35;
/// Length of a formatted segment id.
pub const SEGMENT_ID_LEN: usize = 16;

/// An X-Ray trace id, such as `1-58406520-a006649127e371903a2de979`.
///
/// # Examples
///
/// ```
/// use xray_core::TraceId;
///
/// let id: TraceId = "1-58406520-a006649127e371903a2de979".parse()?;
/// assert_eq!(id.epoch_seconds(), 0x58406520);
/// assert_eq!(id.to_string(), "1-58406520-a006649127e371903a2de979");
///
/// let fresh = TraceId::new();
/// assert_eq!(fresh.to_string().len(), 35);
/// # Ok::<(), xray_core::IdParseError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TraceId {
    epoch: u32,
    random: [u8; 12],
}

impl TraceId {
    /// Creates a trace id for a trace starting now.
    pub fn new() -> Self {
        // Whole seconds are all the id needs: the coarse clock costs a few nanoseconds where a
        // precise wall-clock read costs tens, which matters for unsampled requests.
        use crate::sampling::Clock as _;
        Self::with_epoch(crate::sampling::SystemClock.now().as_secs() as u32)
    }

    /// Creates a trace id with the given start time (Unix seconds) and a random part.
    pub fn with_epoch(epoch_seconds: u32) -> Self {
        let mut rng = rand::rng();
        let (hi, lo): (u64, u32) = (rng.random(), rng.random());
        let mut random = [0u8; 12];
        random[..8].copy_from_slice(&hi.to_ne_bytes());
        random[8..].copy_from_slice(&lo.to_ne_bytes());
        Self {
            epoch: epoch_seconds,
            random,
        }
    }

    /// Builds a trace id from its two parts.
    pub const fn from_parts(epoch_seconds: u32, random: [u8; 12]) -> Self {
        Self {
            epoch: epoch_seconds,
            random,
        }
    }

    /// The start time of the trace, in Unix seconds.
    pub const fn epoch_seconds(&self) -> u32 {
        self.epoch
    }

    /// The 96-bit random part.
    pub const fn random(&self) -> [u8; 12] {
        self.random
    }

    /// The id as a 128-bit number (epoch in the high 32 bits), as W3C/OpenTelemetry trace ids
    /// carry it.
    pub fn to_u128(&self) -> u128 {
        let mut bytes = [0u8; 16];
        bytes[..4].copy_from_slice(&self.epoch.to_be_bytes());
        bytes[4..].copy_from_slice(&self.random);
        u128::from_be_bytes(bytes)
    }

    /// The inverse of [`TraceId::to_u128`].
    pub fn from_u128(value: u128) -> Self {
        let bytes = value.to_be_bytes();
        let mut random = [0u8; 12];
        random.copy_from_slice(&bytes[4..]);
        Self {
            epoch: u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]),
            random,
        }
    }

    /// Writes the formatted id into a fixed buffer, without allocating.
    pub fn encode(&self) -> [u8; TRACE_ID_LEN] {
        let mut out = [0u8; TRACE_ID_LEN];
        out[0] = b'1';
        out[1] = b'-';
        hex_into(&self.epoch.to_be_bytes(), &mut out[2..10]);
        out[10] = b'-';
        hex_into(&self.random, &mut out[11..35]);
        out
    }

    /// Parses a trace id.
    ///
    /// Accepts upper- or lower-case hex and, like the OpenTelemetry propagator, an epoch part with
    /// leading zeros dropped. The version must be `1`.
    ///
    /// # Errors
    ///
    /// Returns [`IdParseError`] when the text is not a version-1 trace id.
    pub fn parse(s: &str) -> Result<Self, IdParseError> {
        let bytes = s.as_bytes();
        if bytes.len() > TRACE_ID_LEN || bytes.len() < 28 {
            return Err(IdParseError::new(IdKind::Trace));
        }
        if bytes[0] != b'1' || bytes[1] != b'-' {
            return Err(IdParseError::new(IdKind::Trace));
        }
        let rest = &bytes[2..];
        let dash = rest
            .iter()
            .position(|&b| b == b'-')
            .ok_or(IdParseError::new(IdKind::Trace))?;
        let (epoch_hex, random_hex) = (&rest[..dash], &rest[dash + 1..]);
        if epoch_hex.is_empty() || epoch_hex.len() > 8 || random_hex.len() != 24 {
            return Err(IdParseError::new(IdKind::Trace));
        }
        let mut epoch: u32 = 0;
        for &b in epoch_hex {
            epoch = (epoch << 4) | u32::from(hex_val(b).ok_or(IdParseError::new(IdKind::Trace))?);
        }
        let mut random = [0u8; 12];
        for (i, pair) in random_hex.chunks_exact(2).enumerate() {
            let hi = hex_val(pair[0]).ok_or(IdParseError::new(IdKind::Trace))?;
            let lo = hex_val(pair[1]).ok_or(IdParseError::new(IdKind::Trace))?;
            random[i] = (hi << 4) | lo;
        }
        Ok(Self { epoch, random })
    }
}

impl Default for TraceId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let buf = self.encode();
        // The buffer only ever holds ASCII hex digits and dashes.
        f.write_str(std::str::from_utf8(&buf).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TraceId({self})")
    }
}

impl FromStr for TraceId {
    type Err = IdParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl serde::Serialize for TraceId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let buf = self.encode();
        s.serialize_str(std::str::from_utf8(&buf).map_err(serde::ser::Error::custom)?)
    }
}

impl<'de> serde::Deserialize<'de> for TraceId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A 64-bit segment, subsegment or exception id, written as 16 lower-case hex digits.
///
/// # Examples
///
/// ```
/// use xray_core::SegmentId;
///
/// let id: SegmentId = "53995c3f42cd8ad8".parse()?;
/// assert_eq!(id.to_string(), "53995c3f42cd8ad8");
/// assert_ne!(SegmentId::new(), SegmentId::new());
/// # Ok::<(), xray_core::IdParseError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SegmentId(u64);

impl SegmentId {
    /// Creates a random, non-zero id.
    pub fn new() -> Self {
        let mut rng = rand::rng();
        loop {
            let v: u64 = rng.random();
            if v != 0 {
                return Self(v);
            }
        }
    }

    /// An id for an entity that is not sampled: unique enough to name a parent in a downstream
    /// trace header, but never sent to X-Ray, so it is derived from `seed` and a per-thread
    /// counter (a few instructions) instead of drawn from the cryptographic generator.
    pub(crate) fn unsampled(seed: u64) -> Self {
        thread_local! {
            static COUNTER: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
        }
        let n = COUNTER
            .try_with(|c| {
                let n = c.get().wrapping_add(1);
                c.set(n);
                n
            })
            .unwrap_or(0);
        // splitmix64: a bijective mix, so distinct inputs give distinct ids.
        let mut z = seed
            .wrapping_add(n.wrapping_mul(0x9E37_79B9_7F4A_7C15))
            .wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        Self(if z == 0 { 1 } else { z })
    }

    /// Wraps a raw value.
    pub const fn from_u64(value: u64) -> Self {
        Self(value)
    }

    /// The raw value.
    pub const fn to_u64(self) -> u64 {
        self.0
    }

    /// Writes the formatted id into a fixed buffer, without allocating.
    pub fn encode(&self) -> [u8; SEGMENT_ID_LEN] {
        let mut out = [0u8; SEGMENT_ID_LEN];
        hex_into(&self.0.to_be_bytes(), &mut out);
        out
    }

    /// Parses exactly 16 hex digits (either case).
    ///
    /// # Errors
    ///
    /// Returns [`IdParseError`] for any other input.
    pub fn parse(s: &str) -> Result<Self, IdParseError> {
        let bytes = s.as_bytes();
        if bytes.len() != SEGMENT_ID_LEN {
            return Err(IdParseError::new(IdKind::Segment));
        }
        let mut v: u64 = 0;
        for &b in bytes {
            v = (v << 4) | u64::from(hex_val(b).ok_or(IdParseError::new(IdKind::Segment))?);
        }
        Ok(Self(v))
    }
}

impl Default for SegmentId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for SegmentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let buf = self.encode();
        f.write_str(std::str::from_utf8(&buf).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for SegmentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SegmentId({self})")
    }
}

impl FromStr for SegmentId {
    type Err = IdParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl serde::Serialize for SegmentId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let buf = self.encode();
        s.serialize_str(std::str::from_utf8(&buf).map_err(serde::ser::Error::custom)?)
    }
}

impl<'de> serde::Deserialize<'de> for SegmentId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IdKind {
    Trace,
    Segment,
}

/// The error returned when text is not a valid [`TraceId`] or [`SegmentId`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdParseError {
    kind: IdKind,
}

impl IdParseError {
    const fn new(kind: IdKind) -> Self {
        Self { kind }
    }
}

impl fmt::Display for IdParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            IdKind::Trace => f.write_str("invalid trace id: expected `1-<8 hex>-<24 hex>`"),
            IdKind::Segment => f.write_str("invalid segment id: expected 16 hex digits"),
        }
    }
}

impl std::error::Error for IdParseError {}

fn hex_into(bytes: &[u8], out: &mut [u8]) {
    for (i, b) in bytes.iter().enumerate() {
        out[2 * i] = HEX[usize::from(b >> 4)];
        out[2 * i + 1] = HEX[usize::from(b & 0x0f)];
    }
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_id_format() {
        let id = TraceId::with_epoch(0x5840_6520);
        let s = id.to_string();
        assert_eq!(s.len(), 35);
        assert!(s.starts_with("1-58406520-"));
        assert!(
            s[11..]
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert_eq!(TraceId::parse(&s).unwrap(), id);
    }

    #[test]
    fn trace_id_now_is_current() {
        use std::time::{SystemTime, UNIX_EPOCH};
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs() as u32;
        let id = TraceId::new();
        assert!(id.epoch_seconds() >= now && id.epoch_seconds() <= now + 1);
    }

    #[test]
    fn trace_id_parse_variants() {
        assert!(TraceId::parse("1-58406520-A006649127E371903A2DE979").is_ok());
        // Leading zeros of the epoch may be dropped (Node, OpenTelemetry).
        let short = TraceId::parse("1-6520-a006649127e371903a2de979").unwrap();
        assert_eq!(short.epoch_seconds(), 0x6520);
        for bad in [
            "",
            "2-58406520-a006649127e371903a2de979",
            "1-58406520-a006649127e371903a2de97",
            "1-58406520-a006649127e371903a2de9790",
            "1-58406520xa006649127e371903a2de979",
            "1-5840652g-a006649127e371903a2de979",
            "1--a006649127e371903a2de979",
            "1-584065200-a006649127e371903a2de97",
            "1-58406520-a006649127e371903a2de97é",
        ] {
            assert!(TraceId::parse(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn u128_roundtrip() {
        let id = TraceId::new();
        assert_eq!(TraceId::from_u128(id.to_u128()), id);
        assert_eq!(
            format!("{:032x}", id.to_u128()),
            // Drop the version prefix only: `replace("1-", "")` would also eat an epoch ending
            // in `1` (one run in 16 failed that way).
            id.to_string()["1-".len()..].replace('-', "")
        );
    }

    #[test]
    fn segment_id() {
        let id = SegmentId::new();
        let s = id.to_string();
        assert_eq!(s.len(), 16);
        assert_eq!(SegmentId::parse(&s).unwrap(), id);
        assert_eq!(
            SegmentId::parse("53995C3F42CD8AD8").unwrap().to_string(),
            "53995c3f42cd8ad8"
        );
        assert!(SegmentId::parse("53995c3f42cd8ad").is_err());
        assert!(SegmentId::parse("53995c3f42cd8adz").is_err());
        assert!(SegmentId::parse("+3995c3f42cd8ad8").is_err());
        assert_eq!(SegmentId::from_u64(1).to_string(), "0000000000000001");
    }

    #[test]
    fn ids_are_distinct() {
        let set: std::collections::HashSet<_> = (0..10_000).map(|_| SegmentId::new()).collect();
        assert_eq!(set.len(), 10_000);
        let set: std::collections::HashSet<_> = (0..10_000).map(|_| TraceId::new()).collect();
        assert_eq!(set.len(), 10_000);
    }

    #[test]
    fn unsampled_ids_are_distinct_and_non_zero() {
        let set: std::collections::HashSet<_> =
            (0..100_000).map(|i| SegmentId::unsampled(i % 3)).collect();
        assert_eq!(set.len(), 100_000);
        assert!(!set.contains(&SegmentId::from_u64(0)));
    }

    #[test]
    fn serde_as_strings() {
        let id = SegmentId::from_u64(0xabc);
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"0000000000000abc\"");
        let t: TraceId = serde_json::from_str("\"1-58406520-a006649127e371903a2de979\"").unwrap();
        assert_eq!(t.epoch_seconds(), 0x58406520);
    }
}
