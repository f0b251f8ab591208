//! Errors that decide the exit code: invalid input or usage exits 2, a
//! runtime failure exits 1.

use thiserror::Error;

/// The user asked for something that cannot be done as asked (exit 2).
#[derive(Debug, Error)]
#[error("{0}")]
pub struct UsageError(pub String);

pub const EXIT_OK: u8 = 0;
pub const EXIT_FAILURE: u8 = 1;
pub const EXIT_USAGE: u8 = 2;

/// Map an error to its exit code: bad input (compose file, arguments) is 2,
/// everything else 1.
pub fn exit_code_for(error: &anyhow::Error) -> u8 {
    if error.downcast_ref::<crate::compose::LoadError>().is_some()
        || error.downcast_ref::<UsageError>().is_some()
    {
        EXIT_USAGE
    } else {
        EXIT_FAILURE
    }
}
