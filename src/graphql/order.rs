//! Answers in selection order, at every level.
//!
//! The GraphQL specification orders an object's entries as its fields were selected
//! (CollectFields). async-graphql 7 joins a container's fields in a `FuturesUnordered` and
//! writes each as it finishes, so `{ me { … } myEntitlements { … } }` could come back with
//! `myEntitlements` first. Objects of `eager.rs` resolve in order already; everything else is
//! put in order here, once, after execution: per object a comparison of its keys with the
//! selection's, and a rebuild only when they differ.

use std::collections::HashMap;

use async_graphql::indexmap::IndexMap;
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, Field, FragmentDefinition, OperationType, Selection,
    SelectionSet,
};
use async_graphql::registry::{MetaTypeName, Registry};
use async_graphql::{Name, OutputType, Positioned, Value, Variables};

use super::{MutationRoot, QueryRoot};

/// The types of the schema, as far as ordering an answer needs them.
pub struct ResponseOrder {
    registry: Registry,
    query: String,
    mutation: String,
}

impl Default for ResponseOrder {
    fn default() -> Self {
        let mut registry = Registry::default();
        QueryRoot::create_type_info(&mut registry);
        MutationRoot::create_type_info(&mut registry);
        ResponseOrder {
            registry,
            query: QueryRoot::type_name().into_owned(),
            mutation: MutationRoot::type_name().into_owned(),
        }
    }
}

/// The entries of one object type for one selection, in order, each with what is below it.
struct Plan<'d> {
    keys: Vec<(&'d str, Below<'d>)>,
}

