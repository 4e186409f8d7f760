//! SQS (`aws-sdk-sqs`, feature `sqs`).
//!
//! Never recorded: message bodies, receipt handles and message attribute values (only the
//! attribute names of `SendMessage`).

use aws_sdk_sqs::types::{BatchResultErrorEntry, QueueAttributeName};
use serde_json::Value;

use super::ToValue;
use super::values::{Obj, sdk_enums};

super::whitelist! {
    service: "SQS", whitelist_key: "sqs", krate: aws_sdk_sqs;

    AddPermission in add_permission {
        AddPermissionInput: ["Label" => value label, "QueueUrl" => value queue_url],
    }
    ChangeMessageVisibility in change_message_visibility {
        ChangeMessageVisibilityInput: [
            "QueueUrl" => value queue_url,
            "VisibilityTimeout" => value visibility_timeout,
        ],
    }
    ChangeMessageVisibilityBatch in change_message_visibility_batch {
        ChangeMessageVisibilityBatchInput: ["QueueUrl" => value queue_url],
        ChangeMessageVisibilityBatchOutput: ["Failed" => value failed],
    }
    CreateQueue in create_queue {
        CreateQueueInput: ["Attributes" => value attributes, "QueueName" => value queue_name],
    }
    DeleteMessage in delete_message {
        DeleteMessageInput: ["QueueUrl" => value queue_url],
    }
    DeleteMessageBatch in delete_message_batch {
        DeleteMessageBatchInput: ["QueueUrl" => value queue_url],
        DeleteMessageBatchOutput: ["Failed" => value failed],
    }
    DeleteQueue in delete_queue {
        DeleteQueueInput: ["QueueUrl" => value queue_url],
    }
    GetQueueAttributes in get_queue_attributes {
        GetQueueAttributesInput: ["QueueUrl" => value queue_url],
        GetQueueAttributesOutput: ["Attributes" => value attributes],
    }
    GetQueueUrl in get_queue_url {
        GetQueueUrlInput: [
            "QueueName" => value queue_name,
            "QueueOwnerAWSAccountId" => value queue_owner_aws_account_id,
        ],
        GetQueueUrlOutput: ["QueueUrl" => value queue_url],
    }
    ListDeadLetterSourceQueues in list_dead_letter_source_queues {
        ListDeadLetterSourceQueuesInput: ["QueueUrl" => value queue_url],
        ListDeadLetterSourceQueuesOutput: ["QueueUrls" => value queue_urls],
    }
    ListQueues in list_queues {
        ListQueuesInput: ["QueueNamePrefix" => value queue_name_prefix],
        ListQueuesOutput: ["QueueUrls" => count queue_urls as "queue_count"],
    }
    PurgeQueue in purge_queue {
        PurgeQueueInput: ["QueueUrl" => value queue_url],
    }
    ReceiveMessage in receive_message {
        ReceiveMessageInput: [
            "AttributeNames" => value attribute_names,
            "MaxNumberOfMessages" => value max_number_of_messages,
            "MessageAttributeNames" => value message_attribute_names,
            "QueueUrl" => value queue_url,
            "VisibilityTimeout" => value visibility_timeout,
            "WaitTimeSeconds" => value wait_time_seconds,
        ],
        ReceiveMessageOutput: ["Messages" => count messages as "message_count"],
    }
    RemovePermission in remove_permission {
        RemovePermissionInput: ["QueueUrl" => value queue_url],
    }
    SendMessage in send_message {
        SendMessageInput: [
            "DelaySeconds" => value delay_seconds,
            "QueueUrl" => value queue_url,
            "MessageAttributes" => keys message_attributes as "message_attribute_names",
        ],
        SendMessageOutput: ["MessageId" => value message_id],
    }
    SendMessageBatch in send_message_batch {
        SendMessageBatchInput: [
            "QueueUrl" => value queue_url,
            "Entries" => count entries as "message_count",
        ],
        SendMessageBatchOutput: [
            "Failed" => count failed as "failed_count",
            "Successful" => count successful as "successful_count",
        ],
    }
    SetQueueAttributes in set_queue_attributes {
        SetQueueAttributesInput: [
            "QueueUrl" => value queue_url,
            "Attributes" => keys attributes as "attribute_names",
        ],
    }
}

sdk_enums!(QueueAttributeName);

impl ToValue for BatchResultErrorEntry {
    fn to_value(&self) -> Option<Value> {
        Obj::new()
            .field("Id", &self.id)
            .field("SenderFault", &self.sender_fault)
            .field("Code", &self.code)
            .field("Message", &self.message)
            .build()
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_sqs::operation::receive_message::ReceiveMessageOutput;
    use aws_sdk_sqs::operation::send_message::{SendMessageInput, SendMessageOutput};
    use aws_sdk_sqs::types::{Message, MessageAttributeValue};
    use aws_smithy_runtime_api::client::interceptors::context::{Input, Output};
    use xray_core::model::Aws;

    use super::*;

    #[test]
    fn send_and_receive() {
        let input = SendMessageInput::builder()
            .queue_url("http://sqs/q")
            .message_body("secret body")
            .message_attributes(
                "trace",
                MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value("secret attribute")
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        let mut aws = Aws::default();
        SERVICE.apply_request("SendMessage", &Input::erase(input), &mut aws);
        SERVICE.apply_response(
            "SendMessage",
            &Output::erase(SendMessageOutput::builder().message_id("m-1").build()),
            &mut aws,
        );
        assert_eq!(aws.queue_url.as_deref(), Some("http://sqs/q"));
        assert_eq!(aws.extra["message_id"], Value::from("m-1"));
        assert_eq!(
            aws.extra["message_attribute_names"],
            serde_json::json!(["trace"])
        );
        let text = serde_json::to_string(&aws).unwrap();
        assert!(!text.contains("secret"), "{text}");

        let received = ReceiveMessageOutput::builder()
            .messages(Message::builder().body("secret body").build())
            .messages(Message::builder().body("secret body 2").build())
            .build();
        let mut aws = Aws::default();
        SERVICE.apply_response("ReceiveMessage", &Output::erase(received), &mut aws);
        assert_eq!(aws.extra["message_count"], Value::from(2));
        assert!(!serde_json::to_string(&aws).unwrap().contains("secret"));
    }
}
