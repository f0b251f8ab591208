//! Progress display for long commands: a live line per item (service,
//! network, volume) on a terminal, plain lines otherwise (logs, CI), nothing
//! but errors with `--quiet`. Progress goes to stderr, as with compose, so
//! stdout stays clean for summaries and machine-readable output.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

enum Mode {
    Live(MultiProgress),
    Plain,
    Quiet,
}

pub struct Progress {
    mode: Mode,
    bars: Mutex<HashMap<String, ProgressBar>>,
    width: usize,
}

impl Progress {
    /// Live lines when stderr is a terminal, plain lines otherwise.
    /// `width` pads item names so states line up.
    pub fn new(quiet: bool, width: usize) -> Progress {
        let mode = if quiet {
            Mode::Quiet
        } else if std::io::stderr().is_terminal() {
            Mode::Live(MultiProgress::with_draw_target(ProgressDrawTarget::stderr()))
        } else {
            Mode::Plain
        };
        Progress {
            mode,
            bars: Mutex::new(HashMap::new()),
            width,
        }
    }

    /// `item` is now doing `state` (e.g. "creating", "waiting healthy").
    pub fn update(&self, item: &str, state: &str) {
        match &self.mode {
            Mode::Quiet => {}
            Mode::Plain => eprintln!("{:width$}  {state}", item, width = self.width),
            Mode::Live(multi) => {
                let bar = self.bar(multi, item);
                bar.set_message(state.to_string());
            }
        }
    }

    /// `item` reached a final state (e.g. "running", "removed").
    pub fn finish(&self, item: &str, state: &str) {
        match &self.mode {
            Mode::Quiet => {}
            Mode::Plain => eprintln!("{:width$}  {state}", item, width = self.width),
            Mode::Live(multi) => {
                let bar = self.bar(multi, item);
                bar.set_style(done_style(self.width));
                bar.finish_with_message(state.to_string());
            }
        }
    }

    /// `item` failed; shown even with `--quiet`.
    pub fn fail(&self, item: &str, message: &str) {
        match &self.mode {
            Mode::Live(multi) => {
                let bar = self.bar(multi, item);
                bar.set_style(done_style(self.width));
                bar.abandon_with_message(format!("failed: {message}"));
            }
            _ => eprintln!("{:width$}  failed: {message}", item, width = self.width),
        }
    }

    /// A line that is not about one item (warnings).
    pub fn note(&self, line: &str) {
        match &self.mode {
            Mode::Quiet => {}
            Mode::Plain => eprintln!("{line}"),
            Mode::Live(multi) => {
                let _ = multi.println(line);
            }
        }
    }

    fn bar(&self, multi: &MultiProgress, item: &str) -> ProgressBar {
        let mut bars = self.bars.lock().unwrap_or_else(|e| e.into_inner());
        bars.entry(item.to_string())
            .or_insert_with(|| {
                let bar = multi.add(ProgressBar::new_spinner());
                bar.set_style(live_style(self.width));
                bar.set_prefix(item.to_string());
                bar.enable_steady_tick(Duration::from_millis(120));
                bar
            })
            .clone()
    }
}

fn live_style(width: usize) -> ProgressStyle {
    ProgressStyle::with_template(&format!(" {{spinner}} {{prefix:{width}}}  {{msg}}"))
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}

fn done_style(width: usize) -> ProgressStyle {
    ProgressStyle::with_template(&format!(" ✔ {{prefix:{width}}}  {{msg}}"))
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}
