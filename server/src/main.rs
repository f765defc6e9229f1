//! `zizhi`: parses the command line, loads the settings, sets up logging and hands over to
//! the library.

use clap::Parser;
use zizhi_server::settings::{LogFormat, Settings};

/// Many small allocations a request (headers, futures, the verdict's strings) from every
/// worker thread: glibc's allocator spent a sixth of a busy server's time and contended on
/// its arena locks; mimalloc keeps them per thread.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = zizhi_server::cli::Cli::parse();
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("错误 error: configuration: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,sqlx=warn,tower_http=info".into());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match settings.log_format {
        // Each line one JSON object, with the request span (and its id) on it.
        LogFormat::Json => logs
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .init(),
        LogFormat::Text => logs.init(),
    }
    // Commands that write keys (`serve --demo`, `keys`) would otherwise create the data
    // directory with the umask's mode, which the server then refuses to load.
    if !settings.data_dir.exists()
        && let Err(e) = zizhi_server::private_files::create_private_dir(&settings.data_dir)
    {
        eprintln!("错误 error: {e:#}");
        return std::process::ExitCode::from(2);
    }
    match zizhi_server::cli::run(cli, settings).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("错误 error: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}
