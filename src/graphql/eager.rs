//! Objects resolved in one pass: the fields that never wait are resolved in place, in selection
//! order, and only the others are joined.
//!
//! async-graphql resolves every field of an object as a boxed future in a `FuturesUnordered`.
//! For a page of merchants with their coupons that is hundreds of allocations, moves of large
//! futures and wake-ups per request, for fields that only read a row already in hand. The
//! answer is the same either way; a selection this path does not cover (a response key selected
//! twice, whose selections async-graphql merges; a field with a custom directive; an unknown
//! fragment) takes async-graphql's own path.
//!
//! Fields resolved here do not pass through an extension's per-field `resolve` hook. The server
//! registers no such extension: the document limits are checked before execution.

use std::borrow::Cow;
use std::future::Future;
use std::task::{Poll, Waker};

use async_graphql::indexmap::IndexMap;
use async_graphql::parser::types::{Field, Selection, SelectionSet};
use async_graphql::registry::Registry;
use async_graphql::resolver_utils::{resolve_container, resolve_list};
use async_graphql::{
    ContainerType, ContextSelectionSet, Name, OutputType, Positioned, ServerResult, Value,
};

/// An object type whose listed fields never wait: they read the row the object holds.
pub trait EagerObject: ContainerType {
    /// The fields resolved in place. A field listed here that does wait is still answered
    /// right (it is polled once, then run again to the end), only without running beside its
    /// siblings; so only fields that read, never ones that write.
    const READY: &'static [&'static str];
}

impl<T: EagerObject + ?Sized> EagerObject for &T {
    const READY: &'static [&'static str] = T::READY;
}

/// Every type that reaches the schema as [`Eager`] or [`EagerList`], with its `READY` fields,
/// noted as the schema is built, so a test can check them all without a list of its own.
static SEEN: std::sync::Mutex<std::collections::BTreeMap<String, &'static [&'static str]>> =
    std::sync::Mutex::new(std::collections::BTreeMap::new());

fn seen<T: EagerObject>() {
    SEEN.lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .insert(T::type_name().into_owned(), T::READY);
}

/// The `READY` fields, as `Type.field`, that are not fields of their type in the schema: each
/// one would be answered as `null` without a word. Builds the schema's types to find out.
pub fn unknown_ready_fields() -> Vec<String> {
    let mut registry = Registry::default();
    <super::QueryRoot as OutputType>::create_type_info(&mut registry);
    <super::MutationRoot as OutputType>::create_type_info(&mut registry);
    let seen = SEEN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut unknown = Vec::new();
    for (ty, ready) in seen.iter() {
        let fields = registry.types.get(ty).and_then(|t| t.fields());
        for name in *ready {
            if !fields.is_some_and(|f| f.contains_key(*name)) {
                unknown.push(format!("{ty}.{name}"));
            }
        }
    }
    unknown
}

/// The types noted by [`unknown_ready_fields`]'s build, by name.
pub fn ready_types() -> Vec<String> {
    let _ = unknown_ready_fields();
    SEEN.lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .keys()
        .cloned()
        .collect()
}

/// `T` resolved eagerly; to the schema it is `T` itself.
pub struct Eager<T>(pub T);

impl<T: EagerObject> OutputType for Eager<T> {
    fn type_name() -> Cow<'static, str> {
        T::type_name()
    }

    fn qualified_type_name() -> String {
        T::qualified_type_name()
    }

    fn introspection_type_name(&self) -> Cow<'static, str> {
        self.0.introspection_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        seen::<T>();
        T::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        _field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        resolve(ctx, &self.0).await
    }
}

/// A list of `T`, for types whose `READY` fields never wait (they are all leaves). When the
/// items' selection is only such fields, nothing can wait, and the items are resolved one after
/// another in place; async-graphql's own list joins a boxed future per item. Otherwise the
/// list is resolved as async-graphql does, items side by side, so loaders batch across them.
pub struct EagerList<T>(pub Vec<T>);

impl<T: EagerObject> OutputType for EagerList<T> {
    fn type_name() -> Cow<'static, str> {
        <Vec<Eager<T>> as OutputType>::type_name()
    }

    fn qualified_type_name() -> String {
        <Vec<Eager<T>> as OutputType>::qualified_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        seen::<T>();
        <Vec<Eager<T>> as OutputType>::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        if !only_ready::<T>(ctx, &ctx.item.node) {
            return resolve_list(ctx, field, self.0.iter().map(Eager), Some(self.0.len())).await;
        }
        let mut items = Vec::with_capacity(self.0.len());
        for (i, item) in self.0.iter().enumerate() {
            let at = ctx.with_index(i);
            items.push(resolve(&at, item).await.map_err(|e| at.set_error_path(e))?);
        }
        Ok(Value::List(items))
    }
}

