//! Executors against real processes: shell, kill, services, Slurm, SSH, batch schedulers.
mod batch;
mod kill;
mod scenarios;
mod services;
mod shell;
mod slurm;
pub(crate) mod ssh;
mod ssh_freeze;
mod ssh_leftovers;
