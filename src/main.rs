fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // `baton __anchor PGID`: what keeps a frozen step frozen past its engine.
    if let Some(code) = baton::exec::anchor::main_hook(&args) {
        std::process::exit(code);
    }
    std::process::exit(baton::cli::main());
}
