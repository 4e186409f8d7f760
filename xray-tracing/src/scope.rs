//! Which subsegment is the current X-Ray entity while its span is entered.
//!
//! `xray_core::context` keeps the current entity in a thread-local slot and hands out a guard
//! that restores the previous entity. A span can be entered on several threads at once (its
//! handle is `Clone + Send`), so the previous entity cannot live in the span: each thread keeps
//! its own stack of `(span, guard)`, pushed on enter and popped on exit.

use std::cell::RefCell;

use tracing::span::Id;
use xray_core::Entity;
use xray_core::context::{ContextGuard, set_current};

thread_local! {
    static STACK: RefCell<Vec<(Id, ContextGuard)>> = const { RefCell::new(Vec::new()) };
}

/// Makes `entity` current until `exit(id)`.
pub(crate) fn enter(id: &Id, entity: Entity) {
    let guard = set_current(entity);
    let pushed = STACK.try_with(|s| {
        s.try_borrow_mut()
            .map(|mut s| s.push((id.clone(), guard)))
            .map_err(|_| ())
    });
    // On thread teardown or re-entrance the guard was dropped with the closure, restoring the
    // previous entity at once: the span is then simply not current.
    let _ = pushed;
}

/// Restores what was current before `id` was entered. `entity_of` gives the subsegment of a
/// span, for spans exited out of order (see below).
pub(crate) fn exit(id: &Id, entity_of: impl Fn(&Id) -> Option<Entity>) {
    let popped = STACK.try_with(|s| {
        let Ok(mut s) = s.try_borrow_mut() else {
            return Popped::None;
        };
        match s.iter().rposition(|(i, _)| i == id) {
            None => Popped::None,
            Some(pos) if pos + 1 == s.len() => s.pop().map_or(Popped::None, Popped::Top),
            // A span exited out of order (guards of `Span::entered` dropped in another order)
            // takes the spans entered after it off with it.
            Some(pos) => Popped::Several(s.split_off(pos)),
        }
    });
    match popped {
        // Dropped outside the stack's borrow: restoring may drop the last handle of an entity.
        Ok(Popped::Top(top)) => drop(top),
        Ok(Popped::Several(mut popped)) => {
            let above: Vec<Id> = popped.iter().skip(1).map(|(i, _)| i.clone()).collect();
            // Guards restore in reverse order of entering.
            while let Some((_, guard)) = popped.pop() {
                drop(guard);
            }
            // The spans entered after `id` are still entered: make them current again.
            for other in above {
                if let Some(entity) = entity_of(&other) {
                    enter(&other, entity);
                }
            }
        }
        Ok(Popped::None) | Err(_) => {}
    }
}

enum Popped {
    None,
    Top((Id, ContextGuard)),
    Several(Vec<(Id, ContextGuard)>),
}
