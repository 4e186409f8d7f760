//! SageMaker Runtime (`aws-sdk-sagemakerruntime`, feature `sagemaker-runtime`). Request and
//! response bodies are never recorded.

super::whitelist! {
    service: "SageMaker Runtime", whitelist_key: "runtime.sagemaker", krate: aws_sdk_sagemakerruntime;

    InvokeEndpoint in invoke_endpoint {
        InvokeEndpointInput: ["EndpointName" => value endpoint_name],
    }
}
