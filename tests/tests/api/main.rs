//! The integration suite: one binary, every test against the real app over HTTP on a fresh
//! database (SQLite by default, PostgreSQL when `CRM_TEST_DATABASE_URL` is set).

mod api_keys;
mod app_core;
mod auth;
mod contract;
mod customers;
mod database;
mod deals;
mod demo;
mod faults;
mod idempotency;
mod jobs;
mod leads;
mod lifecycle;
mod matrix;
mod metrics;
mod migrations;
mod openapi;
mod reference;
mod service;
mod upkeep;
mod users;
mod webhooks;
mod work_orders;
