//! The parameter whitelist: which input and output members of which operations go into the
//! subsegment's `aws` block.
//!
//! The table follows the official whitelist of the X-Ray SDKs (the Python SDK's
//! `aws_para_whitelist.json`), written here as Rust code: for each service a `whitelist!` block
//! names the operations, the typed input/output members to read, the key they get in the `aws`
//! block (Python's snake-casing of the member name unless renamed) and how the value is taken:
//!
//! - `value`: copied as is (strings, numbers, booleans, lists, and a few structures written out
//!   by hand with their model member names, as botocore reports them);
//! - `keys`: only the keys of a map (`BatchGetItem.RequestItems` → `table_names`);
//! - `count`: only the length of a list (`ReceiveMessage.Messages` → `message_count`).
//!
//! Values are read from the typed input and output behind the type-erased boxes the interceptor
//! sees: no payload is serialized, and the [`ToValue`] trait is deliberately not implemented for
//! item attributes (`AttributeValue`), message bodies or blobs, so the compiler rejects a table
//! entry that would record them.
//!
//! Each service's table sits behind the cargo feature of its SDK crate; the interceptor looks a
//! service up by the id in the operation `Metadata` (`"DynamoDB"`, `"SQS"`, ...).

// Without any service feature, the table machinery has no user.
#![cfg_attr(
    not(any(
        feature = "dynamodb",
        feature = "sqs",
        feature = "s3",
        feature = "sns",
        feature = "lambda",
        feature = "sagemaker-runtime"
    )),
    allow(dead_code, unused_macros, unused_imports)
)]

mod values;

#[cfg(test)]
mod conformance;

#[cfg(feature = "dynamodb")]
mod dynamodb;
#[cfg(feature = "lambda")]
mod lambda;
#[cfg(feature = "s3")]
mod s3;
#[cfg(feature = "sagemaker-runtime")]
mod sagemaker_runtime;
#[cfg(feature = "sns")]
mod sns;
#[cfg(feature = "sqs")]
mod sqs;

use aws_smithy_runtime_api::client::interceptors::context::{Input, Output};
use serde_json::Value;
use xray_core::model::Aws;

use crate::state::Finish;

#[allow(unused_imports)] // used by the per-service tables, which are all optional
pub(crate) use self::values::{Count, Keys, MapKey, Present, ToValue, count, keys, value};

/// How a member's value is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[allow(dead_code)] // not every service table uses every kind
pub(crate) enum Kind {
    /// The value itself.
    Value,
    /// The keys of a map, as an array.
    Keys,
    /// The length of a list.
    Count,
}

/// One whitelisted member.
#[derive(Debug, Clone, Copy)]
#[cfg_attr(not(test), allow(dead_code))] // read by the conformance tests
pub(crate) struct Param {
    /// The model member name (`TableName`).
    pub(crate) member: &'static str,
    /// The key in the `aws` block (`table_name`).
    pub(crate) key: &'static str,
    /// How the value is taken.
    pub(crate) kind: Kind,
    /// Whether the key is a rename (the whitelist's `rename_to`) rather than the snake-cased
    /// member name.
    pub(crate) renamed: bool,
}

/// The whitelisted members of one operation.
#[derive(Debug, Clone, Copy)]
#[cfg_attr(not(test), allow(dead_code))] // read by the conformance tests
pub(crate) struct Operation {
    /// The operation name as in `Metadata` (`GetItem`).
    pub(crate) name: &'static str,
    /// Input members.
    pub(crate) request: &'static [Param],
    /// Output members.
    pub(crate) response: &'static [Param],
}

/// Whitelisted members taken from a call's input or output, kept as the typed values they were
/// (cloned, or reduced to keys or a count) and written into the `aws` block when the subsegment
/// is sent: turning them into JSON is no work for the call itself.
pub(crate) type Captured = Box<dyn FnOnce(&mut Aws) + Send + Sync>;

/// The parameter capture of one service.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Service {
    /// The service id in `Metadata` (`DynamoDB`).
    pub(crate) id: &'static str,
    /// The service key in the official whitelist files (`dynamodb`).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) whitelist_key: &'static str,
    /// The table, for documentation and the conformance test.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) operations: &'static [Operation],
    /// Captures the whitelisted input members of `operation`.
    pub(crate) request: fn(operation: &str, input: &Input) -> Option<Captured>,
    /// Captures the whitelisted output members of the call's operation and ends the call with
    /// them, its other captures and theirs in one writer; hands `end` back when there is nothing
    /// to capture (another operation, or no member present).
    pub(crate) finish: fn(output: &Output, end: Finish) -> Option<Finish>,
}

