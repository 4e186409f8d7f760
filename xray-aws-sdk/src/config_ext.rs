//! Instrumenting many clients in one line each (see the crate docs, "Instrumenting many
//! clients").

/// Adds the X-Ray interceptor to an AWS SDK service config builder.
///
/// Implemented for the config builders of the services enabled by this crate's features
/// (`dynamodb`, `sqs`, `s3`, `sns`, `lambda`, `sagemaker-runtime`). For other services use
/// [`instrumented_client!`](crate::instrumented_client) or
/// `.interceptor(XrayInterceptor::new())`.
///
/// # Examples
///
/// ```
/// # #[cfg(feature = "dynamodb")]
/// # fn client(sdk_config: &aws_types::SdkConfig) -> aws_sdk_dynamodb::Client {
/// use xray_aws_sdk::XrayConfigExt;
///
/// aws_sdk_dynamodb::Client::from_conf(
///     aws_sdk_dynamodb::config::Builder::from(sdk_config).with_xray().build(),
/// )
/// # }
/// ```
pub trait XrayConfigExt: Sized {
    /// Adds [`XrayInterceptor::new()`](crate::XrayInterceptor::new) as a *permanent* interceptor.
    ///
    /// Permanent, like the SDK's own built-in interceptors: the SDK then skips the config-bag
    /// lookup it otherwise makes before every hook call to see whether the interceptor was
    /// disabled for the operation. The flip side: it cannot be switched off with
    /// `disable_interceptor::<XrayInterceptor>` (debug builds of the SDK assert that nobody
    /// tries). Register it with `.interceptor(XrayInterceptor::new())` when you need that.
    #[must_use]
    fn with_xray(self) -> Self;
}

#[allow(unused_macros)] // every service is optional
macro_rules! impl_config_ext {
    ($($feature:literal => $krate:ident),* $(,)?) => {
        $(
            #[cfg(feature = $feature)]
            #[cfg_attr(docsrs, doc(cfg(feature = $feature)))]
            impl XrayConfigExt for $krate::config::Builder {
                fn with_xray(mut self) -> Self {
                    self.push_interceptor($krate::config::SharedInterceptor::permanent(
                        $crate::XrayInterceptor::new(),
                    ));
                    self
                }
            }
        )*
    };
}

impl_config_ext! {
    "dynamodb" => aws_sdk_dynamodb,
    "sqs" => aws_sdk_sqs,
    "s3" => aws_sdk_s3,
    "sns" => aws_sdk_sns,
    "lambda" => aws_sdk_lambda,
    "sagemaker-runtime" => aws_sdk_sagemakerruntime,
}

/// Builds a client of any AWS SDK for Rust service crate from an `SdkConfig`, with the X-Ray
/// interceptor added.
///
/// `instrumented_client!(aws_sdk_kinesis, &sdk_config)` builds
/// `aws_sdk_kinesis::config::Builder::from(&sdk_config)`, pushes
/// `SharedInterceptor::permanent(XrayInterceptor::new())` (permanent for the reason given in
/// [`XrayConfigExt::with_xray`]) and returns `aws_sdk_kinesis::Client::from_conf(..)`. It needs
/// no feature of this crate: parameter capture still requires the service's feature, everything
/// else works for every service.
///
/// # Examples
///
/// ```
/// # fn client(sdk_config: &aws_types::SdkConfig) {
/// let sqs: aws_sdk_sqs::Client = xray_aws_sdk::instrumented_client!(aws_sdk_sqs, sdk_config);
/// # }
/// ```
#[macro_export]
macro_rules! instrumented_client {
    ($krate:ident, $sdk_config:expr $(,)?) => {{
        let mut builder = $krate::config::Builder::from($sdk_config);
        builder.push_interceptor($krate::config::SharedInterceptor::permanent(
            $crate::XrayInterceptor::new(),
        ));
        $krate::Client::from_conf(builder.build())
    }};
}
