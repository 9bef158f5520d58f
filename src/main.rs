fn main() -> std::process::ExitCode {
    allot::cli::run()
}
