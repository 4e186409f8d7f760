//! S3 (`aws-sdk-s3`, feature `s3`). Object contents are never recorded.
//!
//! The official whitelist names some operations by older SDK names; they are listed here under
//! the S3 API names the Rust SDK uses (`ListVersions` → `ListObjectVersions`, `SetObjectAcl` →
//! `PutObjectAcl`, `InitiateMultipartUpload` → `CreateMultipartUpload`,
//! `SetBucketLifecycleConfiguration` → `PutBucketLifecycleConfiguration`, `SetBucketLogging` →
//! `PutBucketLogging`, `DeleteBucketLifecycleConfiguration` → `DeleteBucketLifecycle`,
//! `{Get,Put,Delete}BucketReplicationConfiguration` → `{Get,Put,Delete}BucketReplication`).
//! `DeleteVersion`, `RestoreObjectV2` and `GeneratePresignedUrl` are not S3 API operations
//! (presigning sends nothing, and the interceptor does not trace it).

super::whitelist! {
    service: "S3", whitelist_key: "s3", krate: aws_sdk_s3;

    AbortMultipartUpload in abort_multipart_upload {
        AbortMultipartUploadInput: [
            "Key" => value key,
            "Bucket" => value bucket as "bucket_name",
        ],
    }
    CompleteMultipartUpload in complete_multipart_upload {
        CompleteMultipartUploadInput: [
            "Key" => value key,
            "Bucket" => value bucket as "bucket_name",
        ],
    }
    CopyObject in copy_object {
        CopyObjectInput: [
            "CopySource" => value copy_source,
            "Bucket" => value bucket,
            "Key" => value key,
        ],
    }
    CreateBucket in create_bucket { CreateBucketInput: ["Bucket" => value bucket as "bucket_name"] }
    CreateMultipartUpload in create_multipart_upload {
        CreateMultipartUploadInput: [
            "Key" => value key,
            "Bucket" => value bucket as "bucket_name",
        ],
    }
    DeleteBucket in delete_bucket { DeleteBucketInput: ["Bucket" => value bucket as "bucket_name"] }
    DeleteBucketAnalyticsConfiguration in delete_bucket_analytics_configuration {
        DeleteBucketAnalyticsConfigurationInput: [
            "Bucket" => value bucket as "bucket_name",
        ],
    }
    DeleteBucketCors in delete_bucket_cors {
        DeleteBucketCorsInput: [
            "Bucket" => value bucket as "bucket_name",
        ],
    }
    DeleteBucketEncryption in delete_bucket_encryption {
        DeleteBucketEncryptionInput: [
            "Bucket" => value bucket as "bucket_name",
        ],
    }
    DeleteBucketInventoryConfiguration in delete_bucket_inventory_configuration {
        DeleteBucketInventoryConfigurationInput: [
            "Bucket" => value bucket as "bucket_name",
        ],
    }
    DeleteBucketLifecycle in delete_bucket_lifecycle {
        DeleteBucketLifecycleInput: [
            "Bucket" => value bucket as "bucket_name",
        ],
    }
    DeleteBucketMetricsConfiguration in delete_bucket_metrics_configuration {
        DeleteBucketMetricsConfigurationInput: [
            "Bucket" => value bucket as "bucket_name",
        ],
    }
    DeleteBucketPolicy in delete_bucket_policy {
        DeleteBucketPolicyInput: [
            "Bucket" => value bucket as "bucket_name",
        ],
    }
    DeleteBucketReplication in delete_bucket_replication {
        DeleteBucketReplicationInput: [
            "Bucket" => value bucket as "bucket_name",
        ],
    }
    DeleteBucketTagging in delete_bucket_tagging {
        DeleteBucketTaggingInput: [
            "Bucket" => value bucket as "bucket_name",
        ],
    }
    DeleteBucketWebsite in delete_bucket_website {
        DeleteBucketWebsiteInput: [
            "Bucket" => value bucket as "bucket_name",
        ],
    }
    DeleteObject in delete_object {
        DeleteObjectInput: [
            "Key" => value key,
            "Bucket" => value bucket as "bucket_name",
        ],
    }
    DeleteObjectTagging in delete_object_tagging {
        DeleteObjectTaggingInput: [
            "Key" => value key,
            "VersionId" => value version_id,
            "Bucket" => value bucket as "bucket_name",
        ],
    }
    DeleteObjects in delete_objects {
        DeleteObjectsInput: [
            "Bucket" => value bucket as "bucket_name",
        ],
    }
    GetBucketAccelerateConfiguration in get_bucket_accelerate_configuration {
        GetBucketAccelerateConfigurationInput: [
            "Bucket" => value bucket as "bucket_name",
        ],
    }
    GetBucketAcl in get_bucket_acl {
        GetBucketAclInput: [
            "Bucket" => value bucket as "bucket_name",
        ],
    }
    GetBucketAnalyticsConfiguration in get_bucket_analytics_configuration {
        GetBucketAnalyticsConfigurationInput: [
            "Bucket" => value bucket as "bucket_name",
        ],
    }
    GetBucketCors in get_bucket_cors {
        GetBucketCorsInput: [
            "Bucket" => value bucket as "bucket_name",
        ],
    }
    GetBucketEncryption in get_bucket_encryption {
        GetBucketEncryptionInput: [
            "Bucket" => value bucket as "bucket_name",
        ],
    }
    GetBucketInventoryConfiguration in get_bucket_inventory_configuration {
        GetBucketInventoryConfigurationInput: [
            "Bucket" => value bucket as "bucket_name",
        ],
    }
    GetBucketLifecycleConfiguration in get_bucket_lifecycle_configuration {
        GetBucketLifecycleConfigurationInput: [
            "Bucket" => value bucket as "bucket_name",
        ],
    }
    GetBucketLocation in get_bucket_location {
        GetBucketLocationInput: [
            "Bucket" => value bucket as "bucket_name",
        ],
    }
    GetBucketLogging in get_bucket_logging {
        GetBucketLoggingInput: [
            "Bucket" => value bucket as "bucket_name",
        ],
    }
    GetBucketMetricsConfiguration in get_bucket_metrics_configuration {
        GetBucketMetricsConfigurationInput: [
            "Bucket" => value bucket as "bucket_name",
        ],
    }
    GetBucketNotificationConfiguration in get_bucket_notification_configuration {
        GetBucketNotificationConfigurationInput: [
            "Bucket" => value bucket as "bucket_name",
        ],
    }
    GetBucketPolicy in get_bucket_policy {
        GetBucketPolicyInput: [
            "Bucket" => value bucket as "bucket_name",
        ],
    }
    GetBucketReplication in get_bucket_replication {
        GetBucketReplicationInput: [
            "Bucket" => value bucket as "bucket_name",
        ],
    }
    GetBucketTagging in get_bucket_tagging {
        GetBucketTaggingInput: [
            "Bucket" => value bucket as "bucket_name",
        ],
    }
    GetBucketVersioning in get_bucket_versioning {
        GetBucketVersioningInput: [
            "Bucket" => value bucket as "bucket_name",
        ],
    }
    GetBucketWebsite in get_bucket_website {
        GetBucketWebsiteInput: [
            "Bucket" => value bucket as "bucket_name",
        ],
    }
    GetObject in get_object {
        GetObjectInput: [
            "Key" => value key,
            "VersionId" => value version_id,
            "Bucket" => value bucket as "bucket_name",
        ],
    }
    GetObjectAcl in get_object_acl {
        GetObjectAclInput: [
            "Key" => value key,
            "VersionId" => value version_id,
            "Bucket" => value bucket as "bucket_name",
        ],
    }
    GetObjectTagging in get_object_tagging {
        GetObjectTaggingInput: [
            "Key" => value key,
            "VersionId" => value version_id,
            "Bucket" => value bucket as "bucket_name",
        ],
    }
    HeadBucket in head_bucket { HeadBucketInput: ["Bucket" => value bucket as "bucket_name"] }
    ListBucketAnalyticsConfigurations in list_bucket_analytics_configurations {
        ListBucketAnalyticsConfigurationsInput: [
            "Bucket" => value bucket as "bucket_name",
        ],
    }
    ListBucketInventoryConfigurations in list_bucket_inventory_configurations {
        ListBucketInventoryConfigurationsInput: [
            "Bucket" => value bucket as "bucket_name",
        ],
    }
    ListBucketMetricsConfigurations in list_bucket_metrics_configurations {
        ListBucketMetricsConfigurationsInput: [
            "Bucket" => value bucket as "bucket_name",
        ],
    }
    ListMultipartUploads in list_multipart_uploads {
        ListMultipartUploadsInput: [
            "Prefix" => value prefix,
            "Bucket" => value bucket as "bucket_name",
        ],
    }
    ListObjectVersions in list_object_versions {
        ListObjectVersionsInput: [
            "Prefix" => value prefix,
            "Bucket" => value bucket as "bucket_name",
        ],
    }
    ListObjects in list_objects {
        ListObjectsInput: [
            "Prefix" => value prefix,
            "Bucket" => value bucket as "bucket_name",
        ],
    }
    ListObjectsV2 in list_objects_v2 {
        ListObjectsV2Input: [
            "Prefix" => value prefix,
            "Bucket" => value bucket as "bucket_name",
        ],
    }
    ListParts in list_parts {
        ListPartsInput: [
            "Key" => value key,
            "Bucket" => value bucket as "bucket_name",
        ],
    }
    PutBucketAccelerateConfiguration in put_bucket_accelerate_configuration {
        PutBucketAccelerateConfigurationInput: [
            "Bucket" => value bucket as "bucket_name",
        ],
    }
    PutBucketAcl in put_bucket_acl {
        PutBucketAclInput: [
            "Bucket" => value bucket as "bucket_name",
        ],
    }
    PutBucketAnalyticsConfiguration in put_bucket_analytics_configuration {
        PutBucketAnalyticsConfigurationInput: [
            "Bucket" => value bucket as "bucket_name",
        ],
    }
    PutBucketCors in put_bucket_cors {
        PutBucketCorsInput: [
            "Bucket" => value bucket as "bucket_name",
        ],
    }
    PutBucketEncryption in put_bucket_encryption {
        PutBucketEncryptionInput: [
            "Bucket" => value bucket as "bucket_name",
        ],
    }
    PutBucketInventoryConfiguration in put_bucket_inventory_configuration {
        PutBucketInventoryConfigurationInput: [
            "Bucket" => value bucket as "bucket_name",
        ],
    }
    PutBucketLifecycleConfiguration in put_bucket_lifecycle_configuration {
        PutBucketLifecycleConfigurationInput: [
            "Bucket" => value bucket as "bucket_name",
        ],
    }
    PutBucketLogging in put_bucket_logging {
        PutBucketLoggingInput: [
            "Bucket" => value bucket as "bucket_name",
        ],
    }
    PutBucketMetricsConfiguration in put_bucket_metrics_configuration {
        PutBucketMetricsConfigurationInput: [
            "Bucket" => value bucket as "bucket_name",
        ],
    }
    PutBucketNotificationConfiguration in put_bucket_notification_configuration {
        PutBucketNotificationConfigurationInput: [
            "Bucket" => value bucket as "bucket_name",
        ],
    }
    PutBucketPolicy in put_bucket_policy {
        PutBucketPolicyInput: [
            "Bucket" => value bucket as "bucket_name",
        ],
    }
    PutBucketReplication in put_bucket_replication {
        PutBucketReplicationInput: [
            "Bucket" => value bucket as "bucket_name",
        ],
    }
    PutBucketTagging in put_bucket_tagging {
        PutBucketTaggingInput: [
            "Bucket" => value bucket as "bucket_name",
        ],
    }
    PutBucketVersioning in put_bucket_versioning {
        PutBucketVersioningInput: [
            "Bucket" => value bucket as "bucket_name",
        ],
    }
    PutBucketWebsite in put_bucket_website {
        PutBucketWebsiteInput: [
            "Bucket" => value bucket as "bucket_name",
        ],
    }
    PutObject in put_object {
        PutObjectInput: [
            "Key" => value key,
            "Bucket" => value bucket as "bucket_name",
        ],
    }
    PutObjectAcl in put_object_acl {
        PutObjectAclInput: [
            "Key" => value key,
            "VersionId" => value version_id,
            "Bucket" => value bucket as "bucket_name",
        ],
    }
    PutObjectTagging in put_object_tagging {
        PutObjectTaggingInput: [
            "Key" => value key,
            "VersionId" => value version_id,
            "Bucket" => value bucket as "bucket_name",
        ],
    }
    RestoreObject in restore_object {
        RestoreObjectInput: [
            "Key" => value key,
            "VersionId" => value version_id,
            "Bucket" => value bucket as "bucket_name",
        ],
    }
    UploadPart in upload_part {
        UploadPartInput: [
            "Key" => value key,
            "Bucket" => value bucket as "bucket_name",
        ],
    }
}
