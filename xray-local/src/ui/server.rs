//! HTTP/1.1 on hyper: routing, the embedded assets and the API handlers.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use xray_core::TraceId;

use super::{Console, api, valid_group_name};
use crate::filter::Filter;
use crate::graph::ServiceGraph;
use crate::trace::Trace;

const INDEX_HTML: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const APP_CSS: &str = include_str!("assets/app.css");

/// Group definitions are small; anything bigger is refused.
const MAX_BODY: usize = 64 * 1024;
const DEFAULT_LIMIT: usize = 500;

type Body = Full<Bytes>;

pub(super) async fn run(listener: TcpListener, console: Arc<Console>) {
    let mut last_log: Option<Instant> = None;
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let console = Arc::clone(&console);
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let console = Arc::clone(&console);
                        async move { Ok::<_, Infallible>(handle(console, req).await) }
                    });
                    // A client that goes away mid-request is not worth reporting.
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
            Err(error) => {
                // Out of file descriptors, typically: pause so the loop cannot spin.
                if last_log.is_none_or(|t| t.elapsed() > Duration::from_secs(10)) {
                    last_log = Some(Instant::now());
                    tracing::warn!(target: "xray", %error, "console: accepting a connection failed");
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

async fn handle(console: Arc<Console>, req: Request<Incoming>) -> Response<Body> {
    if !host_allowed(req.headers().get(header::HOST)) {
        return invalid(
            StatusCode::FORBIDDEN,
            "open the console by IP address or localhost",
            None,
        );
    }
    let path = req.uri().path().to_owned();
    let query = parse_query(req.uri().query().unwrap_or(""));
    let method = req.method().clone();
    match (&method, path.as_str()) {
        (&Method::GET, "/" | "/index.html") => asset(INDEX_HTML, "text/html; charset=utf-8"),
        (&Method::GET, "/app.js") => asset(APP_JS, "text/javascript; charset=utf-8"),
        (&Method::GET, "/app.css") => asset(APP_CSS, "text/css; charset=utf-8"),
        (&Method::GET, "/favicon.ico") => {
            let mut r = Response::new(Full::new(Bytes::new()));
            *r.status_mut() = StatusCode::NO_CONTENT;
            r
        }
        (&Method::POST, "/api/groups") => {
            let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
                Ok(body) => body.to_bytes(),
                Err(e) => return invalid(StatusCode::BAD_REQUEST, &format!("body: {e}"), None),
            };
            create_group(&console, &body)
        }
        (&Method::DELETE, p) if p.starts_with("/api/groups/") => {
            let name = percent_decode(&p["/api/groups/".len()..]);
            if console.groups_mut().remove(&name).is_some() {
                json_response(StatusCode::OK, &json!({}))
            } else {
                invalid(
                    StatusCode::NOT_FOUND,
                    &format!("no group named {name:?}"),
                    None,
                )
            }
        }
        (&Method::GET, p) if p.starts_with("/api/") => {
            let p = p.to_owned();
            // Filtering and graph building walk every trace held: off the runtime's threads.
            tokio::task::spawn_blocking(move || get_api(&console, &p, &query))
                .await
                .unwrap_or_else(|_| {
                    invalid(StatusCode::INTERNAL_SERVER_ERROR, "handler failed", None)
                })
        }
        (_, p) if p.starts_with("/api/") || matches!(p, "/" | "/app.js" | "/app.css") => {
            invalid(StatusCode::METHOD_NOT_ALLOWED, "method not allowed", None)
        }
        _ => invalid(StatusCode::NOT_FOUND, "not found", None),
    }
}

fn get_api(console: &Console, path: &str, query: &[(String, String)]) -> Response<Body> {
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.trim().is_empty())
    };
    match path {
        "/api/status" => status(console),
        "/api/groups" => {
            let groups: Vec<Value> = console
                .groups()
                .iter()
                .map(|(name, f)| json!({"GroupName": name, "FilterExpression": f.as_str()}))
                .collect();
            json_response(StatusCode::OK, &json!({ "Groups": groups }))
        }
        "/api/service-graph" | "/api/traces" => {
            let filters = match selection(console, param("group"), param("filter")) {
                Ok(f) => f,
                Err(response) => return *response,
            };
            let all = console.receiver.traces();
            let matched: Vec<&Trace> = all
                .iter()
                .filter(|t| filters.iter().all(|f| f.matches(t)))
                .collect();
            if path == "/api/traces" {
                let limit = param("limit")
                    .and_then(|l| l.parse().ok())
                    .unwrap_or(DEFAULT_LIMIT);
                json_response(
                    StatusCode::OK,
                    &api::trace_summaries(&matched, all.len(), limit, param("filter")),
                )
            } else {
                let graph = ServiceGraph::from_traces(matched.iter().copied());
                json_response(StatusCode::OK, &api::service_graph(&graph, &matched))
            }
        }
        p if p.starts_with("/api/traces/") => {
            let id = &p["/api/traces/".len()..];
            let trace = id
                .parse::<TraceId>()
                .ok()
                .and_then(|id| console.receiver.trace(id));
            match trace {
                Some(trace) => json_response(StatusCode::OK, &api::batch_get_trace(&trace)),
                None => json_response(
                    StatusCode::NOT_FOUND,
                    &json!({"Traces": [], "UnprocessedTraceIds": [id]}),
                ),
            }
        }
        _ => invalid(StatusCode::NOT_FOUND, "not found", None),
    }
}

