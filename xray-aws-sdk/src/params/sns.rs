//! SNS (`aws-sdk-sns`, feature `sns`). Message contents are never recorded.

super::whitelist! {
    service: "SNS", whitelist_key: "sns", krate: aws_sdk_sns;

    Publish in publish {
        PublishInput: ["TopicArn" => value topic_arn],
    }
    PublishBatch in publish_batch {
        PublishBatchInput: ["TopicArn" => value topic_arn],
    }
}
