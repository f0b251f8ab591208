use clap::Parser;
use stackctl::cli::{compose_style_args, Cli};
use stackctl::commands;
use stackctl::error::exit_code_for;
use std::process::ExitCode;

// The loader allocates many small strings (paths, keys); mimalloc makes
// `config` on a 1000-service file markedly faster than the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse_from(compose_style_args(std::env::args_os()));
    // Two worker threads: the engine work is I/O-bound and a small runtime
    // keeps stackctl's own memory low on a 1 GiB host.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(commands::run(&cli));
    match result {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            // LoadError already lists every diagnostic with its location.
            if error
                .downcast_ref::<stackctl::compose::LoadError>()
                .is_some()
            {
                eprintln!("{error}");
            } else {
                eprintln!("error: {error:#}");
            }
            ExitCode::from(exit_code_for(&error))
        }
    }
}
