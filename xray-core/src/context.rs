//! The current entity: which segment or subsegment new subsegments attach to.
//!
//! The current entity lives in a thread-local slot. Synchronous code sets it for a scope with
//! [`Entity::in_scope`](crate::Entity::in_scope) or [`set_current`]; asynchronous code wraps a
//! future with [`XrayFutureExt::in_entity`], which makes the entity current for each poll of the
//! future (and for its drop) and restores whatever was current before — the same design as
//! `tracing::Instrumented`, so it works on any executor and across `.await` points, threads and
//! work stealing. Spawned tasks do not inherit the context by themselves: wrap them with
//! [`XrayFutureExt::in_current_entity`].
//!
//! ```
//! use xray_core::{Recorder, context::{self, XrayFutureExt}, emit::MemoryEmitter};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), xray_core::ConfigError> {
//! let emitter = MemoryEmitter::new();
//! let recorder = Recorder::builder().emitter(emitter.clone()).sample_all().build()?;
//! let segment = recorder.begin_segment("worker");
//!
//! async {
//!     // Anything in here sees the segment as current, e.g. the AWS SDK interceptor.
//!     let sub = xray_core::begin_subsegment("step-1");
//!     tokio::task::yield_now().await;
//!     sub.end();
//!     let spawned = tokio::spawn(async {
//!         let _sub = xray_core::begin_subsegment("in-a-task");
//!     }.in_current_entity());
//!     spawned.await.unwrap();
//! }
//! .in_entity(segment.entity().clone())
//! .await;
//!
//! segment.end();
//! assert_eq!(emitter.documents()[0].subsegments.len(), 2);
//! assert!(context::current().is_none());
//! # Ok(()) }
//! ```
//!
//! # When there is no current entity
//!
//! Creating a subsegment with no current entity is governed by the recorder's
//! [`ContextMissingStrategy`] (`AWS_XRAY_CONTEXT_MISSING`): log an error (the default, rate
//! limited), ignore silently, or — for [`try_begin_subsegment`] only — return an error. The
//! returned subsegment records nothing; the application is never interrupted.

use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::str::FromStr;
use std::task::{Context, Poll};

use crate::segment::{Entity, Subsegment};

thread_local! {
    static CURRENT: Cell<Option<Entity>> = const { Cell::new(None) };
    /// What `CURRENT` holds (`NONE`, `UNSAMPLED` or `SAMPLED`), kept beside it so that
    /// [`current_is_sampled`] and [`has_current`] (asked per `tracing` span by xray-tracing, per
    /// AWS SDK hook by xray-aws-sdk) are one thread-local read: a `u8` has no destructor to
    /// register, and the entity is not moved out and back.
    static CURRENT_STATE: Cell<u8> = const { Cell::new(NONE) };
}

const NONE: u8 = 0;
const UNSAMPLED: u8 = 1;
const SAMPLED: u8 = 2;

/// Puts `entity` in the slot and returns what was there. Every write of `CURRENT` goes through
/// here, so that `CURRENT_STATE` follows it.
fn replace_current(entity: Option<Entity>) -> Option<Entity> {
    let state = match &entity {
        None => NONE,
        Some(e) if e.is_sampled() => SAMPLED,
        Some(_) => UNSAMPLED,
    };
    let prev = CURRENT.try_with(|c| c.replace(entity)).ok()?;
    let _ = CURRENT_STATE.try_with(|s| s.set(state));
    prev
}

/// The current entity, if any.
pub fn current() -> Option<Entity> {
    CURRENT
        .try_with(|c| {
            let e = c.take();
            let out = e.clone();
            c.set(e);
            out
        })
        .ok()
        .flatten()
}

/// Whether the current entity is sampled (`false` when there is none): what
/// [`current`]`().is_some_and(|e| e.is_sampled())` says, without cloning the entity — for
/// integrations that do nothing unless the request is recorded (`xray-tracing` per span).
#[inline]
pub fn current_is_sampled() -> bool {
    CURRENT_STATE.try_with(Cell::get).unwrap_or(NONE) == SAMPLED
}

/// Whether there is a current entity (sampled or not): what [`current`]`().is_some()` says,
/// without cloning the entity — for integrations that only need to know whether to apply the
/// context-missing strategy.
#[inline]
pub fn has_current() -> bool {
    CURRENT_STATE.try_with(Cell::get).unwrap_or(NONE) != NONE
}

