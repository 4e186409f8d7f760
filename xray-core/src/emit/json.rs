//! A direct JSON writer for [`Document`], byte-for-byte identical to `serde_json::to_vec`.
//!
//! Serialization is the largest CPU cost of sending a segment. Through serde, every key goes
//! through the generic escaping loop and every punctuation byte through a separate write; here
//! keys are pre-escaped literals, ids are hex-encoded in place, and strings are copied whole when
//! they need no escaping (almost always). Numbers use serde_json's own formatter, and the rare
//! free-form parts (`extra` maps) go through serde_json, so the output is exactly the same bytes
//! — which the tests check against `serde_json::to_vec` for every document shape.

use serde_json::ser::{CompactFormatter, Formatter};

use crate::model::{
    AnnotationValue, Aws, Cause, CauseDetails, CloudwatchLogs, Document, DocumentKind, Ec2, Ecs,
    Eks, ElasticBeanstalk, Exception, Extra, Http, HttpRequest, HttpResponse, Namespace, Service,
    Sql, StackFrame, Timestamp, XraySdk,
};

/// `"key":` as a compile-time byte string.
macro_rules! k {
    ($key:literal) => {
        concat!("\"", $key, "\":").as_bytes()
    };
}

/// What every segment the recorder sends carries in its `aws` block (the SDK name and version,
/// what plugins found), serialized once when the recorder is built instead of being copied into
/// every segment.
#[derive(Debug, Clone, Default)]
pub(crate) struct SegmentDefaults {
    aws: Aws,
    aws_json: Vec<u8>,
}

impl SegmentDefaults {
    pub(crate) fn new(aws: Aws) -> Self {
        let mut aws_json = Vec::new();
        if aws != Aws::default() {
            self::aws(&mut aws_json, &aws);
        }
        Self { aws, aws_json }
    }
}

/// Appends `doc` as compact JSON.
pub(crate) fn write_document(out: &mut Vec<u8>, doc: &Document) {
    write(out, doc, None);
}

/// Appends a segment (not a subsegment) as compact JSON, with the recorder's `aws` defaults
/// merged under what the segment set itself.
pub(crate) fn write_segment(out: &mut Vec<u8>, doc: &Document, defaults: &SegmentDefaults) {
    write(out, doc, Some(defaults));
}

