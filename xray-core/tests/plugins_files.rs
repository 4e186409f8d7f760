//! The Elastic Beanstalk and EKS plugins, which read files: real temporary files for the
//! environment file, the cgroup file and the service-account token; the emitted documents are
//! checked against the official schema.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod plugins_support;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use plugins_support::{
    CONTAINER_ID, TempDir, cgroup_file, kernel_hostname, one_segment, recorder_with,
};
use serde_json::{Value, json};
use xray_core::plugins::{Detected, EksPlugin, ElasticBeanstalkPlugin, NotDetected, Plugin, Probe};

#[test]
fn elastic_beanstalk_environment_file() {
    let dir = TempDir::new("eb");
    // What Elastic Beanstalk writes (the official SDKs' test fixtures have this shape).
    let conf = dir.file(
        "environment.conf",
        r#"{"deployment_id":8,"version_label":"app-0a1b-260101_120000","environment_name":"orders-prod"}"#,
    );
    let (recorder, emitter) = recorder_with(&[], |b| {
        b.plugin(ElasticBeanstalkPlugin::new().config_path(&conf))
    });
    assert_eq!(
        recorder.origin(),
        Some("AWS::ElasticBeanstalk::Environment")
    );
    let json = emitter_json_of_one_segment(&recorder, &emitter);
    assert_eq!(json["origin"], "AWS::ElasticBeanstalk::Environment");
    assert_eq!(
        json["aws"]["elastic_beanstalk"],
        json!({"environment_name": "orders-prod", "version_label": "app-0a1b-260101_120000", "deployment_id": 8})
    );
    validate(&json);
}

#[test]
fn elastic_beanstalk_lenient_values_and_extra_keys() {
    let dir = TempDir::new("eb2");
    let conf = dir.file(
        "environment.conf",
        r#"{"deployment_id":"12","version_label":3,"environment_name":"e","platform":"rust"}"#,
    );
    let found = ElasticBeanstalkPlugin::new()
        .config_path(&conf)
        .detect(&Probe::with_env(
            std::time::Duration::from_millis(300),
            |_| None,
        ))
        .unwrap();
    let eb = found.aws.elastic_beanstalk.unwrap();
    assert_eq!(eb.deployment_id, Some(12));
    assert_eq!(eb.version_label.as_deref(), Some("3"));
    assert_eq!(eb.extra["platform"], "rust");
}

#[test]
fn elastic_beanstalk_missing_or_bad_file() {
    let dir = TempDir::new("eb3");
    for path in [
        dir.0.join("absent.conf"),
        dir.file("bad.conf", "deployment_id=8"),
        dir.file("empty.conf", "{}"),
        dir.file("array.conf", "[1,2]"),
    ] {
        let (recorder, emitter) = recorder_with(&[], |b| {
            b.plugin(ElasticBeanstalkPlugin::new().config_path(&path))
        });
        assert_eq!(recorder.origin(), None, "{}", path.display());
        let doc = one_segment(&recorder, &emitter);
        assert!(doc.aws.unwrap().elastic_beanstalk.is_none());
    }
}

#[test]
fn eks_pod_from_token_file_and_cgroup() {
    let dir = TempDir::new("eks");
    let token = dir.file("token", "eyJhbGciOi.not.real");
    let cgroup = dir.file("cgroup", &cgroup_file());
    let (recorder, emitter) = recorder_with(&[], |b| {
        b.plugin(
            EksPlugin::new()
                .cluster_name("prod-eu")
                .token_path(&token)
                .cgroup_path(&cgroup),
        )
    });
    assert_eq!(recorder.origin(), Some("AWS::EKS::Container"));
    let json = emitter_json_of_one_segment(&recorder, &emitter);
    let mut expected = json!({"cluster_name": "prod-eu", "container_id": CONTAINER_ID});
    if let Some(host) = kernel_hostname() {
        expected["pod"] = host.into();
    }
    assert_eq!(json["aws"]["eks"], expected);
    assert_eq!(
        json["aws"]["cloudwatch_logs"],
        json!([{"log_group": "/aws/containerinsights/prod-eu/application"}])
    );
    validate(&json);
}

#[test]
fn eks_by_variable_without_cluster_name() {
    let dir = TempDir::new("eks2");
    let (recorder, emitter) = recorder_with(&[("KUBERNETES_SERVICE_HOST", "10.100.0.1")], |b| {
        b.plugin(
            EksPlugin::new()
                .token_path(dir.0.join("no-token"))
                .cgroup_path(dir.file("cgroup", "0::/\n")),
        )
    });
    assert_eq!(recorder.origin(), Some("AWS::EKS::Container"));
    let aws = one_segment(&recorder, &emitter).aws.unwrap();
    let eks = aws.eks.unwrap();
    assert_eq!(eks.cluster_name, None, "left out, not null");
    assert_eq!(eks.container_id, None, "cgroup v2: no id");
    assert_eq!(aws.cloudwatch_logs, None);
}

