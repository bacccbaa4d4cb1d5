//! The `webhook` binary: see the `webhook_cli` library for what it does.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;
use webhook_cli::{Cli, run, unix_now};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let stdin = std::io::stdin();
    if cli.command.reads_stdin() && stdin.is_terminal() {
        let _ = writeln!(
            std::io::stderr(),
            "reading the body from standard input; end it with Ctrl-D (or pass a FILE)"
        );
    }
    let status = run(
        &cli,
        unix_now(),
        &mut stdin.lock(),
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
    );
    ExitCode::from(status)
}