#[cfg(test)]
impl Service {
    /// Captures the input members and writes them into `aws` at once.
    pub(crate) fn apply_request(&self, operation: &str, input: &Input, aws: &mut Aws) {
        if let Some(write) = (self.request)(operation, input) {
            write(aws);
        }
    }

    /// Runs the output capture the interceptor runs ([`Service::finish`]) on a subsegment of a
    /// test recorder and merges the members it recorded into `aws`. Returns whether anything was
    /// captured.
    pub(crate) fn apply_response(&self, operation: &str, output: &Output, aws: &mut Aws) -> bool {
        use aws_smithy_runtime_api::client::orchestrator::Metadata;
        use xray_core::Recorder;
        use xray_core::emit::MemoryEmitter;

        let emitter = MemoryEmitter::new();
        let recorder = Recorder::builder()
            .emitter(emitter.clone())
            .sample_all()
            .ignore_env()
            .build()
            .expect("a test recorder");
        let segment = recorder.begin_segment("test");
        let end = Finish {
            pending: segment.begin_pending_subsegment(self.id),
            start: crate::state::CallStart {
                metadata: Metadata::new(operation.to_owned(), self.id),
                region: None,
                account_id: None,
                params: None,
                request: None,
            },
            recorded: crate::outcome::Recorded::default(),
        };
        let captured = match (self.finish)(output, end) {
            Some(end) => {
                end.end();
                false
            }
            None => true,
        };
        segment.end();
        let docs = emitter.documents();
        let got = docs[0].subsegments[0].aws.clone().unwrap_or_default();
        if got.table_name.is_some() {
            aws.table_name = got.table_name;
        }
        if got.queue_url.is_some() {
            aws.queue_url = got.queue_url;
        }
        aws.extra.extend(got.extra);
        captured
    }
}

/// Every service compiled in.
const SERVICES: &[Service] = &[
    #[cfg(feature = "dynamodb")]
    dynamodb::SERVICE,
    #[cfg(feature = "sqs")]
    sqs::SERVICE,
    #[cfg(feature = "sns")]
    sns::SERVICE,
    #[cfg(feature = "lambda")]
    lambda::SERVICE,
    #[cfg(feature = "s3")]
    s3::SERVICE,
    #[cfg(feature = "sagemaker-runtime")]
    sagemaker_runtime::SERVICE,
];

/// The parameter capture for a service id, if its feature is enabled.
pub(crate) fn service(id: &str) -> Option<&'static Service> {
    SERVICES.iter().find(|s| s.id == id)
}

/// Every service compiled in.
#[cfg(test)]
pub(crate) fn services() -> &'static [Service] {
    SERVICES
}

/// Stores a captured value. `table_name` and `queue_url` are modelled fields of the `aws` block
/// (the X-Ray backend reads them for the service map); everything else goes into its extra map.
pub(crate) fn put(aws: &mut Aws, key: &'static str, value: Option<Value>) {
    let Some(value) = value else { return };
    match (key, value) {
        ("table_name", Value::String(s)) => aws.table_name = Some(s),
        ("queue_url", Value::String(s)) => aws.queue_url = Some(s),
        (key, value) => {
            aws.extra.insert(key.to_owned(), value);
        }
    }
}

