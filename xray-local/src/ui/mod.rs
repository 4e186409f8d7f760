//! The local X-Ray console: a web page and a JSON API over a [`LocalReceiver`].

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use tokio::net::{TcpListener, ToSocketAddrs};
use tokio::task::JoinHandle;

mod api;
mod server;

use crate::filter::Filter;
use crate::receiver::LocalReceiver;

/// The default address of the console, next to the receiver's `127.0.0.1:2000`.
pub const DEFAULT_CONSOLE_ADDR: &str = "127.0.0.1:2080";

/// The most characters in a group name.
const MAX_GROUP_NAME: usize = 64;

/// A local X-Ray console: serves a web page (the service map, trace lists narrowed by
/// [`Filter`] expressions and groups, and each trace's timeline) and the JSON API behind it,
/// over the traces a [`LocalReceiver`] holds.
///
/// The page and its script are embedded in the binary and load nothing from elsewhere; they
/// poll the API every two seconds.
///
/// # API
///
/// Answers are JSON shaped like X-Ray's (times in epoch seconds, durations in seconds); fields
/// X-Ray does not have are marked *extra*.
///
/// | Request | Answer |
/// |---|---|
/// | `GET /api/service-graph[?group=G][&filter=E]` | Like `GetServiceGraph`: `Services` (`ReferenceId`, `Name`, `Names`, `Type`, `Root`, `State`, `Edges`, `SummaryStatistics`, `ResponseTimeHistogram`; extra `Id` and `Kind`), each edge with `ReferenceId`, `SummaryStatistics`, `ResponseTimeHistogram` (extra `AverageResponseTime`); `StartTime`, `EndTime`, extra `TraceCount` |
/// | `GET /api/traces[?filter=E][&group=G][&limit=N]` | Like `GetTraceSummaries`: `TraceSummaries` newest first (`Id`, `StartTime`, `Duration`, `ResponseTime`, `HasError`, `HasFault`, `HasThrottle`, `IsPartial`, `Http`, `Annotations`, `ServiceIds`, `EntryPoint`; extra `Name`, `IsComplete`, `IsFinished`, `EntityCount`), `TracesProcessedCount`, extra `MatchedCount`; at most `limit` (default 500) |
/// | `GET /api/traces/{id}` | Like `BatchGetTraces`: `Traces[0].Segments`, each with `Id` and `Document` (the segment document as a JSON string, subsegments embedded); 404 with `UnprocessedTraceIds` when the trace is not held |
/// | `GET /api/groups` | Like `GetGroups`: `Groups` with `GroupName` and `FilterExpression` |
/// | `POST /api/groups` with `{"GroupName": .., "FilterExpression": ..}` | Like `CreateGroup` (replaces a group of that name) |
/// | `DELETE /api/groups/{name}` | Like `DeleteGroup` |
/// | `GET /api/status` | The traces held, the retention limits and the receiver's counters |
///
/// Requests whose `Host` is neither an IP address nor `localhost` are refused (`403`), so that a
/// web page elsewhere cannot read traces by rebinding its name to this address.
///
/// `group` narrows to the traces matching the group's expression, `filter` to those matching
/// an expression (both when both are given). An invalid expression answers `400` with
/// `{"__type": "InvalidRequestException", "message": .., "Position": ..}`; `message` shows the
/// expression with a caret under the position.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use xray_core::Recorder;
/// use xray_local::{Console, Filter, LocalReceiver};
///
/// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let receiver = Arc::new(LocalReceiver::builder().max_traces(1000).bind("127.0.0.1:0").await?);
/// let console = Console::new(Arc::clone(&receiver))
///     .group("faults", Filter::parse("fault")?)
///     .bind("127.0.0.1:0")
///     .await?;
/// println!("open {}", console.url());
///
/// let recorder = Recorder::builder()
///     .daemon_address(receiver.daemon_address())
///     .sample_all()
///     .ignore_env()
///     .build()?;
/// recorder.begin_segment("orders").end();
/// receiver.wait_for_traces(1, Duration::from_secs(5)).await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Console {
    receiver: Arc<LocalReceiver>,
    groups: RwLock<BTreeMap<String, Filter>>,
}

impl Console {
    /// A console over the traces of `receiver`.
    pub fn new(receiver: Arc<LocalReceiver>) -> Console {
        Console {
            receiver,
            groups: RwLock::new(BTreeMap::new()),
        }
    }

    /// Adds a group: a name for a filter expression, whose service map and trace list the page
    /// offers on their own. A group of the same name is replaced.
    #[must_use]
    pub fn group(self, name: impl Into<String>, filter: Filter) -> Console {
        self.groups_mut().insert(name.into(), filter);
        self
    }

    /// Binds the TCP listener and serves the console on the current tokio runtime until the
    /// returned handle is dropped.
    ///
    /// # Errors
    ///
    /// The I/O error of binding the address.
    ///
    /// # Panics
    ///
    /// When called outside a tokio runtime.
    pub async fn bind(self, addr: impl ToSocketAddrs) -> io::Result<ConsoleServer> {
        let listener = TcpListener::bind(addr).await?;
        let local_addr = listener.local_addr()?;
        let task = tokio::spawn(server::run(listener, Arc::new(self)));
        tracing::debug!(target: "xray", address = %local_addr, "local X-Ray console listening");
        Ok(ConsoleServer { local_addr, task })
    }

    fn groups(&self) -> RwLockReadGuard<'_, BTreeMap<String, Filter>> {
        // Every write leaves the map consistent, so a poisoned lock is still usable.
        self.groups.read().unwrap_or_else(|e| e.into_inner())
    }

    fn groups_mut(&self) -> RwLockWriteGuard<'_, BTreeMap<String, Filter>> {
        self.groups.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// A running [`Console`]; it stops serving when dropped.
#[derive(Debug)]
pub struct ConsoleServer {
    local_addr: SocketAddr,
    task: JoinHandle<()>,
}

impl ConsoleServer {
    /// The address the console listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The page's URL, e.g. `http://127.0.0.1:2080/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.local_addr)
    }
}

impl Drop for ConsoleServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Whether a group name is acceptable: 1 to 64 characters, none of them a control character.
fn valid_group_name(name: &str) -> bool {
    !name.trim().is_empty()
        && name.chars().count() <= MAX_GROUP_NAME
        && !name.chars().any(char::is_control)
}
