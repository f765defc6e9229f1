//! The register (登记簿): enterprises, their qualifications and certificate versions.

pub mod api;
pub mod change_requests;
pub mod lookup;
pub mod model;
pub mod ops;
