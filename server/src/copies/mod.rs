//! Certificate copies: 批准件 (approval copies) and 使用件 (usage copies), each carrying a
//! signed QR payload.

pub mod api;
pub mod model;