/// Whether every field of `set`, through fragments, is `__typename` or one of `T`'s `READY`
/// fields, without directives.
fn only_ready<T: EagerObject>(ctx: &ContextSelectionSet<'_>, set: &SelectionSet) -> bool {
    set.items.iter().all(|selection| match &selection.node {
        Selection::Field(field) => {
            let name = field.node.name.node.as_str();
            field.node.directives.is_empty() && (name == "__typename" || T::READY.contains(&name))
        }
        Selection::FragmentSpread(spread) => ctx
            .query_env
            .fragments
            .get(&spread.node.fragment_name.node)
            .is_some_and(|f| only_ready::<T>(ctx, &f.node.selection_set.node)),
        Selection::InlineFragment(fragment) => {
            only_ready::<T>(ctx, &fragment.node.selection_set.node)
        }
    })
}

async fn resolve<'a, T: EagerObject>(
    ctx: &ContextSelectionSet<'a>,
    root: &'a T,
) -> ServerResult<Value> {
    let mut fields = Vec::with_capacity(ctx.item.node.items.len());
    let mut results = IndexMap::with_capacity(ctx.item.node.items.len());
    if !collect(ctx, root, &ctx.item.node, &mut fields, &mut results) {
        return resolve_container(ctx, root).await;
    }
    // Like async-graphql, a field whose resolver fails is left out and its error recorded.
    let mut failed = Vec::new();
    let mut waiting = Vec::new();
    for (i, field) in fields.iter().enumerate() {
        let name = field.node.name.node.as_str();
        let value = if name == "__typename" {
            Value::String(root.introspection_type_name().into_owned())
        } else if T::READY.contains(&name) {
            // Polled once where it is made, so the resolver's future (as large as the type's
            // largest field's) is not part of this one's state, which lists move by value.
            let at = ctx.with_field(field);
            let ready = {
                // Made in place rather than moved into `now_or_never`: a copy per field.
                let future = std::pin::pin!(root.resolve_field(&at));
                match future.poll(&mut std::task::Context::from_waker(Waker::noop())) {
                    Poll::Ready(resolved) => Some(resolved),
                    Poll::Pending => None,
                }
            };
            let resolved = match ready {
                Some(resolved) => resolved,
                None => Box::pin(root.resolve_field(&at)).await,
            };
            match resolved {
                Ok(v) => v.unwrap_or_default(),
                Err(e) => {
                    ctx.add_error(e);
                    failed.push(i);
                    continue;
                }
            }
        } else {
            waiting.push(i);
            continue;
        };
        results[i] = value;
    }
    let mut settle = |i: usize, resolved: ServerResult<Option<Value>>| match resolved {
        Ok(v) => results[i] = v.unwrap_or_default(),
        Err(e) => {
            ctx.add_error(e);
            failed.push(i);
        }
    };
    match waiting.as_slice() {
        [] => {}
        // Boxed, for the same reason: a field that waits is often a list of objects of its own.
        &[i] => settle(
            i,
            Box::pin(root.resolve_field(&ctx.with_field(fields[i]))).await,
        ),
        _ => {
            let fields = &fields;
            let resolved = futures::future::join_all(waiting.iter().map(|&i| {
                Box::pin(async move { root.resolve_field(&ctx.with_field(fields[i])).await })
            }))
            .await;
            for (&i, r) in waiting.iter().zip(resolved) {
                settle(i, r);
            }
        }
    }
    failed.sort_unstable();
    for &i in failed.iter().rev() {
        results.shift_remove_index(i);
    }
    Ok(if results.is_empty() {
        Value::Null
    } else {
        Value::Object(results)
    })
}

/// Flattens the selection into its fields, in order, each with a place in `results`; false
/// when async-graphql's own path must answer instead.
fn collect<'a, T: EagerObject>(
    ctx: &ContextSelectionSet<'a>,
    root: &T,
    set: &'a SelectionSet,
    fields: &mut Vec<&'a Positioned<Field>>,
    results: &mut IndexMap<Name, Value>,
) -> bool {
    for selection in &set.items {
        let (condition, inner) = match &selection.node {
            Selection::Field(field) => {
                // `@skip` and `@include` are gone by now; any other directive wraps the field.
                if !field.node.directives.is_empty() {
                    return false;
                }
                let key = field.node.response_key().node.clone();
                if results.insert(key, Value::Null).is_some() {
                    return false;
                }
                fields.push(field);
                continue;
            }
            Selection::FragmentSpread(spread) => {
                let Some(fragment) = ctx.query_env.fragments.get(&spread.node.fragment_name.node)
                else {
                    return false;
                };
                (
                    Some(&fragment.node.type_condition.node.on.node),
                    &fragment.node.selection_set.node,
                )
            }
            Selection::InlineFragment(fragment) => (
                fragment
                    .node
                    .type_condition
                    .as_ref()
                    .map(|c| &c.node.on.node),
                &fragment.node.selection_set.node,
            ),
        };
        let applies = condition.is_none_or(|on| {
            let own = root.introspection_type_name();
            on.as_str() == own
                || ctx
                    .schema_env
                    .registry
                    .implements
                    .get(own.as_ref())
                    .is_some_and(|interfaces| interfaces.contains(on.as_str()))
        });
        if applies && !collect(ctx, root, inner, fields, results) {
            return false;
        }
    }
    true
}
