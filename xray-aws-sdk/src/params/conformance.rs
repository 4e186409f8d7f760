//! The table against the official whitelist (`../shared/spec/aws-whitelist.json`, the Python
//! SDK's file): same operations, same members, same keys, same kinds.
//!
//! The spec directory is found through `XRAY_SPEC_DIR` or next to the repository
//! (`<repo>/../shared/spec`). Where it is absent the test says so and passes; `XRAY_REQUIRE_SPEC=1`
//! turns that into a failure. Services whose feature is off are reported and skipped.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::Value;

use super::{Kind, services, to_snake_case};

/// Whitelist operation names that the Rust SDK (the S3 API) spells differently.
const S3_ALIASES: &[(&str, &str)] = &[
    ("ListVersions", "ListObjectVersions"),
    ("SetObjectAcl", "PutObjectAcl"),
    ("InitiateMultipartUpload", "CreateMultipartUpload"),
    (
        "SetBucketLifecycleConfiguration",
        "PutBucketLifecycleConfiguration",
    ),
    ("SetBucketLogging", "PutBucketLogging"),
    (
        "DeleteBucketLifecycleConfiguration",
        "DeleteBucketLifecycle",
    ),
    ("GetBucketReplicationConfiguration", "GetBucketReplication"),
    ("PutBucketReplicationConfiguration", "PutBucketReplication"),
    (
        "DeleteBucketReplicationConfiguration",
        "DeleteBucketReplication",
    ),
];

/// Whitelist entries that are not S3 API operations, so no Rust client call can match them.
const S3_ABSENT: &[&str] = &["DeleteVersion", "RestoreObjectV2", "GeneratePresignedUrl"];

fn whitelist() -> Option<Value> {
    let candidates = [
        std::env::var_os("XRAY_SPEC_DIR").map(PathBuf::from),
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/spec")),
    ];
    let Some(path) = candidates
        .into_iter()
        .flatten()
        .map(|dir| dir.join("aws-whitelist.json"))
        .find(|p| p.is_file())
    else {
        assert!(
            std::env::var_os("XRAY_REQUIRE_SPEC").is_none(),
            "XRAY_REQUIRE_SPEC is set but ../shared/spec/aws-whitelist.json was not found"
        );
        eprintln!(
            "SKIPPED: ../shared/spec/aws-whitelist.json not found (set XRAY_SPEC_DIR); the parameter table was not compared"
        );
        return None;
    };
    let text = std::fs::read_to_string(path).expect("readable whitelist");
    Some(serde_json::from_str(&text).expect("valid JSON"))
}

type Entry = (String, String, Kind);

fn expected(members: Option<&Value>, descriptors: Option<&Value>) -> BTreeSet<Entry> {
    let mut out = BTreeSet::new();
    for m in members.and_then(Value::as_array).into_iter().flatten() {
        let m = m.as_str().expect("member name");
        out.insert((m.to_owned(), to_snake_case(m), Kind::Value));
    }
    for (m, d) in descriptors.and_then(Value::as_object).into_iter().flatten() {
        let flag = |k: &str| d.get(k).and_then(Value::as_bool).unwrap_or(false);
        let kind = if flag("map") && flag("get_keys") {
            Kind::Keys
        } else if flag("list") && flag("get_count") {
            Kind::Count
        } else {
            Kind::Value
        };
        let key = d
            .get("rename_to")
            .and_then(Value::as_str)
            .map_or_else(|| to_snake_case(m), str::to_owned);
        out.insert((m.clone(), key, kind));
    }
    out
}

fn ours(params: &[super::Param]) -> BTreeSet<Entry> {
    params
        .iter()
        .map(|p| (p.member.to_owned(), p.key.to_owned(), p.kind))
        .collect()
}

#[test]
fn table_matches_the_official_whitelist() {
    let Some(whitelist) = whitelist() else { return };
    let listed = whitelist["services"].as_object().expect("services");
    let mut compared = 0;
    for (key, service) in listed {
        let Some(table) = services().iter().find(|s| s.whitelist_key == key) else {
            eprintln!("SKIPPED: service `{key}`: its cargo feature is not enabled");
            continue;
        };
        let operations = service["operations"].as_object().expect("operations");
        let mut seen = BTreeSet::new();
        for (op, spec) in operations {
            if key == "s3" && S3_ABSENT.contains(&op.as_str()) {
                continue;
            }
            let name = S3_ALIASES
                .iter()
                .find(|(from, _)| from == op)
                .map_or(op.as_str(), |(_, to)| to);
            let ours_op = table
                .operations
                .iter()
                .find(|o| o.name == name)
                .unwrap_or_else(|| panic!("{}: {op} ({name}) missing from the table", table.id));
            seen.insert(name);
            assert_eq!(
                ours(ours_op.request),
                expected(
                    spec.get("request_parameters"),
                    spec.get("request_descriptors")
                ),
                "{}.{name} request members",
                table.id
            );
            assert_eq!(
                ours(ours_op.response),
                expected(
                    spec.get("response_parameters"),
                    spec.get("response_descriptors")
                ),
                "{}.{name} response members",
                table.id
            );
            compared += 1;
        }
        for op in table.operations {
            assert!(
                seen.contains(op.name),
                "{}.{} is in the table but not in the whitelist",
                table.id,
                op.name
            );
        }
    }
    eprintln!("compared {compared} operations with the official whitelist");
}