fn write(out: &mut Vec<u8>, doc: &Document, defaults: Option<&SegmentDefaults>) {
    let mut o = Obj::new(out);
    o.str(k!("name"), &doc.name);
    o.lit(k!("id"));
    hex16(o.out, doc.id.encode());
    if let Some(t) = &doc.trace_id {
        o.lit(k!("trace_id"));
        o.out.push(b'"');
        o.out.extend_from_slice(&t.encode());
        o.out.push(b'"');
    }
    if let Some(p) = &doc.parent_id {
        o.lit(k!("parent_id"));
        hex16(o.out, p.encode());
    }
    if let Some(kind) = doc.kind {
        o.lit(k!("type"));
        o.out.extend_from_slice(match kind {
            DocumentKind::Subsegment => b"\"subsegment\"",
        });
    }
    o.lit(k!("start_time"));
    time(o.out, doc.start_time);
    if let Some(t) = doc.end_time {
        o.lit(k!("end_time"));
        time(o.out, t);
    }
    if doc.in_progress {
        o.raw(k!("in_progress"), b"true");
    }
    if let Some(ns) = doc.namespace {
        o.lit(k!("namespace"));
        o.out.extend_from_slice(match ns {
            Namespace::Aws => b"\"aws\"",
            Namespace::Remote => b"\"remote\"",
            Namespace::Local => b"\"local\"",
        });
    }
    o.opt_bool(k!("traced"), doc.traced);
    if !doc.precursor_ids.is_empty() {
        o.lit(k!("precursor_ids"));
        o.out.push(b'[');
        for (i, id) in doc.precursor_ids.iter().enumerate() {
            if i > 0 {
                o.out.push(b',');
            }
            hex16(o.out, id.encode());
        }
        o.out.push(b']');
    }
    o.opt_str(k!("origin"), doc.origin.as_deref());
    if let Some(s) = &doc.service {
        o.lit(k!("service"));
        service(o.out, s);
    }
    o.opt_str(k!("user"), doc.user.as_deref());
    o.opt_str(k!("resource_arn"), doc.resource_arn.as_deref());
    if let Some(h) = &doc.http {
        o.lit(k!("http"));
        http(o.out, h);
    }
    match (&doc.aws, defaults) {
        (None, Some(d)) if !d.aws_json.is_empty() => {
            o.lit(k!("aws"));
            o.out.extend_from_slice(&d.aws_json);
        }
        (Some(a), Some(d)) => {
            o.lit(k!("aws"));
            aws(o.out, &merged(&d.aws, a));
        }
        (Some(a), None) => {
            o.lit(k!("aws"));
            aws(o.out, a);
        }
        (None, _) => {}
    }
    if let Some(s) = &doc.sql {
        o.lit(k!("sql"));
        sql(o.out, s);
    }
    if doc.error {
        o.raw(k!("error"), b"true");
    }
    if doc.fault {
        o.raw(k!("fault"), b"true");
    }
    if doc.throttle {
        o.raw(k!("throttle"), b"true");
    }
    if let Some(c) = &doc.cause {
        o.lit(k!("cause"));
        cause(o.out, c);
    }
    if !doc.annotations.is_empty() {
        o.lit(k!("annotations"));
        let mut a = Obj::new(o.out);
        for (k, v) in &doc.annotations {
            a.key(k);
            match v {
                AnnotationValue::Bool(b) => {
                    a.out.extend_from_slice(if *b { b"true" } else { b"false" })
                }
                AnnotationValue::Number(n) => number(a.out, n),
                AnnotationValue::String(s) => string(a.out, s),
            }
        }
        a.end();
    }
    if !doc.metadata.is_empty() {
        o.lit(k!("metadata"));
        let mut m = Obj::new(o.out);
        for (ns, entries) in &doc.metadata {
            m.key(ns);
            let mut e = Obj::new(m.out);
            for (k, v) in entries {
                e.key(k);
                e.out.extend_from_slice(v.get().as_bytes());
            }
            e.end();
        }
        m.end();
    }
    if !doc.subsegments.is_empty() {
        o.lit(k!("subsegments"));
        o.out.push(b'[');
        for (i, s) in doc.subsegments.iter().enumerate() {
            if i > 0 {
                o.out.push(b',');
            }
            write_document(o.out, s);
        }
        o.out.push(b']');
    }
    o.extra(&doc.extra);
    o.end();
}

/// An object being written: tracks whether a comma is due.
struct Obj<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> Obj<'a> {
    fn new(out: &'a mut Vec<u8>) -> Self {
        out.push(b'{');
        Self { out, first: true }
    }

    /// A key that needs escaping (annotation and metadata keys, extra fields).
    fn key(&mut self, key: &str) {
        self.comma();
        string(self.out, key);
        self.out.push(b':');
    }

    /// A key known at compile time, already quoted: `"name":`.
    #[inline(always)]
    fn lit(&mut self, key: &'static [u8]) {
        self.comma();
        self.out.extend_from_slice(key);
    }

    #[inline(always)]
    fn comma(&mut self) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
    }

    fn raw(&mut self, key: &'static [u8], value: &[u8]) {
        self.lit(key);
        self.out.extend_from_slice(value);
    }

    fn str(&mut self, key: &'static [u8], value: &str) {
        self.lit(key);
        string(self.out, value);
    }

    fn opt_str(&mut self, key: &'static [u8], value: Option<&str>) {
        if let Some(v) = value {
            self.str(key, v);
        }
    }

    fn opt_bool(&mut self, key: &'static [u8], value: Option<bool>) {
        if let Some(v) = value {
            self.raw(key, if v { b"true" } else { b"false" });
        }
    }

    fn opt_u64(&mut self, key: &'static [u8], value: Option<u64>) {
        if let Some(v) = value {
            self.lit(key);
            let _ = CompactFormatter.write_u64(self.out, v);
        }
    }

    fn opt_i64(&mut self, key: &'static [u8], value: Option<i64>) {
        if let Some(v) = value {
            self.lit(key);
            let _ = CompactFormatter.write_i64(self.out, v);
        }
    }

    fn extra(&mut self, extra: &Extra) {
        for (k, v) in extra {
            self.key(k);
            let _ = serde_json::to_writer(&mut *self.out, v);
        }
    }

    fn end(self) {
        self.out.push(b'}');
    }
}

