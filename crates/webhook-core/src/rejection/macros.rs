//! [`define_rejection!`](crate::define_rejection): one way to declare a failure family.

/// Declares a failure family: a `#[non_exhaustive]` enum with its `Display`,
/// `std::error::Error` and [`Rejection`](crate::Rejection) impls, and a `CODES` constant
/// listing every code it answers with.
///
/// Each variant names its HTTP status (an expression, which may read the variant's
/// fields), its code, optionally its gRPC status (default:
/// [`grpc_status_for`](crate::grpc_status_for) the HTTP status) and the field that holds
/// its `Retry-After` seconds, then its message as `write!` arguments over its fields.
/// A code missing from [`REJECTION_CODES`](crate::REJECTION_CODES) does not compile.
///
/// ```
/// use http::StatusCode;
/// use webhook_core::{Rejection, define_rejection};
///
/// define_rejection! {
///     /// Why the example layer refused a request.
///     #[derive(Debug, Clone, PartialEq, Eq)]
///     pub enum ExampleRejection {
///         /// The body is larger than the limit.
///         #[rejection(status = StatusCode::PAYLOAD_TOO_LARGE, code = "payload_too_large")]
///         TooLarge {
///             /// The limit, in bytes.
///             limit: usize,
///         } => ("the body is larger than {limit} bytes"),
///         /// The store is down; the sender retries.
///         #[rejection(status = StatusCode::SERVICE_UNAVAILABLE, code = "store_unavailable", retry_after = seconds)]
///         Unavailable {
///             /// Seconds to wait.
///             seconds: u64,
///         } => ("the store is unavailable; retry in {seconds} s"),
///         /// The layer is misplaced.
///         #[rejection(status = StatusCode::INTERNAL_SERVER_ERROR, code = "missing_verified_delivery", grpc = 13)]
///         Unverified => ("no verified-delivery marker"),
///     }
/// }
///
/// let rejection = ExampleRejection::Unavailable { seconds: 5 };
/// assert_eq!(rejection.status(), StatusCode::SERVICE_UNAVAILABLE);
/// assert_eq!(rejection.code(), "store_unavailable");
/// assert_eq!(rejection.grpc_status(), 14);
/// assert_eq!(rejection.retry_after(), Some(5));
/// assert_eq!(rejection.to_string(), "the store is unavailable; retry in 5 s");
/// assert_eq!(ExampleRejection::TooLarge { limit: 1 }.retry_after(), None);
/// assert_eq!(ExampleRejection::CODES, ["payload_too_large", "store_unavailable", "missing_verified_delivery"]);
/// ```
#[macro_export]
macro_rules! define_rejection {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $(
                $(#[doc = $doc:expr])*
                #[rejection(status = $status:expr, code = $code:literal $(, grpc = $grpc:expr)? $(, retry_after = $retry:ident)? $(,)?)]
                $variant:ident $({
                    $( $(#[doc = $fdoc:expr])* $field:ident : $fty:ty ),* $(,)?
                })? => ($($message:tt)*)
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[non_exhaustive]
        $vis enum $name {
            $(
                $(#[doc = $doc])*
                $variant $({ $( $(#[doc = $fdoc])* $field : $fty ),* })?,
            )*
        }

        impl ::core::fmt::Display for $name {
            #[allow(unused_variables)]
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                match self {
                    $( Self::$variant $({ $($field),* })? => ::core::write!(f, $($message)*), )*
                }
            }
        }

        impl ::std::error::Error for $name {}

        impl $crate::Rejection for $name {
            #[allow(unused_variables)]
            fn status(&self) -> $crate::__private::http::StatusCode {
                match self {
                    $( Self::$variant $({ $($field),* })? => $status, )*
                }
            }

            fn code(&self) -> &'static str {
                match self {
                    $( Self::$variant { .. } => $code, )*
                }
            }

            fn grpc_status(&self) -> u16 {
                match self {
                    $( Self::$variant { .. } => $crate::__rejection_or!($($grpc)?; $crate::grpc_status_for($crate::Rejection::status(self))), )*
                }
            }

            #[allow(unused_variables)]
            fn retry_after(&self) -> ::core::option::Option<u64> {
                match self {
                    $( Self::$variant $({ $($field),* })? => $crate::__rejection_retry!($($retry)?), )*
                }
            }
        }

        impl $name {
            /// Every code this rejection answers with, in declaration order.
            pub const CODES: &'static [&'static str] = &[$($code),*];
        }

        const _: () = {
            $(
                ::core::assert!(
                    $crate::is_known_code($code),
                    ::core::concat!("the rejection code `", $code, "` is not in webhook_core::REJECTION_CODES")
                );
            )*
        };
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __rejection_or {
    (; $default:expr) => {
        $default
    };
    ($value:expr; $default:expr) => {
        $value
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __rejection_retry {
    () => {
        ::core::option::Option::None
    };
    ($field:ident) => {
        ::core::option::Option::Some(*$field)
    };
}