/// Declares a service's whitelist: the capture functions and the descriptive table at once, so
/// the two cannot disagree.
///
/// ```text
/// whitelist! {
///     service: "DynamoDB", whitelist_key: "dynamodb", krate: aws_sdk_dynamodb;
///     GetItem in get_item {
///         GetItemInput: ["TableName" => value table_name, ...],
///         GetItemOutput: ["ConsumedCapacity" => value consumed_capacity],
///     }
/// }
/// ```
///
/// A member is `"ModelName" => kind field [as "key"]`; without `as`, the key is the field name,
/// which a unit test checks against the official snake-casing of the model name.
macro_rules! whitelist {
    (
        service: $service:literal, whitelist_key: $wl:literal, krate: $krate:ident;
        $(
            $op:ident in $module:ident {
                $input:ident : [ $( $imember:literal => $ikind:ident $ifield:ident $(as $ikey:literal)? ),* $(,)? ]
                $(, $output:ident : [ $( $omember:literal => $okind:ident $ofield:ident $(as $okey:literal)? ),* $(,)? ] )?
                $(,)?
            }
        )*
    ) => {
        pub(crate) const SERVICE: $crate::params::Service = $crate::params::Service {
            id: $service,
            whitelist_key: $wl,
            operations: &[
                $(
                    $crate::params::Operation {
                        name: stringify!($op),
                        request: &[ $( $crate::params::Param {
                            member: $imember,
                            key: $crate::params::whitelist!(@key $ifield $(, $ikey)?),
                            kind: $crate::params::whitelist!(@kind $ikind),
                            renamed: $crate::params::whitelist!(@renamed $($ikey)?),
                        } ),* ],
                        response: &[ $( $( $crate::params::Param {
                            member: $omember,
                            key: $crate::params::whitelist!(@key $ofield $(, $okey)?),
                            kind: $crate::params::whitelist!(@kind $okind),
                            renamed: $crate::params::whitelist!(@renamed $($okey)?),
                        } ),* )? ],
                    },
                )*
            ],
            request,
            finish,
        };

        // Deprecated members stay in the whitelist as long as the SDK still sends them.
        #[allow(deprecated, unused_variables)]
        fn request(
            operation: &str,
            input: &::aws_smithy_runtime_api::client::interceptors::context::Input,
        ) -> ::std::option::Option<$crate::params::Captured> {
            match operation {
                $(
                    stringify!($op) => {
                        let input = input.downcast_ref::<$krate::operation::$module::$input>()?;
                        $crate::params::whitelist!(@take input [ $( $ikind $ifield $(, $ikey)? ; )* ])
                    }
                )*
                _ => None,
            }
        }

        #[allow(unused_variables, deprecated)]
        fn finish(
            output: &::aws_smithy_runtime_api::client::interceptors::context::Output,
            end: $crate::state::Finish,
        ) -> ::std::option::Option<$crate::state::Finish> {
            match end.start.metadata.name() {
                $( $(
                    stringify!($op) => {
                        let ::std::option::Option::Some(output) =
                            output.downcast_ref::<$krate::operation::$module::$output>()
                        else {
                            return ::std::option::Option::Some(end);
                        };
                        $crate::params::whitelist!(@finish output end [ $( $okind $ofield $(, $okey)? ; )* ])
                    }
                )? )*
                _ => ::std::option::Option::Some(end),
            }
        }
    };
    // The capture of one operation's input members (`$src`): the values taken now, and the
    // closure that writes them into the `aws` block when the trace is sent.
    (@take $src:ident [ $( $kind:ident $field:ident $(, $key:literal)? ; )* ]) => {{
        let captured = $crate::params::whitelist!(@capture_all $src return None; [ $( $kind $field ; )* ]);
        let write: $crate::params::Captured = ::std::boxed::Box::new(
            $crate::params::whitelist!(@writer captured [ $( $kind $field $(, $key)? ; )* ]),
        );
        Some(write)
    }};
    // The capture of one operation's output members (`$src`), ending the call (`$end`) with a
    // writer that holds them.
    (@finish $src:ident $end:ident [ $( $kind:ident $field:ident $(, $key:literal)? ; )* ]) => {{
        let captured = $crate::params::whitelist!(@capture_all $src return Some($end); [ $( $kind $field ; )* ]);
        $end.with_members($crate::params::whitelist!(@writer captured [ $( $kind $field $(, $key)? ; )* ]));
        None
    }};
    // The members of `$src` as a tuple; `$none` (a return) when none is present: nothing to
    // record, nothing to keep (no allocation).
    (@capture_all $src:ident $none:stmt; [ $( $kind:ident $field:ident ; )* ]) => {{
        let captured = ( $( $crate::params::whitelist!(@capture $kind ($src.$field)), )* );
        {
            let ( $( $field, )* ) = &captured;
            if !(false $( || $crate::params::Present::present($field) )*) {
                $none
            }
        }
        captured
    }};
    // The closure that writes captured members into the `aws` block.
    (@writer $captured:ident [ $( $kind:ident $field:ident $(, $key:literal)? ; )* ]) => {
        move |aws: &mut ::xray_core::model::Aws| {
            let ( $( $field, )* ) = $captured;
            $( $crate::params::put(
                aws,
                $crate::params::whitelist!(@key $field $(, $key)?),
                $crate::params::whitelist!(@emit $kind $field),
            ); )*
        }
    };
    // What a call keeps of a member: a clone of a value (only whitelisted members, none of which
    // holds item contents or bodies), the keys of a map or the length of a list at once (so that
    // a map of items is never cloned).
    (@capture value $e:expr) => { ::std::clone::Clone::clone(&$e) };
    (@capture keys $e:expr) => { $crate::params::keys(&$e) };
    (@capture count $e:expr) => { $crate::params::count(&$e) };
    (@emit value $v:ident) => { $crate::params::value(&$v) };
    (@emit keys $v:ident) => { $v };
    (@emit count $v:ident) => { $v };
    (@key $field:ident) => { stringify!($field) };
    (@key $field:ident, $key:literal) => { $key };
    (@renamed) => { false };
    (@renamed $key:literal) => { true };
    (@kind value) => { $crate::params::Kind::Value };
    (@kind keys) => { $crate::params::Kind::Keys };
    (@kind count) => { $crate::params::Kind::Count };
}
#[allow(unused_imports)] // used by the per-service tables, which are all optional
pub(crate) use whitelist;

