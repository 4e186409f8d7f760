//! DynamoDB (`aws-sdk-dynamodb`, feature `dynamodb`).
//!
//! Never recorded: item attributes (`Item`, `Key`, expression values), and the key values inside
//! `ItemCollectionMetrics.ItemCollectionKey`, which are item contents; the metrics keep only
//! `SizeEstimateRangeGB`.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, Capacity, ConsumedCapacity, CreateGlobalSecondaryIndexAction,
    DeleteGlobalSecondaryIndexAction, GlobalSecondaryIndex, GlobalSecondaryIndexUpdate,
    ItemCollectionMetrics, KeySchemaElement, KeyType, LocalSecondaryIndex, OnDemandThroughput,
    Projection, ProjectionType, ProvisionedThroughput, ScalarAttributeType, Select,
    UpdateGlobalSecondaryIndexAction, WarmThroughput,
};
use serde_json::Value;

use super::ToValue;
use super::values::{Obj, sdk_enums};

super::whitelist! {
    service: "DynamoDB", whitelist_key: "dynamodb", krate: aws_sdk_dynamodb;

    BatchGetItem in batch_get_item {
        BatchGetItemInput: ["RequestItems" => keys request_items as "table_names"],
        BatchGetItemOutput: ["ConsumedCapacity" => value consumed_capacity],
    }
    BatchWriteItem in batch_write_item {
        BatchWriteItemInput: ["RequestItems" => keys request_items as "table_names"],
        BatchWriteItemOutput: [
            "ConsumedCapacity" => value consumed_capacity,
            "ItemCollectionMetrics" => value item_collection_metrics,
        ],
    }
    CreateTable in create_table {
        CreateTableInput: [
            "GlobalSecondaryIndexes" => value global_secondary_indexes,
            "LocalSecondaryIndexes" => value local_secondary_indexes,
            "ProvisionedThroughput" => value provisioned_throughput,
            "TableName" => value table_name,
        ],
    }
    DeleteItem in delete_item {
        DeleteItemInput: ["TableName" => value table_name],
        DeleteItemOutput: [
            "ConsumedCapacity" => value consumed_capacity,
            "ItemCollectionMetrics" => value item_collection_metrics,
        ],
    }
    DeleteTable in delete_table {
        DeleteTableInput: ["TableName" => value table_name],
    }
    DescribeTable in describe_table {
        DescribeTableInput: ["TableName" => value table_name],
    }
    GetItem in get_item {
        GetItemInput: [
            "ConsistentRead" => value consistent_read,
            "ProjectionExpression" => value projection_expression,
            "TableName" => value table_name,
        ],
        GetItemOutput: ["ConsumedCapacity" => value consumed_capacity],
    }
    ListTables in list_tables {
        ListTablesInput: [
            "ExclusiveStartTableName" => value exclusive_start_table_name,
            "Limit" => value limit,
        ],
        ListTablesOutput: ["TableNames" => count table_names as "table_count"],
    }
    PutItem in put_item {
        PutItemInput: ["TableName" => value table_name],
        PutItemOutput: [
            "ConsumedCapacity" => value consumed_capacity,
            "ItemCollectionMetrics" => value item_collection_metrics,
        ],
    }
    Query in query {
        QueryInput: [
            "AttributesToGet" => value attributes_to_get,
            "ConsistentRead" => value consistent_read,
            "IndexName" => value index_name,
            "Limit" => value limit,
            "ProjectionExpression" => value projection_expression,
            "ScanIndexForward" => value scan_index_forward,
            "Select" => value select,
            "TableName" => value table_name,
        ],
        QueryOutput: ["ConsumedCapacity" => value consumed_capacity],
    }
    Scan in scan {
        ScanInput: [
            "AttributesToGet" => value attributes_to_get,
            "ConsistentRead" => value consistent_read,
            "IndexName" => value index_name,
            "Limit" => value limit,
            "ProjectionExpression" => value projection_expression,
            "Segment" => value segment,
            "Select" => value select,
            "TableName" => value table_name,
            "TotalSegments" => value total_segments,
        ],
        ScanOutput: [
            "ConsumedCapacity" => value consumed_capacity,
            "Count" => value count,
            "ScannedCount" => value scanned_count,
        ],
    }
    UpdateItem in update_item {
        UpdateItemInput: ["TableName" => value table_name],
        UpdateItemOutput: [
            "ConsumedCapacity" => value consumed_capacity,
            "ItemCollectionMetrics" => value item_collection_metrics,
        ],
    }
    UpdateTable in update_table {
        UpdateTableInput: [
            "AttributeDefinitions" => value attribute_definitions,
            "GlobalSecondaryIndexUpdates" => value global_secondary_index_updates,
            "ProvisionedThroughput" => value provisioned_throughput,
            "TableName" => value table_name,
        ],
    }
}

