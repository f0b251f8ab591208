//! stackctl: deploy compose-style stacks onto a Docker engine.
//!
//! The crate reads like the pipeline it implements:
//! `compose` (parse → interpolate → merge → normalize → validate) →
//! `graph` (dependency waves) → `budget` (will it fit?) → `commands`
//! (one module per verb), with `cli` holding the argument definitions.

pub mod budget;
pub mod cli;
pub mod commands;
pub mod compose;
pub mod engine;
pub mod error;
pub mod graph;
pub mod loadgen;
pub mod plan;
pub mod progress;

pub mod bluegreen;
