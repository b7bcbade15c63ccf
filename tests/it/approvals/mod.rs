//! Gates and approvals: what an approval is bound to, gates across processes.
mod ask;
pub(crate) mod ask_accounts;
mod ask_exit;
mod ask_notify;
mod ask_signed;
mod big_inputs;
mod binding;
mod bounds;
mod edit;
mod from_run;
mod gates;
mod one_wording;
mod policy;
mod push_back;
mod refusals;
