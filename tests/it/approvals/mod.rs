//! Gates and approvals: what an approval is bound to, gates across processes.
mod binding;
mod bounds;
mod edit;
mod from_run;
mod gates;
mod policy;
mod refusals;
