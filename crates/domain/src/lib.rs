//! The CRM's domain: value types that can only exist valid, the rules that govern them, and
//! the reference data (industries, regions) that validation looks things up in.
//!
//! Nothing here does I/O or knows about HTTP or SQL; every function is plain and unit-tested.

/// A fieldless enum named in `snake_case` on the wire and in the database, with its
/// `as_str`, `parse`, `ALL` and `names()` (for error messages).
macro_rules! named_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(
            Debug,
            Clone,
            Copy,
            PartialEq,
            Eq,
            Hash,
            serde::Serialize,
            serde::Deserialize,
            utoipa::ToSchema,
        )]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value, in documentation order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The name as stored and sent.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// Parses a stored or submitted name.
            pub fn parse(s: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s)
            }

            /// The names, for error messages.
            pub fn names() -> String {
                Self::ALL
                    .iter()
                    .map(|v| format!("`{}`", v.as_str()))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        }
    };
}

pub mod access;
pub mod account;
pub mod audit;
pub mod calendar;
pub mod customer;
pub mod deal;
pub mod lead;
pub mod money;
pub mod password;
pub mod privacy;
pub mod reference;
pub mod rule;
pub mod sla;
pub mod tier;
pub mod upkeep;
pub mod webhook;
pub mod work_order;
