pub mod data;
pub mod seed;
