//! The CRM's domain: value types that can only exist valid, the rules that govern them, and
//! the reference data (industries, regions) that validation looks things up in.
//!
//! Nothing here does I/O or knows about HTTP or SQL; every function is plain and unit-tested.

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
pub mod work_order;
