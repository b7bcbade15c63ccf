//! Gates and approvals: what an approval is bound to, gates across processes.
mod ask;
mod binding;
mod bounds;
mod edit;
mod from_run;
mod gates;
mod one_wording;
mod policy;
mod push_back;
mod refusals;
