//! End-to-end tests of the zizhi server over HTTP, each against a fresh database: SQLite
//! (embedded default) and PostgreSQL with Redis; and the answers against the OpenAPI document
//! (`openapi`, by schemathesis).

mod bad_input;
mod concurrency;
mod demo_cases;
mod guessing;
mod issuer;
mod keys;
mod limits;
mod openapi;
mod qr;
mod scale;
mod verify;