/// Makes `entity` current until the returned guard is dropped, which restores the previous one.
///
/// The guard is not `Send`: it must not be held across an `.await` (use
/// [`XrayFutureExt::in_entity`] for async code).
pub fn set_current(entity: Entity) -> ContextGuard {
    let prev = replace_current(Some(entity));
    ContextGuard {
        prev,
        _not_send: PhantomData,
    }
}

/// Restores the previously current entity when dropped. See [`set_current`].
#[must_use = "the entity stops being current when the guard is dropped"]
pub struct ContextGuard {
    prev: Option<Entity>,
    _not_send: PhantomData<*const ()>,
}

impl Drop for ContextGuard {
    fn drop(&mut self) {
        let prev = self.prev.take();
        // The entity we set is dropped after the slot is restored, outside the `with`.
        let ours = replace_current(prev);
        if let Some(ours) = ours
            && std::thread::panicking()
        {
            // The scope is being left by a panic: its work failed.
            ours.record_panic();
        }
    }
}

impl fmt::Debug for ContextGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ContextGuard").finish_non_exhaustive()
    }
}

/// Begins a subsegment under the current entity.
///
/// With no current entity the recorder's [`ContextMissingStrategy`] applies: by default an
/// error is logged (at most once a minute) and a subsegment that records nothing is returned.
pub fn begin_subsegment(name: &str) -> Subsegment {
    match current() {
        Some(e) => e.begin_subsegment(name),
        None => {
            crate::Recorder::global().context_missing(name);
            Subsegment::disabled()
        }
    }
}

/// Like [`begin_subsegment`], but returns an error when there is no current entity and the
/// strategy is [`ContextMissingStrategy::RuntimeError`].
///
/// # Errors
///
/// [`ContextMissingError`] under the `RUNTIME_ERROR` strategy when there is no current entity.
pub fn try_begin_subsegment(name: &str) -> Result<Subsegment, ContextMissingError> {
    match current() {
        Some(e) => Ok(e.begin_subsegment(name)),
        None => {
            let recorder = crate::Recorder::global();
            if recorder.context_missing_strategy() == ContextMissingStrategy::RuntimeError {
                return Err(ContextMissingError { _priv: () });
            }
            recorder.context_missing(name);
            Ok(Subsegment::disabled())
        }
    }
}

/// What to do when a subsegment is requested with no current segment (`AWS_XRAY_CONTEXT_MISSING`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum ContextMissingStrategy {
    /// `LOG_ERROR`: log an error (rate limited) and carry on. The default, as in every official
    /// SDK.
    #[default]
    LogError,
    /// `IGNORE_ERROR`: carry on silently.
    IgnoreError,
    /// `RUNTIME_ERROR`: [`try_begin_subsegment`] returns an error; the infallible APIs log like
    /// `LOG_ERROR`, since instrumentation must never break the application.
    RuntimeError,
}

impl FromStr for ContextMissingStrategy {
    type Err = ();
    /// Parses the values of `AWS_XRAY_CONTEXT_MISSING`, case-insensitively.
    fn from_str(s: &str) -> Result<Self, ()> {
        match s.trim().to_ascii_uppercase().as_str() {
            "LOG_ERROR" => Ok(Self::LogError),
            "IGNORE_ERROR" => Ok(Self::IgnoreError),
            "RUNTIME_ERROR" => Ok(Self::RuntimeError),
            _ => Err(()),
        }
    }
}

/// Returned by [`try_begin_subsegment`] when there is no current entity under the
/// `RUNTIME_ERROR` strategy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextMissingError {
    _priv: (),
}

impl fmt::Display for ContextMissingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no current X-Ray segment or subsegment")
    }
}

impl std::error::Error for ContextMissingError {}

pin_project_lite::pin_project! {
    /// A future that runs with an entity as the current one. Created by
    /// [`XrayFutureExt::in_entity`] and [`XrayFutureExt::in_current_entity`].
    #[must_use = "futures do nothing unless polled"]
    pub struct WithEntity<F> {
        #[pin]
        inner: Option<F>,
        entity: Option<Entity>,
    }

    impl<F> PinnedDrop for WithEntity<F> {
        fn drop(this: Pin<&mut Self>) {
            let mut this = this.project();
            // Drop the inner future inside the context, so its destructors (subsegment guards
            // ending, for instance) see the right entity.
            let _enter = this.entity.take().map(set_current);
            this.inner.set(None);
        }
    }
}