/// The defaults with every field the segment set itself on top.
fn merged(defaults: &Aws, own: &Aws) -> Aws {
    fn over<T: Clone>(base: &mut Option<T>, own: &Option<T>) {
        if own.is_some() {
            base.clone_from(own);
        }
    }
    let mut m = defaults.clone();
    over(&mut m.account_id, &own.account_id);
    over(&mut m.operation, &own.operation);
    over(&mut m.region, &own.region);
    over(&mut m.request_id, &own.request_id);
    over(&mut m.retries, &own.retries);
    over(&mut m.id_2, &own.id_2);
    over(&mut m.queue_url, &own.queue_url);
    over(&mut m.table_name, &own.table_name);
    over(&mut m.ec2, &own.ec2);
    over(&mut m.ecs, &own.ecs);
    over(&mut m.eks, &own.eks);
    over(&mut m.elastic_beanstalk, &own.elastic_beanstalk);
    over(&mut m.cloudwatch_logs, &own.cloudwatch_logs);
    match (&mut m.xray, &own.xray) {
        (Some(base), Some(x)) => {
            over(&mut base.sdk, &x.sdk);
            over(&mut base.sdk_version, &x.sdk_version);
            over(&mut base.auto_instrumentation, &x.auto_instrumentation);
            over(&mut base.sampling_rule_name, &x.sampling_rule_name);
            base.extra
                .extend(x.extra.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        (base, Some(x)) => *base = Some(x.clone()),
        (_, None) => {}
    }
    m.extra
        .extend(own.extra.iter().map(|(k, v)| (k.clone(), v.clone())));
    m
}

fn hex16(out: &mut Vec<u8>, id: [u8; 16]) {
    out.push(b'"');
    out.extend_from_slice(&id);
    out.push(b'"');
}

fn time(out: &mut Vec<u8>, t: Timestamp) {
    let v = t.as_secs_f64();
    if v.is_finite() {
        let _ = CompactFormatter.write_f64(out, v);
    } else {
        // serde_json writes non-finite floats as null.
        out.extend_from_slice(b"null");
    }
}

fn number(out: &mut Vec<u8>, n: &serde_json::Number) {
    if let Some(u) = n.as_u64() {
        let _ = CompactFormatter.write_u64(out, u);
    } else if let Some(i) = n.as_i64() {
        let _ = CompactFormatter.write_i64(out, i);
    } else {
        let _ = serde_json::to_writer(&mut *out, n);
    }
}

/// Writes a JSON string with serde_json's escaping rules.
fn string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    if !needs_escape(bytes) {
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            0x0C => b"\\f",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x00..=0x1F => {
                out.extend_from_slice(&bytes[start..i]);
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(&[
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[usize::from(b >> 4)],
                    HEX[usize::from(b & 0xF)],
                ]);
                start = i + 1;
                continue;
            }
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(esc);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Whether any byte is a control character, `"` or `\\`, eight bytes at a time (SQL statements and
/// URLs are long, and this runs for every string of every document).
#[inline]
fn needs_escape(bytes: &[u8]) -> bool {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    // A byte of `x` is zero ⇔ the matching byte of `(x - LO) & !x & HI` has its high bit set.
    let has_zero = |x: u64| x.wrapping_sub(LO) & !x & HI;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word);
        // Bytes below 0x20: subtracting 0x20 borrows into the high bit (for bytes < 0x80).
        let control = x.wrapping_sub(LO * 0x20) & !x & HI;
        if control | has_zero(x ^ (LO * u64::from(b'"'))) | has_zero(x ^ (LO * u64::from(b'\\')))
            != 0
        {
            return true;
        }
    }
    chunks
        .remainder()
        .iter()
        .any(|&b| b < 0x20 || b == b'"' || b == b'\\')
}

fn service(out: &mut Vec<u8>, s: &Service) {
    let mut o = Obj::new(out);
    o.opt_str(k!("version"), s.version.as_deref());
    o.opt_str(k!("runtime"), s.runtime.as_deref());
    o.opt_str(k!("runtime_version"), s.runtime_version.as_deref());
    o.extra(&s.extra);
    o.end();
}

fn http(out: &mut Vec<u8>, h: &Http) {
    let mut o = Obj::new(out);
    if let Some(r) = &h.request {
        o.lit(k!("request"));
        http_request(o.out, r);
    }
    if let Some(r) = &h.response {
        o.lit(k!("response"));
        http_response(o.out, r);
    }
    o.extra(&h.extra);
    o.end();
}

fn http_request(out: &mut Vec<u8>, r: &HttpRequest) {
    let mut o = Obj::new(out);
    o.opt_str(k!("method"), r.method.as_deref());
    o.opt_str(k!("url"), r.url.as_deref());
    o.opt_str(k!("user_agent"), r.user_agent.as_deref());
    o.opt_str(k!("client_ip"), r.client_ip.as_deref());
    o.opt_bool(k!("x_forwarded_for"), r.x_forwarded_for);
    o.opt_bool(k!("traced"), r.traced);
    o.extra(&r.extra);
    o.end();
}

fn http_response(out: &mut Vec<u8>, r: &HttpResponse) {
    let mut o = Obj::new(out);
    o.opt_u64(k!("status"), r.status.map(u64::from));
    o.opt_i64(k!("content_length"), r.content_length);
    o.extra(&r.extra);
    o.end();
}

fn aws(out: &mut Vec<u8>, a: &Aws) {
    let mut o = Obj::new(out);
    o.opt_str(k!("account_id"), a.account_id.as_deref());
    o.opt_str(k!("operation"), a.operation.as_deref());
    o.opt_str(k!("region"), a.region.as_deref());
    o.opt_str(k!("request_id"), a.request_id.as_deref());
    o.opt_u64(k!("retries"), a.retries.map(u64::from));
    o.opt_str(k!("id_2"), a.id_2.as_deref());
    o.opt_str(k!("queue_url"), a.queue_url.as_deref());
    o.opt_str(k!("table_name"), a.table_name.as_deref());
    if let Some(e) = &a.ec2 {
        o.lit(k!("ec2"));
        ec2(o.out, e);
    }
    if let Some(e) = &a.ecs {
        o.lit(k!("ecs"));
        ecs(o.out, e);
    }
    if let Some(e) = &a.eks {
        o.lit(k!("eks"));
        eks(o.out, e);
    }
    if let Some(e) = &a.elastic_beanstalk {
        o.lit(k!("elastic_beanstalk"));
        beanstalk(o.out, e);
    }
    if let Some(logs) = &a.cloudwatch_logs {
        o.lit(k!("cloudwatch_logs"));
        o.out.push(b'[');
        for (i, l) in logs.iter().enumerate() {
            if i > 0 {
                o.out.push(b',');
            }
            cloudwatch(o.out, l);
        }
        o.out.push(b']');
    }
    if let Some(x) = &a.xray {
        o.lit(k!("xray"));
        xray(o.out, x);
    }
    o.extra(&a.extra);
    o.end();
}

fn ec2(out: &mut Vec<u8>, e: &Ec2) {
    let mut o = Obj::new(out);
    o.opt_str(k!("instance_id"), e.instance_id.as_deref());
    o.opt_str(k!("instance_size"), e.instance_size.as_deref());
    o.opt_str(k!("ami_id"), e.ami_id.as_deref());
    o.opt_str(k!("availability_zone"), e.availability_zone.as_deref());
    o.extra(&e.extra);
    o.end();
}

fn ecs(out: &mut Vec<u8>, e: &Ecs) {
    let mut o = Obj::new(out);
    o.opt_str(k!("container"), e.container.as_deref());
    o.opt_str(k!("container_id"), e.container_id.as_deref());
    o.opt_str(k!("container_arn"), e.container_arn.as_deref());
    o.extra(&e.extra);
    o.end();
}

fn eks(out: &mut Vec<u8>, e: &Eks) {
    let mut o = Obj::new(out);
    o.opt_str(k!("pod"), e.pod.as_deref());
    o.opt_str(k!("cluster_name"), e.cluster_name.as_deref());
    o.opt_str(k!("container_id"), e.container_id.as_deref());
    o.extra(&e.extra);
    o.end();
}

fn beanstalk(out: &mut Vec<u8>, e: &ElasticBeanstalk) {
    let mut o = Obj::new(out);
    o.opt_str(k!("environment_name"), e.environment_name.as_deref());
    o.opt_str(k!("version_label"), e.version_label.as_deref());
    o.opt_i64(k!("deployment_id"), e.deployment_id);
    o.extra(&e.extra);
    o.end();
}

fn cloudwatch(out: &mut Vec<u8>, l: &CloudwatchLogs) {
    let mut o = Obj::new(out);
    o.opt_str(k!("log_group"), l.log_group.as_deref());
    o.opt_str(k!("arn"), l.arn.as_deref());
    o.extra(&l.extra);
    o.end();
}

fn xray(out: &mut Vec<u8>, x: &XraySdk) {
    let mut o = Obj::new(out);
    o.opt_str(k!("sdk"), x.sdk.as_deref());
    o.opt_str(k!("sdk_version"), x.sdk_version.as_deref());
    o.opt_bool(k!("auto_instrumentation"), x.auto_instrumentation);
    o.opt_str(k!("sampling_rule_name"), x.sampling_rule_name.as_deref());
    o.extra(&x.extra);
    o.end();
}

fn sql(out: &mut Vec<u8>, s: &Sql) {
    let mut o = Obj::new(out);
    o.opt_str(k!("url"), s.url.as_deref());
    o.opt_str(k!("connection_string"), s.connection_string.as_deref());
    o.opt_str(k!("sanitized_query"), s.sanitized_query.as_deref());
    o.opt_str(k!("database_type"), s.database_type.as_deref());
    o.opt_str(k!("database_version"), s.database_version.as_deref());
    o.opt_str(k!("driver_version"), s.driver_version.as_deref());
    o.opt_str(k!("user"), s.user.as_deref());
    o.opt_str(k!("preparation"), s.preparation.as_deref());
    o.extra(&s.extra);
    o.end();
}

fn cause(out: &mut Vec<u8>, c: &Cause) {
    match c {
        Cause::ExceptionId(id) => string(out, id),
        Cause::Details(d) => cause_details(out, d),
    }
}

fn cause_details(out: &mut Vec<u8>, d: &CauseDetails) {
    let mut o = Obj::new(out);
    o.opt_str(k!("working_directory"), d.working_directory.as_deref());
    if !d.paths.is_empty() {
        o.lit(k!("paths"));
        o.out.push(b'[');
        for (i, p) in d.paths.iter().enumerate() {
            if i > 0 {
                o.out.push(b',');
            }
            string(o.out, p);
        }
        o.out.push(b']');
    }
    o.lit(k!("exceptions"));
    o.out.push(b'[');
    for (i, e) in d.exceptions.iter().enumerate() {
        if i > 0 {
            o.out.push(b',');
        }
        exception(o.out, e);
    }
    o.out.push(b']');
    o.extra(&d.extra);
    o.end();
}

fn exception(out: &mut Vec<u8>, e: &Exception) {
    let mut o = Obj::new(out);
    o.lit(k!("id"));
    hex16(o.out, e.id.encode());
    o.opt_str(k!("message"), e.message.as_deref());
    o.opt_str(k!("type"), e.kind.as_deref());
    if e.remote {
        o.raw(k!("remote"), b"true");
    }
    o.opt_u64(k!("truncated"), e.truncated.map(u64::from));
    o.opt_u64(k!("skipped"), e.skipped.map(u64::from));
    if let Some(c) = &e.cause {
        o.lit(k!("cause"));
        hex16(o.out, c.encode());
    }
    if !e.stack.is_empty() {
        o.lit(k!("stack"));
        o.out.push(b'[');
        for (i, f) in e.stack.iter().enumerate() {
            if i > 0 {
                o.out.push(b',');
            }
            frame(o.out, f);
        }
        o.out.push(b']');
    }
    o.extra(&e.extra);
    o.end();
}

fn frame(out: &mut Vec<u8>, f: &StackFrame) {
    let mut o = Obj::new(out);
    o.opt_str(k!("path"), f.path.as_deref());
    o.opt_u64(k!("line"), f.line.map(u64::from));
    o.opt_str(k!("label"), f.label.as_deref());
    o.end();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::{SegmentId, TraceId};
    use serde_json::value::RawValue;

    fn same(doc: &Document) {
        let mut fast = Vec::new();
        write_document(&mut fast, doc);
        let serde = serde_json::to_vec(doc).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&fast),
            String::from_utf8_lossy(&serde)
        );
    }

    fn tricky() -> String {
        "quote \" backslash \\ newline \n tab \t nul \u{0} bell \u{7} del \u{7f} é 東京 \u{1f600} </script>".into()
    }

    #[test]
    fn minimal_and_full_documents_match_serde() {
        same(&Document::default());
        let mut d = Document::new(
            tricky(),
            SegmentId::new(),
            Timestamp::from_micros(1_700_000_000_123_456),
        );
        d.trace_id = Some(TraceId::new());
        d.parent_id = Some(SegmentId::new());
        d.kind = Some(DocumentKind::Subsegment);
        d.end_time = Some(Timestamp::from_secs_f64(1.478293361271E9));
        d.in_progress = true;
        d.namespace = Some(Namespace::Remote);
        d.traced = Some(false);
        d.precursor_ids = vec![SegmentId::new(), SegmentId::new()];
        d.origin = Some("AWS::EC2::Instance".into());
        d.service = Some(Box::new(Service {
            version: Some(tricky()),
            runtime: Some("rust".into()),
            ..Service::default()
        }));
        d.user = Some(tricky());
        d.resource_arn = Some("arn:aws:lambda:us-east-1:1:function:f".into());
        d.http = Some(Box::new(Http {
            request: Some(HttpRequest {
                method: Some("GET".into()),
                url: Some(tricky()),
                user_agent: Some("ua".into()),
                client_ip: Some("::1".into()),
                x_forwarded_for: Some(true),
                traced: Some(true),
                ..HttpRequest::default()
            }),
            response: Some(HttpResponse {
                status: Some(503),
                content_length: Some(-1),
                ..HttpResponse::default()
            }),
            ..Http::default()
        }));
        let mut aws = Aws {
            account_id: Some("1".into()),
            operation: Some("GetItem".into()),
            region: Some("us-east-1".into()),
            request_id: Some("R".into()),
            retries: Some(3),
            id_2: Some("x".into()),
            queue_url: Some("q".into()),
            table_name: Some(tricky()),
            ec2: Some(Box::default()),
            ecs: Some(Box::new(Ecs {
                container: Some("c".into()),
                ..Ecs::default()
            })),
            eks: Some(Box::default()),
            elastic_beanstalk: Some(Box::new(ElasticBeanstalk {
                deployment_id: Some(32),
                ..ElasticBeanstalk::default()
            })),
            cloudwatch_logs: Some(vec![
                CloudwatchLogs::default(),
                CloudwatchLogs {
                    log_group: Some("g".into()),
                    ..CloudwatchLogs::default()
                },
            ]),
            xray: Some(Box::new(XraySdk {
                sdk: Some("X-Ray for Rust".into()),
                auto_instrumentation: Some(false),
                sampling_rule_name: Some("r".into()),
                ..XraySdk::default()
            })),
            ..Aws::default()
        };
        aws.extra
            .insert("table_names".into(), serde_json::json!(["a", tricky()]));
        aws.extra
            .insert("consumed_capacity".into(), serde_json::Value::Null);
        aws.extra.insert("count".into(), serde_json::json!(1.5));
        d.aws = Some(Box::new(aws));
        d.sql = Some(Box::new(Sql {
            sanitized_query: Some(tricky().into()),
            preparation: Some("statement".into()),
            ..Sql::default()
        }));
        d.error = true;
        d.fault = true;
        d.throttle = true;
        let mut ex = Exception::new(tricky());
        ex.kind = Some("E".into());
        ex.remote = true;
        ex.truncated = Some(2);
        ex.skipped = Some(1);
        ex.cause = Some(SegmentId::new());
        ex.stack = vec![StackFrame {
            path: Some("src/main.rs".into()),
            line: Some(10),
            label: Some(tricky()),
        }];
        let mut details = CauseDetails::new(vec![ex, Exception::new("second")]);
        details.paths = vec!["a".into(), tricky()];
        d.cause = Some(Cause::Details(details));
        d.annotations.insert("s".into(), tricky().into());
        d.annotations.insert("i".into(), (-42i64).into());
        d.annotations.insert("u".into(), u64::MAX.into());
        d.annotations.insert("f".into(), 0.1.into());
        d.annotations.insert("b".into(), false.into());
        d.metadata.entry("default".into()).or_default().insert(
            tricky(),
            RawValue::from_string(
                serde_json::to_string(&serde_json::json!({"k": [1, tricky()]})).unwrap(),
            )
            .unwrap(),
        );
        d.metadata.entry("other".into()).or_default();
        let mut child = Document::new("child", SegmentId::new(), Timestamp::from_micros(1));
        child.cause = Some(Cause::ExceptionId(tricky()));
        child.subsegments.push(Document::default());
        d.subsegments = vec![child.clone(), child];
        d.extra.insert("Dummy".into(), false.into());
        d.extra
            .insert(tricky(), serde_json::json!({"nested": tricky()}));
        same(&d);
    }

    #[test]
    fn spec_examples_match_serde() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/spec/examples");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            eprintln!("SKIPPED: {} not found", dir.display());
            return;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "json") {
                let doc: Document = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
                same(&doc);
            }
        }
    }

    #[test]
    fn every_control_character_escapes_like_serde() {
        let all: String = (0u8..=0x7f).map(char::from).collect();
        let d = Document::new(all, SegmentId::from_u64(1), Timestamp::from_secs_f64(0.0));
        same(&d);
    }

    #[test]
    fn segment_defaults_merge_under_the_segment_own_block() {
        let defaults = SegmentDefaults::new(Aws {
            account_id: Some("1".into()),
            xray: Some(Box::new(XraySdk {
                sdk: Some("X-Ray for Rust".into()),
                sdk_version: Some("0.1.0".into()),
                ..XraySdk::default()
            })),
            ec2: Some(Box::new(Ec2 {
                instance_id: Some("i-1".into()),
                ..Ec2::default()
            })),
            ..Aws::default()
        });
        let mut doc = Document::new("s", SegmentId::from_u64(1), Timestamp::from_secs_f64(1.0));
        let mut out = Vec::new();
        write_segment(&mut out, &doc, &defaults);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["aws"]["xray"]["sdk"], "X-Ray for Rust");
        assert_eq!(v["aws"]["ec2"]["instance_id"], "i-1");

        doc.aws = Some(Box::new(Aws {
            account_id: Some("2".into()),
            xray: Some(Box::new(XraySdk {
                sampling_rule_name: Some("rule".into()),
                ..XraySdk::default()
            })),
            ..Aws::default()
        }));
        out.clear();
        write_segment(&mut out, &doc, &defaults);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["aws"]["account_id"], "2", "the segment's own value wins");
        assert_eq!(v["aws"]["xray"]["sdk_version"], "0.1.0");
        assert_eq!(v["aws"]["xray"]["sampling_rule_name"], "rule");
        assert_eq!(v["aws"]["ec2"]["instance_id"], "i-1");

        // No defaults: nothing added.
        let empty = SegmentDefaults::new(Aws::default());
        doc.aws = None;
        out.clear();
        write_segment(&mut out, &doc, &empty);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert!(v.get("aws").is_none());
    }

    #[test]
    fn escape_detection_agrees_with_the_byte_rule() {
        let slow = |b: &[u8]| b.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\');
        // Every byte value at every position of a 17-byte string (two words and a remainder).
        for pos in 0..17 {
            for v in 0..=255u8 {
                let mut s = vec![b'a'; 17];
                s[pos] = v;
                assert_eq!(needs_escape(&s), slow(&s), "byte {v:#x} at {pos}");
            }
        }
        // Neighbouring bytes must not cause false positives (borrow propagation).
        for v in 0..=255u8 {
            for w in 0..=255u8 {
                let s = [v, w, v, w, v, w, v, w];
                assert_eq!(needs_escape(&s), slow(&s), "{v:#x} {w:#x}");
            }
        }
    }

    #[test]
    fn odd_times_match_serde() {
        for t in [0.0, 1e-7, 1e21, 123456789.000001, f64::NAN, f64::INFINITY] {
            let d = Document::new("t", SegmentId::from_u64(1), Timestamp::from_secs_f64(t));
            same(&d);
        }
    }
}
