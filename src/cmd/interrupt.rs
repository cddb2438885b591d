//! Ctrl-C for the commands that run long (send's load mode, pcap, conform,
//! repro --target, check --probe): the first SIGINT raises the run's
//! [`Interrupt`], so the engine stops and the command prints what was
//! measured, then exits 130; a second one ends the process at once (130).

use tokio::signal::unix::{signal, SignalKind};

use crate::error::{Error, ExitCode, Result};
use crate::net::Interrupt;

/// Catch SIGINT from now on, for the rest of the process. The handler is
/// in place when this returns, so no Ctrl-C falls between.
pub(crate) fn catch_ctrl_c() -> Result<Interrupt> {
    let failed = |e| Error::io("catching Ctrl-C (SIGINT)", e);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .map_err(failed)?;
    let mut sigint = {
        let _inside = runtime.enter();
        signal(SignalKind::interrupt()).map_err(failed)?
    };
    let interrupt = Interrupt::new();
    let raised = interrupt.clone();
    std::thread::Builder::new()
        .name("ctrl-c".into())
        .spawn(move || {
            runtime.block_on(async {
                if sigint.recv().await.is_some() {
                    raised.raise();
                }
                if sigint.recv().await.is_some() {
                    eprintln!("ppctl: interrupted twice: stopping now, without results");
                    std::process::exit(i32::from(ExitCode::Interrupted.code()));
                }
            });
        })
        .map_err(failed)?;
    Ok(interrupt)
}

/// Say on stderr that the results printed are partial (what they cover).
pub(crate) fn say_partial(what: &str) {
    eprintln!("ppctl: interrupted (Ctrl-C): {what}");
}