#[test]
fn not_in_kubernetes() {
    let dir = TempDir::new("eks3");
    let (recorder, emitter) = recorder_with(&[], |b| {
        b.plugin(EksPlugin::new().token_path(dir.0.join("no-token")))
    });
    assert_eq!(recorder.origin(), None);
    assert!(one_segment(&recorder, &emitter).aws.unwrap().eks.is_none());
}

#[test]
fn beanstalk_beats_eks_and_both_blocks_stay() {
    let dir = TempDir::new("both");
    let conf = dir.file("environment.conf", r#"{"environment_name":"e"}"#);
    let (recorder, emitter) = recorder_with(&[("KUBERNETES_SERVICE_HOST", "10.0.0.1")], |b| {
        b.plugin(EksPlugin::new().token_path(dir.0.join("none")))
            .plugin(ElasticBeanstalkPlugin::new().config_path(&conf))
    });
    let doc = one_segment(&recorder, &emitter);
    assert_eq!(
        doc.origin.as_deref(),
        Some("AWS::ElasticBeanstalk::Environment")
    );
    let aws = doc.aws.unwrap();
    assert!(aws.eks.is_some() && aws.elastic_beanstalk.is_some());
}

#[test]
fn explicit_origin_and_blocks_win() {
    let dir = TempDir::new("explicit");
    let conf = dir.file("environment.conf", r#"{"environment_name":"from-file"}"#);
    let (recorder, emitter) = recorder_with(&[], |b| {
        b.origin("AWS::AppRunner::Service")
            .aws_resource(|aws| {
                let mut eb = xray_core::model::ElasticBeanstalk::default();
                eb.environment_name = Some("from-code".into());
                aws.elastic_beanstalk = Some(Box::new(eb));
            })
            .plugin(ElasticBeanstalkPlugin::new().config_path(&conf))
    });
    let doc = one_segment(&recorder, &emitter);
    assert_eq!(doc.origin.as_deref(), Some("AWS::AppRunner::Service"));
    assert_eq!(
        doc.aws
            .unwrap()
            .elastic_beanstalk
            .unwrap()
            .environment_name
            .as_deref(),
        Some("from-code")
    );
}

/// What a probe saw: the variable, and whether there was time left.
type Sightings = Arc<Mutex<Vec<(Option<String>, bool)>>>;

/// A plugin of the application's own, which records what its probe saw.
#[derive(Debug, Default)]
struct Recording {
    seen: Sightings,
}

impl Plugin for Recording {
    fn name(&self) -> &str {
        "recording"
    }

    fn detect(&self, probe: &Probe) -> Result<Detected, NotDetected> {
        let var = probe.env("MY_PLATFORM");
        self.seen
            .lock()
            .unwrap()
            .push((var.clone(), !probe.remaining().is_zero()));
        let platform = var.ok_or_else(|| NotDetected::new("MY_PLATFORM is not set"))?;
        Ok(Detected::new("Custom::Platform").with_aws(|aws| aws.account_id = Some(platform)))
    }
}

#[test]
fn custom_plugins_probe_once_at_build_time() {
    let plugin = Recording::default();
    let seen = Arc::clone(&plugin.seen);
    let (recorder, emitter) =
        recorder_with(&[("MY_PLATFORM", " 111122223333 ")], |b| b.plugin(plugin));
    for _ in 0..3 {
        let doc = one_segment(&recorder, &emitter);
        assert_eq!(doc.origin.as_deref(), Some("Custom::Platform"));
        assert_eq!(doc.aws.unwrap().account_id.as_deref(), Some("111122223333"));
    }
    assert_eq!(
        *seen.lock().unwrap(),
        [(Some("111122223333".to_owned()), true)],
        "one probe, not one per segment"
    );
}

#[test]
fn disabled_recorder_does_not_probe() {
    let plugin = Recording::default();
    let seen = Arc::clone(&plugin.seen);
    let recorder = xray_core::Recorder::builder()
        .ignore_env()
        .enabled(false)
        .plugin(plugin)
        .build()
        .unwrap();
    assert_eq!(recorder.origin(), None);
    assert!(seen.lock().unwrap().is_empty());
}

fn emitter_json_of_one_segment(
    recorder: &xray_core::Recorder,
    emitter: &xray_core::emit::MemoryEmitter,
) -> Value {
    recorder.begin_segment("probe-test").end();
    let mut docs = emitter.json();
    emitter.clear();
    assert_eq!(docs.len(), 1);
    docs.remove(0)
}

/// Validates against `segment-schema.json` when the spec is around (as `conformance.rs` does).
fn validate(doc: &Value) {
    let dir = [
        std::env::var_os("XRAY_SPEC_DIR").map(PathBuf::from),
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/spec")),
    ]
    .into_iter()
    .flatten()
    .find(|p| p.join("segment-schema.json").is_file());
    let Some(dir) = dir else {
        eprintln!("skipped schema check: ../shared/spec not found (set XRAY_SPEC_DIR)");
        return;
    };
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("segment-schema.json")).unwrap())
            .unwrap();
    let validator = jsonschema::draft4::new(&schema).unwrap();
    let errors: Vec<String> = validator.iter_errors(doc).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}\n{doc}");
}
