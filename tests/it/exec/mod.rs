//! Executors against real processes: shell, kill, services, Slurm, SSH, batch schedulers.
mod batch;
mod batch_status;
mod kill;
mod lost;
mod scenarios;
mod services;
mod shell;
mod slurm;
pub(crate) mod ssh;
mod ssh_freeze;
mod ssh_leftovers;
mod ssh_stall;
