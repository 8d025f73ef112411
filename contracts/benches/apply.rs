//! Transactions applied per second (written next).
fn main() {}
