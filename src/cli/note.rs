//! `baton note RUN [STEP] TEXT`: a note on a run or one of its steps, on record under
//! the OS account with its time (a row of the audit chain, `session::note`), shown by
//! `show`, the console's step detail and the lists.
use super::db::{DbOpt, fail};
use super::exit;
use crate::model::Timestamp;
use crate::session;
use clap::Args;

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    baton note 01jd4 \"looked at: the DNS flake again, ticket OPS-42\"\n  \
    baton note 01jd4 deploy \"rolled back by hand at 14:02\"")]
pub struct NoteArgs {
    /// The run id, or a unique prefix of it
    pub run: String,
    /// The step the note is on (leave out to note the run), then the note's text
    #[arg(required = true, num_args = 1..=2, value_name = "[STEP] TEXT")]
    pub words: Vec<String>,
    #[command(flatten)]
    pub db: DbOpt,
}

pub fn run(a: NoteArgs) -> i32 {
    let (step, text) = match a.words.as_slice() {
        [text] => (None, text.as_str()),
        [step, text] => (Some(step.as_str()), text.as_str()),
        _ => {
            crate::stdio::errln!("error: give the note's text, after the step it is on if any");
            return exit::USAGE;
        }
    };
    let mut store = match a.db.open() {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    let run_id = match store.resolve_run(&a.run) {
        Ok(id) => id,
        Err(e) => return fail(&e),
    };
    let view = match session::inspect(&store, &run_id, Timestamp::now()) {
        Ok(v) => v,
        Err(e) => return session::report(&e),
    };
    match session::note::add(&mut store, &view, step, text) {
        Ok(by) => {
            let on = step.map_or(String::new(), |s| format!(" step {s} of"));
            crate::stdio::out!("noted on{on} run {run_id} as {by}\n");
            exit::OK
        }
        Err(e) => session::report(&e),
    }
}