sdk_enums!(Select, KeyType, ScalarAttributeType, ProjectionType);

impl ToValue for ConsumedCapacity {
    fn to_value(&self) -> Option<Value> {
        Obj::new()
            .field("TableName", &self.table_name)
            .field("CapacityUnits", &self.capacity_units)
            .field("ReadCapacityUnits", &self.read_capacity_units)
            .field("WriteCapacityUnits", &self.write_capacity_units)
            .field("Table", &self.table)
            .field("LocalSecondaryIndexes", &self.local_secondary_indexes)
            .field("GlobalSecondaryIndexes", &self.global_secondary_indexes)
            .build()
    }
}

impl ToValue for Capacity {
    fn to_value(&self) -> Option<Value> {
        Obj::new()
            .field("ReadCapacityUnits", &self.read_capacity_units)
            .field("WriteCapacityUnits", &self.write_capacity_units)
            .field("CapacityUnits", &self.capacity_units)
            .build()
    }
}

impl ToValue for ItemCollectionMetrics {
    fn to_value(&self) -> Option<Value> {
        // `ItemCollectionKey` holds the partition key value of an item: content, never recorded.
        Obj::new()
            .field("SizeEstimateRangeGB", &self.size_estimate_range_gb)
            .build()
    }
}

impl ToValue for ProvisionedThroughput {
    fn to_value(&self) -> Option<Value> {
        Obj::new()
            .field("ReadCapacityUnits", &self.read_capacity_units)
            .field("WriteCapacityUnits", &self.write_capacity_units)
            .build()
    }
}

impl ToValue for OnDemandThroughput {
    fn to_value(&self) -> Option<Value> {
        Obj::new()
            .field("MaxReadRequestUnits", &self.max_read_request_units)
            .field("MaxWriteRequestUnits", &self.max_write_request_units)
            .build()
    }
}

impl ToValue for WarmThroughput {
    fn to_value(&self) -> Option<Value> {
        Obj::new()
            .field("ReadUnitsPerSecond", &self.read_units_per_second)
            .field("WriteUnitsPerSecond", &self.write_units_per_second)
            .build()
    }
}

impl ToValue for KeySchemaElement {
    fn to_value(&self) -> Option<Value> {
        Obj::new()
            .field("AttributeName", &self.attribute_name)
            .field("KeyType", &self.key_type)
            .build()
    }
}

impl ToValue for Projection {
    fn to_value(&self) -> Option<Value> {
        Obj::new()
            .field("ProjectionType", &self.projection_type)
            .field("NonKeyAttributes", &self.non_key_attributes)
            .build()
    }
}

impl ToValue for GlobalSecondaryIndex {
    fn to_value(&self) -> Option<Value> {
        Obj::new()
            .field("IndexName", &self.index_name)
            .field("KeySchema", &self.key_schema)
            .field("Projection", &self.projection)
            .field("ProvisionedThroughput", &self.provisioned_throughput)
            .field("OnDemandThroughput", &self.on_demand_throughput)
            .field("WarmThroughput", &self.warm_throughput)
            .build()
    }
}

impl ToValue for LocalSecondaryIndex {
    fn to_value(&self) -> Option<Value> {
        Obj::new()
            .field("IndexName", &self.index_name)
            .field("KeySchema", &self.key_schema)
            .field("Projection", &self.projection)
            .build()
    }
}

impl ToValue for AttributeDefinition {
    fn to_value(&self) -> Option<Value> {
        Obj::new()
            .field("AttributeName", &self.attribute_name)
            .field("AttributeType", &self.attribute_type)
            .build()
    }
}

impl ToValue for GlobalSecondaryIndexUpdate {
    fn to_value(&self) -> Option<Value> {
        Obj::new()
            .field("Update", &self.update)
            .field("Create", &self.create)
            .field("Delete", &self.delete)
            .build()
    }
}

