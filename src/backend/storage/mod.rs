//! Storage pools and volumes as the domains use them: which domain uses a volume, and which
//! of a domain's volumes may be deleted with it.

pub mod deletion;
pub mod volumes;