/// The Python SDK's snake-casing (`ext/util.py`, `to_snake_case`): `(.)([A-Z][a-z]+)` → `\1_\2`,
/// then `([a-z0-9])([A-Z])` → `\1_\2`, lower-cased. Used by tests to check the table's keys.
#[cfg(test)]
pub(crate) fn to_snake_case(name: &str) -> String {
    let c: Vec<char> = name.chars().collect();
    // Pass 1, `(.)([A-Z][a-z]+)`: a match consumes the character before the capital and the whole
    // lower-case run after it, and the next match is searched from there, as `re.sub` does.
    let mut pass1: Vec<char> = Vec::with_capacity(c.len() + 8);
    let mut i = 0;
    while i < c.len() {
        let word_follows = c.get(i + 1).is_some_and(char::is_ascii_uppercase)
            && c.get(i + 2).is_some_and(char::is_ascii_lowercase);
        if word_follows {
            pass1.extend([c[i], '_', c[i + 1]]);
            let mut j = i + 2;
            while c.get(j).is_some_and(char::is_ascii_lowercase) {
                pass1.push(c[j]);
                j += 1;
            }
            i = j;
        } else {
            pass1.push(c[i]);
            i += 1;
        }
    }
    // Pass 2, `([a-z0-9])([A-Z])`: both characters are consumed by a match.
    let mut out = String::with_capacity(pass1.len() + 8);
    let mut k = 0;
    while k < pass1.len() {
        let ch = pass1[k];
        out.push(ch);
        let lower_or_digit = ch.is_ascii_lowercase() || ch.is_ascii_digit();
        match pass1.get(k + 1) {
            Some(next) if lower_or_digit && next.is_ascii_uppercase() => {
                out.push('_');
                out.push(*next);
                k += 2;
            }
            _ => k += 1,
        }
    }
    out.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_matches_python() {
        for (name, snake) in [
            ("TableName", "table_name"),
            ("QueueOwnerAWSAccountId", "queue_owner_aws_account_id"),
            ("SSECustomerAlgorithm", "sse_customer_algorithm"),
            ("IPAddress", "ip_address"),
            ("ListObjectsV2", "list_objects_v2"),
            ("SizeEstimateRangeGB", "size_estimate_range_gb"),
            ("MaxNumberOfMessages", "max_number_of_messages"),
            ("Bucket", "bucket"),
            ("ConsistentRead", "consistent_read"),
        ] {
            assert_eq!(to_snake_case(name), snake, "{name}");
        }
    }

    #[test]
    fn keys_follow_the_official_snake_casing() {
        for service in services() {
            for op in service.operations {
                for p in op.request.iter().chain(op.response) {
                    // A renamed key comes from the whitelist's `rename_to`; the others must be
                    // the snake-cased member name, as the Python SDK writes them (the macro
                    // uses the SDK's field name, which must agree).
                    let snake = to_snake_case(p.member);
                    if !p.renamed {
                        assert_eq!(p.key, snake, "{}.{}.{}", service.id, op.name, p.member);
                    }
                }
            }
        }
    }

    #[test]
    fn operations_are_unique_and_nonempty() {
        for service in services() {
            let mut names: Vec<&str> = service.operations.iter().map(|o| o.name).collect();
            names.sort_unstable();
            let before = names.len();
            names.dedup();
            assert_eq!(before, names.len(), "{}: duplicate operation", service.id);
            for op in service.operations {
                assert!(
                    !op.request.is_empty() || !op.response.is_empty(),
                    "{}.{}",
                    service.id,
                    op.name
                );
            }
        }
    }

    #[test]
    fn put_routes_modelled_fields() {
        let mut aws = Aws::default();
        put(&mut aws, "table_name", Some(Value::from("orders")));
        put(&mut aws, "queue_url", Some(Value::from("https://q")));
        put(&mut aws, "limit", Some(Value::from(5)));
        put(&mut aws, "missing", None);
        assert_eq!(aws.table_name.as_deref(), Some("orders"));
        assert_eq!(aws.queue_url.as_deref(), Some("https://q"));
        assert_eq!(aws.extra.get("limit"), Some(&Value::from(5)));
        assert!(!aws.extra.contains_key("missing"));
    }
}
