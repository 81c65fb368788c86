//! The console benchmark (being written).

fn main() {}
