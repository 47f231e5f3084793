fn main() -> std::process::ExitCode {
    portico_host::cli::main()
}