impl<F> WithEntity<F> {
    /// The entity the future runs in.
    pub fn entity(&self) -> Option<&Entity> {
        self.entity.as_ref()
    }
}

impl<F: Future> Future for WithEntity<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        // Move the entity into the thread-local slot for this poll and back out afterwards:
        // no reference-count traffic per poll.
        let swap = Swap::enter(this.entity);
        let out = match this.inner.as_pin_mut() {
            Some(inner) => inner.poll(cx),
            None => {
                drop(swap);
                return Poll::Pending;
            }
        };
        drop(swap);
        out
    }
}

/// Restores the slot even if the inner poll panics, and then records the panic on the entity.
struct Swap<'a> {
    home: &'a mut Option<Entity>,
    prev: Option<Entity>,
}

impl<'a> Swap<'a> {
    fn enter(home: &'a mut Option<Entity>) -> Self {
        let ours = home.take();
        let prev = replace_current(ours);
        Swap { home, prev }
    }
}

impl Drop for Swap<'_> {
    fn drop(&mut self) {
        let prev = self.prev.take();
        *self.home = replace_current(prev);
        if let Some(entity) = self.home.as_ref()
            && std::thread::panicking()
        {
            // The future panicked in this poll: even if something above catches the panic
            // (tower-http's `CatchPanic`), the work under this entity failed.
            entity.record_panic();
        }
    }
}

/// Attaches an X-Ray entity to a future, like `tracing::Instrument`.
pub trait XrayFutureExt: Future + Sized {
    /// Runs this future with `entity` as the current entity.
    fn in_entity(self, entity: Entity) -> WithEntity<Self> {
        WithEntity {
            inner: Some(self),
            entity: Some(entity),
        }
    }

    /// Runs this future with the entity that is current now (if any) — the way to carry the
    /// context into `tokio::spawn`.
    fn in_current_entity(self) -> WithEntity<Self> {
        WithEntity {
            inner: Some(self),
            entity: current(),
        }
    }
}

impl<F: Future> XrayFutureExt for F {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strategy_parsing() {
        assert_eq!("log_error".parse(), Ok(ContextMissingStrategy::LogError));
        assert_eq!(
            " IGNORE_ERROR ".parse(),
            Ok(ContextMissingStrategy::IgnoreError)
        );
        assert_eq!(
            "RUNTIME_ERROR".parse(),
            Ok(ContextMissingStrategy::RuntimeError)
        );
        assert!("panic".parse::<ContextMissingStrategy>().is_err());
    }

    #[test]
    fn current_is_sampled_leaves_the_slot_alone() {
        assert!(!current_is_sampled());
        assert!(!has_current());
        let _g = set_current(Entity::disabled());
        assert!(!current_is_sampled());
        assert!(has_current());
        assert!(current().is_some());
    }

    #[test]
    fn current_is_sampled_follows_every_write_of_the_slot() {
        let recorder = crate::Recorder::builder()
            .emitter(crate::emit::MemoryEmitter::new())
            .sample_all()
            .ignore_env()
            .build()
            .unwrap();
        let segment = recorder.begin_segment("s");
        let outer = set_current(segment.entity().clone());
        assert!(current_is_sampled());
        {
            let _inner = set_current(Entity::disabled());
            assert!(!current_is_sampled());
        }
        assert!(current_is_sampled());
        // A future's poll swaps the slot in and out.
        let mut fut = std::pin::pin!(async { current_is_sampled() }.in_entity(Entity::disabled()));
        let waker = std::task::Waker::noop();
        let polled = fut.as_mut().poll(&mut Context::from_waker(waker));
        assert_eq!(polled, Poll::Ready(false));
        assert!(current_is_sampled());
        drop(outer);
        assert!(!current_is_sampled());
        assert!(!has_current());
    }

    #[test]
    fn guard_restores_previous() {
        assert!(current().is_none());
        let a = Entity::disabled();
        let g1 = set_current(a);
        assert!(current().is_some());
        {
            let _g2 = set_current(Entity::disabled());
            assert!(current().is_some());
        }
        assert!(current().is_some());
        drop(g1);
        assert!(current().is_none());
    }
}
