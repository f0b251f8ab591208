//! `stackctl exec SERVICE CMD…`: run a command in a running service
//! container and exit with the command's own exit code, so scripts can
//! rely on it as they would on `docker compose exec`.

use super::targets::containers_of;
use crate::cli::{ExecArgs, GlobalOptions};
use crate::engine::containers::{ExecRequest, LogStream};
use std::io::{IsTerminal, Read, Write};
use tokio::sync::mpsc;

/// Size of one read from our stdin, forwarded as one chunk.
const STDIN_CHUNK: usize = 4096;

pub async fn run(global: &GlobalOptions, args: &ExecArgs) -> anyhow::Result<u8> {
    let loaded = super::load_project(global)?;
    let project = &loaded.project;
    let services = super::select_services(project, std::slice::from_ref(&args.service))?;
    let engine = super::connect().await?;
    let running = containers_of(&engine, project, &services, false).await?;
    let container = running
        .iter()
        .find(|c| c.replica == args.index)
        .ok_or_else(|| no_container_error(args, running.len()))?;
    // Only a terminal is worth attaching: a pipe or /dev/null on stdin would
    // otherwise be forwarded, and a closed one must not end the command early.
    let interactive = std::io::stdin().is_terminal();
    let request = ExecRequest {
        cmd: args.command.clone(),
        env: args.env.clone(),
        user: args.user.clone(),
        workdir: args.workdir.clone(),
        tty: interactive && !args.no_tty,
    };
    let stdin = interactive.then(spawn_stdin_reader);
    let code = engine
        .exec_streaming(&container.id, &request, stdin, &mut print_output)
        .await?;
    Ok(exit_code(code))
}

/// Why there is nothing to exec in, and what to do about it.
fn no_container_error(args: &ExecArgs, running: usize) -> anyhow::Error {
    if running == 0 {
        anyhow::anyhow!(
            "service `{}` has no running container (start it with `stackctl up` or `stackctl start {}`)",
            args.service,
            args.service
        )
    } else {
        anyhow::anyhow!(
            "service `{}` has no running replica {} ({running} running)",
            args.service,
            args.index
        )
    }
}

/// Write a chunk where the command wrote it, at once (it may be a prompt).
fn print_output(stream: LogStream, bytes: &[u8]) {
    let _ = match stream {
        LogStream::Stderr => {
            let mut err = std::io::stderr();
            err.write_all(bytes).and_then(|()| err.flush())
        }
        LogStream::Stdout | LogStream::Console => {
            let mut out = std::io::stdout();
            out.write_all(bytes).and_then(|()| out.flush())
        }
    };
}

/// Read our stdin on a plain thread and hand it over in chunks. Not tokio's
/// stdin: its blocking read would keep the runtime from shutting down after
/// the command ends until the user pressed Enter. The thread simply dies
/// with the process.
fn spawn_stdin_reader() -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel(16);
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin();
        let mut buffer = vec![0u8; STDIN_CHUNK];
        loop {
            match stdin.read(&mut buffer) {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if tx.blocking_send(buffer[..n].to_vec()).is_err() {
                        return;
                    }
                }
            }
        }
    });
    rx
}

/// A process exit code from the command's (which the engine reports as i64).
pub fn exit_code(code: i64) -> u8 {
    u8::try_from(code.clamp(0, 255)).unwrap_or(u8::MAX)
}

#[cfg(test)]
mod tests {
    use super::exit_code;

    #[test]
    fn exit_codes_are_clamped() {
        assert_eq!(exit_code(0), 0);
        assert_eq!(exit_code(3), 3);
        assert_eq!(exit_code(126), 126);
        assert_eq!(exit_code(300), 255);
        assert_eq!(exit_code(-1), 0);
    }
}
