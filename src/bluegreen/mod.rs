//! Blue-green deployment: start the new version beside the old one, gate on
//! health, switch the router, drain, keep the old one stopped for rollback.
//! Revisions are recorded in the engine; a lock keeps one operation at a
//! time per project; every operation converges an interrupted one first.

pub mod deploy;
pub mod flow;
pub mod lock;
pub mod record;
pub mod router;
pub mod spec;