enum Below<'d> {
    Leaf,
    Object(Plan<'d>),
    /// An interface or union: the plan of each type it may be, tried against the object.
    Abstract(Vec<Plan<'d>>),
}

struct Walk<'d, 'r> {
    order: &'r ResponseOrder,
    fragments: &'d HashMap<Name, Positioned<FragmentDefinition>>,
    variables: &'r Variables,
}

impl ResponseOrder {
    /// Puts `data`, the answer to `operation` of `doc`, in selection order.
    pub fn apply(
        &self,
        doc: &ExecutableDocument,
        operation: Option<&str>,
        variables: &Variables,
        data: &mut Value,
    ) {
        let op = match (&doc.operations, operation) {
            (DocumentOperations::Single(op), _) => op,
            (DocumentOperations::Multiple(ops), Some(name)) => match ops.get(name) {
                Some(op) => op,
                None => return,
            },
            (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
                match ops.values().next() {
                    Some(op) => op,
                    None => return,
                }
            }
            _ => return,
        };
        let root = match op.node.ty {
            OperationType::Query => &self.query,
            OperationType::Mutation => &self.mutation,
            OperationType::Subscription => return,
        };
        let walk = Walk {
            order: self,
            fragments: &doc.fragments,
            variables,
        };
        let plan = walk.plan(root, &[&op.node.selection_set.node]);
        put_in_order(&plan, data);
    }
}

impl<'d> Walk<'d, '_> {
    fn plan(&self, ty: &str, sets: &[&'d SelectionSet]) -> Plan<'d> {
        let mut fields: IndexMap<&'d str, Vec<&'d Positioned<Field>>> = IndexMap::new();
        for set in sets {
            self.collect(ty, set, &mut fields);
        }
        let meta = self.order.registry.types.get(ty);
        let keys = fields
            .into_iter()
            .map(|(key, fields)| {
                let child = meta
                    .and_then(|m| m.field_by_name(fields[0].node.name.node.as_str()))
                    .map(|f| MetaTypeName::concrete_typename(&f.ty));
                let below = match child.and_then(|c| self.order.registry.types.get(c)) {
                    Some(child) if child.is_composite() => {
                        let sets: Vec<&'d SelectionSet> =
                            fields.iter().map(|f| &f.node.selection_set.node).collect();
                        match child.possible_types() {
                            Some(types) if child.is_abstract() => {
                                Below::Abstract(types.iter().map(|t| self.plan(t, &sets)).collect())
                            }
                            _ => Below::Object(self.plan(child.name(), &sets)),
                        }
                    }
                    _ => Below::Leaf,
                };
                (key, below)
            })
            .collect();
        Plan { keys }
    }

    /// CollectFields: the fields of `set` for an object of type `ty`, by response key, in the
    /// order each key first appears.
    fn collect(
        &self,
        ty: &str,
        set: &'d SelectionSet,
        out: &mut IndexMap<&'d str, Vec<&'d Positioned<Field>>>,
    ) {
        for selection in &set.items {
            if self.skipped(selection.node.directives()) {
                continue;
            }
            match &selection.node {
                Selection::Field(field) => out
                    .entry(field.node.response_key().node.as_str())
                    .or_default()
                    .push(field),
                Selection::FragmentSpread(spread) => {
                    if let Some(fragment) = self.fragments.get(&spread.node.fragment_name.node)
                        && self.applies(ty, &fragment.node.type_condition.node.on.node)
                    {
                        self.collect(ty, &fragment.node.selection_set.node, out);
                    }
                }
                Selection::InlineFragment(fragment) => {
                    let on = fragment.node.type_condition.as_ref();
                    if on.is_none_or(|c| self.applies(ty, &c.node.on.node)) {
                        self.collect(ty, &fragment.node.selection_set.node, out);
                    }
                }
            }
        }
    }

    fn applies(&self, ty: &str, on: &str) -> bool {
        on == ty
            || self
                .order
                .registry
                .types
                .get(on)
                .is_some_and(|t| t.is_possible_type(ty))
    }

    /// `@skip(if: true)` or `@include(if: false)`, as the executor reads them.
    fn skipped(&self, directives: &[Positioned<async_graphql::parser::types::Directive>]) -> bool {
        directives.iter().any(|d| {
            let include = match d.node.name.node.as_str() {
                "skip" => false,
                "include" => true,
                _ => return false,
            };
            let value = d.node.get_argument("if").and_then(|v| {
                v.node
                    .clone()
                    .into_const_with(|name| self.variables.get(&name).cloned().ok_or(()))
                    .ok()
            });
            matches!(value, Some(Value::Boolean(b)) if b != include)
        })
    }
}

fn put_in_order(plan: &Plan<'_>, value: &mut Value) {
    match value {
        Value::List(items) => items.iter_mut().for_each(|item| put_in_order(plan, item)),
        Value::Object(map) => {
            if !in_order(plan, map) {
                let mut old = std::mem::take(map);
                for (key, _) in &plan.keys {
                    if let Some((name, v)) = old.shift_remove_entry(*key) {
                        map.insert(name, v);
                    }
                }
                map.extend(old);
            }
            for (key, below) in &plan.keys {
                let Some(child) = map.get_mut(*key) else {
                    continue;
                };
                match below {
                    Below::Leaf => {}
                    Below::Object(plan) => put_in_order(plan, child),
                    Below::Abstract(plans) => put_abstract_in_order(plans, child),
                }
            }
        }
        _ => {}
    }
}

/// Each object by the plan of the type it is, known from its keys: the types whose plans hold
/// all of them. When those plans would order its keys differently, its type is not known and
/// the object is left as the executor wrote it: never reordered by a guess.
fn put_abstract_in_order(plans: &[Plan<'_>], value: &mut Value) {
    match value {
        Value::List(items) => items
            .iter_mut()
            .for_each(|item| put_abstract_in_order(plans, item)),
        Value::Object(map) => {
            let keys: Vec<&str> = map.keys().map(|k| k.as_str()).collect();
            // The object's keys in a plan's order, if the plan holds them all.
            let sequence = |p: &Plan<'_>| -> Option<Vec<String>> {
                let mut at: Vec<(usize, &str)> = keys
                    .iter()
                    .map(|k| p.keys.iter().position(|(key, _)| key == k).map(|i| (i, *k)))
                    .collect::<Option<_>>()?;
                at.sort_unstable();
                Some(at.into_iter().map(|(_, k)| k.to_owned()).collect())
            };
            let mut fitting = plans.iter().filter_map(|p| sequence(p).map(|s| (p, s)));
            let Some((plan, first)) = fitting.next() else {
                return;
            };
            if fitting.all(|(_, other)| other == first) {
                put_in_order(plan, value);
            }
        }
        _ => {}
    }
}

/// Whether the object's keys come in the plan's order.
fn in_order(plan: &Plan<'_>, map: &IndexMap<Name, Value>) -> bool {
    let mut at = 0;
    map.keys().all(|k| {
        match plan.keys[at..]
            .iter()
            .position(|(key, _)| *key == k.as_str())
        {
            Some(i) => {
                at += i + 1;
                true
            }
            None => false,
        }
    })
}
