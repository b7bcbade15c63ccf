//! Attacks (issue 11): the audit chain, identities, secrets, signatures, injection.
mod audit_keys;
mod chain;
mod group_artifacts;
mod group_asks;
mod group_children;
mod group_forks;
mod group_members;
mod group_oracle;
mod group_schedules;
mod identity;
mod leaks;
mod policy;
mod refusals;
mod run_alone;
mod secrets;
mod security;
mod signatures;
