//! Executors against real processes: shell, kill, services, Slurm, SSH, batch schedulers.
pub(crate) mod batch;
mod batch_status;
mod daemons_stop;
mod kill;
mod lost;
mod new_kind;
mod scenarios;
mod secret_sources;
mod services;
mod shell;
pub(crate) mod slurm;
pub(crate) mod ssh;
mod ssh_artifacts;
mod ssh_cut;
mod ssh_freeze;
mod ssh_hup;
mod ssh_leftovers;
mod ssh_stall;
