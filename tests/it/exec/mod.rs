//! Executors against real processes: shell, kill, services, Slurm.
mod kill;
mod services;
mod shell;
mod slurm;
mod ssh;