/// The filters a request asks for: its group's and its own expression.
fn selection(
    console: &Console,
    group: Option<&str>,
    filter: Option<&str>,
) -> Result<Vec<Filter>, Box<Response<Body>>> {
    let mut out = Vec::new();
    if let Some(name) = group {
        match console.groups().get(name) {
            Some(f) => out.push(f.clone()),
            None => {
                return Err(Box::new(invalid(
                    StatusCode::NOT_FOUND,
                    &format!("no group named {name:?}"),
                    None,
                )));
            }
        }
    }
    if let Some(text) = filter {
        match Filter::parse(text) {
            Ok(f) => out.push(f),
            Err(e) => {
                return Err(Box::new(invalid(
                    StatusCode::BAD_REQUEST,
                    &e.to_string(),
                    Some(e.position()),
                )));
            }
        }
    }
    Ok(out)
}

fn create_group(console: &Console, body: &[u8]) -> Response<Body> {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return invalid(StatusCode::BAD_REQUEST, "the body is not JSON", None);
    };
    let name = v["GroupName"].as_str().unwrap_or_default();
    if !valid_group_name(name) {
        return invalid(
            StatusCode::BAD_REQUEST,
            "GroupName must be 1 to 64 characters",
            None,
        );
    }
    let text = v["FilterExpression"].as_str().unwrap_or_default();
    match Filter::parse(text) {
        Ok(filter) => {
            console.groups_mut().insert(name.to_owned(), filter);
            json_response(
                StatusCode::OK,
                &json!({"Group": {"GroupName": name, "FilterExpression": text}}),
            )
        }
        Err(e) => invalid(StatusCode::BAD_REQUEST, &e.to_string(), Some(e.position())),
    }
}

fn status(console: &Console) -> Response<Body> {
    let (held, max, age) = console.receiver.retention();
    let stats = console.receiver.stats();
    json_response(
        StatusCode::OK,
        &json!({
            "TracesHeld": held,
            "MaxTraces": max,
            "MaxTraceAgeSeconds": age.map(|a| a.as_secs_f64()),
            "TracesDropped": stats.traces_evicted,
            "ListenAddress": console.receiver.local_addr(),
            "Receiver": stats,
            "Version": env!("CARGO_PKG_VERSION"),
        }),
    )
}

fn asset(text: &'static str, content_type: &'static str) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    h.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-cache"),
    );
    r
}

fn json_response(status: StatusCode, value: &Value) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::from(value.to_string())));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    h.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    r
}

fn invalid(status: StatusCode, message: &str, position: Option<usize>) -> Response<Body> {
    json_response(
        status,
        &json!({"__type": "InvalidRequestException", "message": message, "Position": position}),
    )
}

/// Whether the `Host` header names an IP address or localhost. A page on another site that
/// rebinds its own name to 127.0.0.1 sends its name here, so it cannot read traces.
fn host_allowed(host: Option<&header::HeaderValue>) -> bool {
    // HTTP/1.0 clients may send none; a browser always does.
    let Some(host) = host else {
        return true;
    };
    let Ok(host) = host.to_str() else {
        return false;
    };
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or_default(),
        None => host.split(':').next().unwrap_or_default(),
    };
    name.eq_ignore_ascii_case("localhost")
        || name.to_ascii_lowercase().ends_with(".localhost")
        || name.parse::<std::net::IpAddr>().is_ok()
}

fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// `application/x-www-form-urlencoded` decoding: `+` is a space, `%XX` a byte; invalid escapes
/// stay as they are and invalid UTF-8 is replaced.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = |at: usize| bytes.get(at).and_then(|b| (*b as char).to_digit(16));
                match (hex(i + 1), hex(i + 2)) {
                    (Some(h), Some(l)) => {
                        // Two hex digits are at most 255.
                        out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
                        i += 3;
                        continue;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_decoding() {
        assert_eq!(
            parse_query("filter=service(%22a+b%22)%20AND%20ok&x&limit=5&bad=%zz%4"),
            [
                ("filter".to_owned(), "service(\"a b\") AND ok".to_owned()),
                ("x".to_owned(), String::new()),
                ("limit".to_owned(), "5".to_owned()),
                ("bad".to_owned(), "%zz%4".to_owned()),
            ]
        );
        assert_eq!(percent_decode("%C3%A9%"), "é%");
    }

    #[test]
    fn hosts() {
        let allowed = |h: &str| host_allowed(Some(&header::HeaderValue::from_str(h).unwrap()));
        for ok in [
            "127.0.0.1:2080",
            "localhost:2080",
            "LOCALHOST",
            "[::1]:2080",
            "10.0.0.5",
            "app.localhost:1",
        ] {
            assert!(allowed(ok), "{ok}");
        }
        for bad in [
            "evil.example:2080",
            "127.0.0.1.nip.io",
            "localhost.evil.example",
        ] {
            assert!(!allowed(bad), "{bad}");
        }
        assert!(host_allowed(None));
    }
}
