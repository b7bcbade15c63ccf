//! The simulator's tests, one binary (docs/simulator.md): each file a module, so the
//! workspace is linked once for all of them.
mod clis;
mod common;
mod executors;
mod hands;
mod seams;
mod serves;
mod sim;
