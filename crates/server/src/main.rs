use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    muster_server::cli::main().await
}
