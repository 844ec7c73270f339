//! Authentication of requests: the extractor that turns credentials into the [`Caller`] every
//! use case takes. Token and key machinery lives in [`crm_app::auth`].

mod extract;

pub use crm_app::auth::{
    AUDIENCE, AuthSettings, Claims, ISSUER, MIN_SECRET_LEN, hex_digest, random_secret, sha256_hex,
};
pub use extract::Authenticated;
