//! `latch guardian`: one escrow guardian for passkey-sync recovery, with its own database.

use std::process::ExitCode;

use clap::Args;

#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct GuardianArgs {
    #[arg(long, env = "LATCH_GUARDIAN_LISTEN", default_value = "127.0.0.1:8090")]
    pub listen: String,
    /// This guardian's own database (never shared with another guardian or the server).
    #[arg(
        long,
        env = "LATCH_GUARDIAN_DB",
        default_value = "sqlite://guardian.db"
    )]
    pub db: String,
}

pub fn run(args: GuardianArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("latch guardian: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let served = runtime.block_on(latch_server::guardian::serve(
        &args.listen,
        &args.db,
        super::serve::shutdown_signal(),
    ));
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("latch guardian: {e}");
            ExitCode::FAILURE
        }
    }
}
