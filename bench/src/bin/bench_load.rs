//! The load generator: `bench-load --help`.

fn main() -> std::process::ExitCode {
    zocket_bench::load::main()
}
