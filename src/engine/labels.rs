//! Labels stackctl puts on everything it creates. The engine is the source
//! of truth: `ps`, `down` and a second `up` read state back from these, so no
//! local state file is needed. Compose's own label keys are used where they
//! exist, so `docker compose ls/ps` recognise our containers too.

pub const PROJECT: &str = "com.docker.compose.project";
pub const SERVICE: &str = "com.docker.compose.service";
pub const REPLICA: &str = "com.docker.compose.container-number";
pub const CONFIG_HASH: &str = "com.docker.compose.config-hash";
pub const NETWORK: &str = "com.docker.compose.network";
pub const VOLUME: &str = "com.docker.compose.volume";
pub const ONEOFF: &str = "com.docker.compose.oneoff";
pub const WORKING_DIR: &str = "com.docker.compose.project.working_dir";
pub const CONFIG_FILES: &str = "com.docker.compose.project.config_files";
/// Marks objects created by stackctl (rather than docker compose).
pub const MANAGED_BY: &str = "io.stackctl.managed-by";
pub const MANAGED_BY_VALUE: &str = "stackctl";
