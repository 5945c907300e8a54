//! The `ferry` binary: parses the command line and hands over to [`ferry_cli::run`].

fn main() -> std::process::ExitCode {
    ferry_cli::run(std::env::args_os())
}
