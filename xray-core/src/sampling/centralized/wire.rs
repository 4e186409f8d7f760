//! The JSON of `GetSamplingRules` and `GetSamplingTargets` (X-Ray API reference; Go
//! `xray_service_api.go`). Unknown fields are ignored, so newer API versions still parse.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// The body of `POST /GetSamplingRules`: the first page is all the SDKs read.
pub(super) const GET_SAMPLING_RULES_BODY: &[u8] = br#"{"NextToken":null}"#;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct GetSamplingRulesOutput {
    /// Required: a response without it is not from X-Ray.
    pub(super) sampling_rule_records: Vec<SamplingRuleRecord>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct SamplingRuleRecord {
    pub(super) sampling_rule: Option<SamplingRule>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct SamplingRule {
    pub(super) rule_name: Option<String>,
    #[serde(rename = "ResourceARN")]
    pub(super) resource_arn: Option<String>,
    pub(super) priority: Option<i64>,
    pub(super) fixed_rate: Option<f64>,
    pub(super) reservoir_size: Option<i64>,
    pub(super) service_name: Option<String>,
    pub(super) service_type: Option<String>,
    pub(super) host: Option<String>,
    #[serde(rename = "HTTPMethod")]
    pub(super) http_method: Option<String>,
    #[serde(rename = "URLPath")]
    pub(super) url_path: Option<String>,
    pub(super) version: Option<i64>,
    pub(super) attributes: Option<HashMap<String, String>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct GetSamplingTargetsInput<'a> {
    pub(super) sampling_statistics_documents: &'a [SamplingStatisticsDocument],
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct SamplingStatisticsDocument {
    pub(super) rule_name: String,
    #[serde(rename = "ClientID")]
    pub(super) client_id: &'static str,
    /// Epoch seconds, an integer as Go and Node send.
    pub(super) timestamp: u64,
    pub(super) request_count: u64,
    pub(super) sampled_count: u64,
    pub(super) borrow_count: u64,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct GetSamplingTargetsOutput {
    /// Required: a response without it is not from X-Ray.
    pub(super) sampling_target_documents: Vec<SamplingTargetDocument>,
    pub(super) last_rule_modification: Option<f64>,
    pub(super) unprocessed_statistics: Option<Vec<UnprocessedStatistics>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct SamplingTargetDocument {
    pub(super) rule_name: Option<String>,
    pub(super) fixed_rate: Option<f64>,
    pub(super) reservoir_quota: Option<i64>,
    #[serde(rename = "ReservoirQuotaTTL")]
    pub(super) reservoir_quota_ttl: Option<f64>,
    pub(super) interval: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct UnprocessedStatistics {
    pub(super) rule_name: Option<String>,
    pub(super) error_code: Option<String>,
    pub(super) message: Option<String>,
}

/// Epoch seconds as X-Ray sends them (a JSON number, possibly fractional) → whole seconds.
pub(super) fn epoch_secs(v: f64) -> u64 {
    if v.is_nan() || v <= 0.0 {
        0
    } else {
        // Saturating float-to-int conversion is the intent.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let s = v as u64;
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spec_examples_parse() {
        let rules: GetSamplingRulesOutput = serde_json::from_str(
            r#"{"NextToken": "string-or-null",
 "SamplingRuleRecords": [
   {"CreatedAt": 1530573954.0, "ModifiedAt": 1530920505.0,
    "SamplingRule": {
      "RuleName": "base-scorekeep", "RuleARN": "arn:aws:xray:us-east-1::sampling-rule/base-scorekeep",
      "ResourceARN": "*", "Priority": 9000, "FixedRate": 0.1, "ReservoirSize": 2,
      "ServiceName": "Scorekeep", "ServiceType": "*", "Host": "*", "HTTPMethod": "*", "URLPath": "*",
      "Version": 1, "Attributes": {}, "SamplingRateBoost": {"MaxRate": 1}}}]}"#,
        )
        .unwrap();
        let r = rules.sampling_rule_records[0]
            .sampling_rule
            .clone()
            .unwrap();
        assert_eq!(r.rule_name.as_deref(), Some("base-scorekeep"));
        assert_eq!(
            (r.priority, r.reservoir_size, r.version),
            (Some(9000), Some(2), Some(1))
        );
        assert_eq!(r.http_method.as_deref(), Some("*"));

        let targets: GetSamplingTargetsOutput = serde_json::from_str(
            r#"{"LastRuleModification": 1530920505.0,
 "SamplingTargetDocuments": [
   {"RuleName": "base-scorekeep", "FixedRate": 0.1, "ReservoirQuota": 2,
    "ReservoirQuotaTTL": 1530923107.0, "Interval": 10}],
 "UnprocessedStatistics": [{"RuleName": "x", "ErrorCode": "400", "Message": "..."}]}"#,
        )
        .unwrap();
        let t = &targets.sampling_target_documents[0];
        assert_eq!(t.reservoir_quota_ttl.map(epoch_secs), Some(1_530_923_107));
        assert_eq!(
            targets.unprocessed_statistics.unwrap()[0]
                .error_code
                .as_deref(),
            Some("400")
        );

        let doc = SamplingStatisticsDocument {
            rule_name: "base-scorekeep".into(),
            client_id: "4d1e0c1a2b3c4d5e6f708192",
            timestamp: 1_530_923_097,
            request_count: 110,
            sampled_count: 20,
            borrow_count: 10,
        };
        let body = serde_json::to_value(GetSamplingTargetsInput {
            sampling_statistics_documents: &[doc],
        })
        .unwrap();
        assert_eq!(
            body,
            serde_json::json!({"SamplingStatisticsDocuments": [
              {"RuleName": "base-scorekeep", "ClientID": "4d1e0c1a2b3c4d5e6f708192",
               "Timestamp": 1530923097, "RequestCount": 110, "SampledCount": 20, "BorrowCount": 10}]})
        );
    }

    #[test]
    fn garbage_is_rejected() {
        assert!(serde_json::from_str::<GetSamplingRulesOutput>("{}").is_err());
        assert!(
            serde_json::from_str::<GetSamplingTargetsOutput>(r#"{"Message": "denied"}"#).is_err()
        );
        assert_eq!(epoch_secs(-3.0), 0);
        assert_eq!(epoch_secs(f64::NAN), 0);
        assert_eq!(epoch_secs(1e300), u64::MAX);
    }
}
