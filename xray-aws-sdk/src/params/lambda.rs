//! Lambda (`aws-sdk-lambda`, feature `lambda`). Payloads and logs are never recorded.

// `InvokeAsync` is deprecated by Lambda but still in the whitelist and in the SDK.
#![allow(deprecated)]

use aws_sdk_lambda::types::{InvocationType, LogType};

use super::values::sdk_enums;

super::whitelist! {
    service: "Lambda", whitelist_key: "lambda", krate: aws_sdk_lambda;

    Invoke in invoke {
        InvokeInput: [
            "FunctionName" => value function_name,
            "InvocationType" => value invocation_type,
            "LogType" => value log_type,
            "Qualifier" => value qualifier,
        ],
        InvokeOutput: [
            "FunctionError" => value function_error,
            "StatusCode" => value status_code,
        ],
    }
    InvokeAsync in invoke_async {
        InvokeAsyncInput: ["FunctionName" => value function_name],
        InvokeAsyncOutput: ["Status" => value status],
    }
}

sdk_enums!(InvocationType, LogType);
