//! Starting the web console next to the receiver (`--ui`, `--group`).

use std::sync::Arc;

use xray_local::{Console, ConsoleServer, Filter, LocalReceiver};

use crate::args::Options;

/// Serves the console unless `--no-ui`. A console that cannot bind (the port is taken, say) is
/// reported and left out: the receiver is what the user came for.
pub(crate) async fn start(
    options: &Options,
    receiver: &Arc<LocalReceiver>,
) -> Option<ConsoleServer> {
    let addr = options.ui.as_deref()?;
    let mut console = Console::new(Arc::clone(receiver));
    for (name, expr) in &options.groups {
        // The arguments were checked when parsed.
        if let Ok(filter) = Filter::parse(expr) {
            console = console.group(name.clone(), filter);
        }
    }
    match console.bind(addr).await {
        Ok(server) => {
            eprintln!("xray-local console on {}", server.url());
            Some(server)
        }
        Err(e) => {
            eprintln!(
                "xray-local: cannot serve the console on http://{addr}: {e} (use --ui ADDR, or \
                 --no-ui); receiving anyway"
            );
            None
        }
    }
}