impl ToValue for CreateGlobalSecondaryIndexAction {
    fn to_value(&self) -> Option<Value> {
        Obj::new()
            .field("IndexName", &self.index_name)
            .field("KeySchema", &self.key_schema)
            .field("Projection", &self.projection)
            .field("ProvisionedThroughput", &self.provisioned_throughput)
            .field("OnDemandThroughput", &self.on_demand_throughput)
            .field("WarmThroughput", &self.warm_throughput)
            .build()
    }
}

impl ToValue for UpdateGlobalSecondaryIndexAction {
    fn to_value(&self) -> Option<Value> {
        Obj::new()
            .field("IndexName", &self.index_name)
            .field("ProvisionedThroughput", &self.provisioned_throughput)
            .field("OnDemandThroughput", &self.on_demand_throughput)
            .field("WarmThroughput", &self.warm_throughput)
            .build()
    }
}

impl ToValue for DeleteGlobalSecondaryIndexAction {
    fn to_value(&self) -> Option<Value> {
        Obj::new().field("IndexName", &self.index_name).build()
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::operation::get_item::{GetItemInput, GetItemOutput};
    use aws_sdk_dynamodb::operation::put_item::PutItemOutput;
    use aws_sdk_dynamodb::types::AttributeValue;
    use aws_smithy_runtime_api::client::interceptors::context::{Input, Output};
    use xray_core::model::Aws;

    use super::*;

    #[test]
    fn get_item_request_and_response() {
        let input = GetItemInput::builder()
            .table_name("orders")
            .consistent_read(true)
            .key("id", AttributeValue::S("secret-key-value".into()))
            .build()
            .unwrap();
        let mut aws = Aws::default();
        SERVICE.apply_request("GetItem", &Input::erase(input), &mut aws);
        assert_eq!(aws.table_name.as_deref(), Some("orders"));
        assert_eq!(aws.extra["consistent_read"], Value::Bool(true));
        assert!(!aws.extra.contains_key("projection_expression"));

        let output = GetItemOutput::builder()
            .item("id", AttributeValue::S("secret-item-value".into()))
            .consumed_capacity(
                ConsumedCapacity::builder()
                    .table_name("orders")
                    .capacity_units(0.5)
                    .build(),
            )
            .build();
        assert!(SERVICE.apply_response("GetItem", &Output::erase(output), &mut aws));
        assert_eq!(
            aws.extra["consumed_capacity"],
            serde_json::json!({"TableName": "orders", "CapacityUnits": 0.5})
        );
        let text = serde_json::to_string(&aws).unwrap();
        assert!(!text.contains("secret"), "{text}");
    }

    #[test]
    fn item_collection_keys_are_not_recorded() {
        let output = PutItemOutput::builder()
            .item_collection_metrics(
                ItemCollectionMetrics::builder()
                    .item_collection_key("pk", AttributeValue::S("secret-pk".into()))
                    .size_estimate_range_gb(0.0)
                    .size_estimate_range_gb(1.0)
                    .build(),
            )
            .build();
        let mut aws = Aws::default();
        SERVICE.apply_response("PutItem", &Output::erase(output), &mut aws);
        assert_eq!(
            aws.extra["item_collection_metrics"],
            serde_json::json!({"SizeEstimateRangeGB": [0.0, 1.0]})
        );
    }

    #[test]
    fn nothing_is_kept_when_no_member_is_present() {
        use aws_sdk_dynamodb::operation::get_item::{GetItemInput, GetItemOutput};
        let mut aws = Aws::default();
        let output = GetItemOutput::builder().build();
        assert!(!SERVICE.apply_response("GetItem", &Output::erase(output), &mut aws));
        assert!(aws.extra.is_empty());
        let input = GetItemInput::builder().build().unwrap();
        assert!((SERVICE.request)("GetItem", &Input::erase(input)).is_none());
        // A present member is kept.
        let input = GetItemInput::builder().table_name("t").build().unwrap();
        assert!((SERVICE.request)("GetItem", &Input::erase(input)).is_some());
    }

    #[test]
    fn mismatched_types_are_ignored() {
        // The operation name says GetItem but the input is something else: nothing recorded.
        let mut aws = Aws::default();
        SERVICE.apply_request("GetItem", &Input::erase(42_u8), &mut aws);
        assert_eq!(aws, Aws::default());
    }
}
