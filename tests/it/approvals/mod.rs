//! Gates and approvals: what an approval is bound to, gates across processes.
mod binding;
mod bounds;
mod gates;
mod one_wording;
mod refusals;
