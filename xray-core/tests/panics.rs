//! Code that panics under an entity marks it `fault`, with a cause of type `panic`, whether the
//! panic drops the guard, leaves an `in_scope` block, or unwinds out of a future's poll that
//! something above catches (as tower-http's `CatchPanic` does).

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::pin;
use std::task::{Context, Waker};

use xray_core::model::{Cause, Document};
use xray_core::segment::PANIC_EXCEPTION_TYPE;
use xray_core::{Recorder, XrayFutureExt, emit::MemoryEmitter};

fn recorder() -> (Recorder, MemoryEmitter) {
    let emitter = MemoryEmitter::new();
    let recorder = Recorder::builder()
        .emitter(emitter.clone())
        .sample_all()
        .ignore_env()
        .build()
        .expect("recorder");
    (recorder, emitter)
}

fn panic_exceptions(doc: &Document) -> usize {
    match &doc.cause {
        Some(Cause::Details(c)) => c
            .exceptions
            .iter()
            .filter(|e| e.kind.as_deref() == Some(PANIC_EXCEPTION_TYPE))
            .count(),
        _ => 0,
    }
}

fn quiet<R>(f: impl FnOnce() -> R) -> R {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let out = f();
    std::panic::set_hook(hook);
    out
}

#[test]
fn a_guard_dropped_by_a_panic_marks_its_entity() {
    let (recorder, emitter) = recorder();
    let segment = recorder.begin_segment("job");
    let caught = quiet(|| {
        catch_unwind(AssertUnwindSafe(|| {
            let _sub = segment.begin_subsegment("step");
            panic!("boom");
        }))
    });
    assert!(caught.is_err());
    segment.begin_subsegment("fine").end();
    segment.end();

    let doc = &emitter.documents()[0];
    assert!(
        !doc.fault,
        "the panic was caught below the segment's own scope"
    );
    let step = &doc.subsegments[0];
    assert!(step.fault);
    assert_eq!(panic_exceptions(step), 1);
    assert!(!doc.subsegments[1].fault);
}

#[test]
fn a_panic_inside_in_scope_marks_the_scoped_entity_once() {
    let (recorder, emitter) = recorder();
    let segment = recorder.begin_segment("job");
    let caught = quiet(|| {
        catch_unwind(AssertUnwindSafe(|| {
            segment.in_scope(|| segment.in_scope(|| panic!("boom")))
        }))
    });
    assert!(caught.is_err());
    segment.end();
    let doc = &emitter.documents()[0];
    assert!(doc.fault);
    assert_eq!(
        panic_exceptions(doc),
        1,
        "two scopes saw the panic, one cause"
    );
}

#[test]
fn a_future_that_panics_marks_its_entity_even_when_the_panic_is_caught_above() {
    let (recorder, emitter) = recorder();
    let segment = recorder.begin_segment("request");
    let mut future = pin!(
        async {
            std::future::ready(()).await;
            panic!("handler failed");
        }
        .in_entity(segment.entity().clone())
    );
    let mut cx = Context::from_waker(Waker::noop());
    let caught = quiet(|| catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(&mut cx))));
    assert!(caught.is_err());
    // The future is not dropped by the unwinding (it is owned above the catch): the segment
    // still ends normally afterwards, with the panic recorded.
    segment.end();
    let doc = &emitter.documents()[0];
    assert!(doc.fault);
    assert_eq!(panic_exceptions(doc), 1);
}

#[test]
fn no_panic_no_fault() {
    let (recorder, emitter) = recorder();
    let segment = recorder.begin_segment("job");
    segment.in_scope(|| {
        let _sub = xray_core::begin_subsegment("step");
    });
    segment.end();
    let doc = &emitter.documents()[0];
    assert!(!doc.fault && !doc.subsegments[0].fault);
    assert_eq!(panic_exceptions(doc), 0);
}
