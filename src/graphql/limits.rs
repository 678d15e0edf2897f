//! Cheap checks on a query document that run before async-graphql validates it.
//!
//! A 64 KiB document can otherwise make a GraphQL server do a lot of work before it answers:
//! deep nesting can overflow the parser's stack, a "fragment bomb" (each fragment spreading the
//! next twice) expands to billions of fields in validators that follow spreads, and thousands of
//! aliased fields make overlap validation quadratic. So the server parses the document itself
//! ([`QueryLimits::parse`]) and bounds nesting, expanded size, aliases and directives in linear
//! time, with fragments counted once each, before anything else looks at it.

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationType, Selection, SelectionSet,
};
use async_graphql::{Name, Positioned, ServerError, ServerResult};

use crate::graphql::{ENGLISH_MESSAGE_KEY, HTTP_STATUS_KEY};

#[derive(Clone, Copy, Debug)]
pub struct QueryLimits {
    /// Brackets (`{`, `[`, `(`) open at once anywhere in the text.
    pub max_nesting: usize,
    /// Fields nested in fields, following fragments.
    pub max_depth: usize,
    /// Fields nested below `__schema` or `__type`: the standard introspection query of
    /// graphql-js (which tools send) nests 14 deep through `ofType`.
    pub max_introspection_depth: usize,
    /// Fields after every fragment spread is expanded.
    pub max_fields: u64,
    pub max_aliases: usize,
    pub max_directives: usize,
}

impl Default for QueryLimits {
    fn default() -> Self {
        QueryLimits {
            max_nesting: 48,
            max_depth: 12,
            max_introspection_depth: 16,
            max_fields: 500,
            max_aliases: 30,
            max_directives: 30,
        }
    }
}

/// The operations of a document: name (if any) and `query`, `mutation` or `subscription`.
pub struct Operations(Vec<(Option<String>, &'static str)>);

impl Operations {
    pub fn of(doc: &ExecutableDocument) -> Operations {
        Operations(
            doc.operations
                .iter()
                .map(|(name, op)| {
                    let kind = match op.node.ty {
                        OperationType::Query => "query",
                        OperationType::Mutation => "mutation",
                        OperationType::Subscription => "subscription",
                    };
                    (name.map(|n| n.to_string()), kind)
                })
                .collect(),
        )
    }

    /// The operation that runs, by its name in the document and its kind: the one the request
    /// names, or the only one.
    pub fn running(&self, requested: Option<&str>) -> Option<(Option<String>, &'static str)> {
        match requested {
            Some(n) => self
                .0
                .iter()
                .find(|(o, _)| o.as_deref() == Some(n))
                .cloned(),
            None if self.0.len() == 1 => self.0.first().cloned(),
            None => None,
        }
    }

    pub fn has_mutation(&self) -> bool {
        self.0.iter().any(|(_, kind)| *kind == "mutation")
    }
}

impl QueryLimits {
    /// Parses the document within the limits. This replaces async-graphql's parse step (whose
    /// recursion check follows fragment spreads without memoising them): the server hands the
    /// checked document to the request, so no extension sits in every field's path.
    pub fn parse(&self, query: &str) -> ServerResult<ExecutableDocument> {
        if bracket_nesting(query) > self.max_nesting {
            return Err(request_error(
                reject("查询文档嵌套过深", "The document is nested too deeply"),
                400,
            ));
        }
        let mut doc = async_graphql::parser::parse_query(query)
            .map_err(|e| request_error(ServerError::from(e), 400))?;
        // The limits count what the client wrote, every copy of a field included.
        check_document(&doc, self).map_err(|e| request_error(e, 400))?;
        merge_copies(&mut doc);
        Ok(doc)
    }
}

/// How many checked documents [`CheckedDocuments`] keeps.
const CACHED_DOCUMENTS: usize = 512;
/// Longer documents are checked every time: the cache holds at most 512 × 8 KiB of text.
const MAX_CACHED_LEN: usize = 8 * 1024;

/// Documents that passed the limits, by their text. Apps send the same few documents over and
/// over, and parsing one costs more than copying its tree. A refused document is never kept,
/// so it is parsed and refused anew each time, as before.
pub struct CheckedDocuments {
    limits: QueryLimits,
    cache: Mutex<lru::LruCache<Box<str>, Arc<ExecutableDocument>>>,
}

impl CheckedDocuments {
    pub fn new(limits: QueryLimits) -> CheckedDocuments {
        CheckedDocuments {
            limits,
            cache: Mutex::new(lru::LruCache::new(
                NonZeroUsize::new(CACHED_DOCUMENTS).unwrap_or(NonZeroUsize::MIN),
            )),
        }
    }

    /// As [`QueryLimits::parse`]; the limits depend on the text alone, so a document that
    /// passed once passes again.
    pub fn parse(&self, query: &str) -> ServerResult<Arc<ExecutableDocument>> {
        let cached = self
            .cache
            .lock()
            .ok()
            .and_then(|mut c| c.get(query).cloned());
        if let Some(doc) = cached {
            return Ok(doc);
        }
        let doc = Arc::new(self.limits.parse(query)?);
        if query.len() <= MAX_CACHED_LEN
            && let Ok(mut cache) = self.cache.lock()
        {
            cache.put(query.into(), doc.clone());
        }
        Ok(doc)
    }
}

/// A subscription, which this server does not serve over HTTP (one error, not async-graphql's
/// two).
pub fn subscription_over_http() -> ServerError {
    request_error(
        reject(
            "本服务不提供订阅（subscription）",
            "This server does not serve subscriptions",
        ),
        400,
    )
}

/// A required variable the request left out (GraphQL.js's message, not async-graphql's
/// "not defined", which means something else).
pub fn variable_not_provided(name: &str, ty: &str) -> ServerError {
    request_error(
        reject(
            &format!("变量 ${name}（{ty} 类型）为必填，但请求未提供"),
            &format!("Variable \"${name}\" of required type \"{ty}\" was not provided."),
        ),
        400,
    )
}

/// A mutation over GET, refused as the GraphQL-over-HTTP specification says (405).
pub fn mutation_over_get() -> ServerError {
    request_error(
        reject("变更操作须以 POST 发送", "Mutations must be sent with POST"),
        405,
    )
}

/// Marks the errors of a request that did not execute (validation, variables, an unknown
/// operation: no data and no error with a path) as calling for 400.
pub fn mark_request_errors(response: &mut async_graphql::Response) {
    let refused = response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty());
    if refused {
        for err in &mut response.errors {
            err.extensions
                .get_or_insert_with(Default::default)
                .set(HTTP_STATUS_KEY, 400);
        }
    }
}

/// Marks an error that stopped the request before execution with the HTTP status it calls for.
pub fn request_error(mut err: ServerError, status: u16) -> ServerError {
    err.extensions
        .get_or_insert_with(Default::default)
        .set(HTTP_STATUS_KEY, status);
    err
}

/// A refusal of the document, in both languages.
fn reject(zh: &str, en: &str) -> ServerError {
    let mut err = ServerError::new(format!("请求无效：{zh}"), None);
    let ext = err.extensions.get_or_insert_with(Default::default);
    ext.set("code", "BAD_USER_INPUT");
    ext.set(ENGLISH_MESSAGE_KEY, en);
    err
}

/// The deepest bracket nesting in the text, skipping strings and comments. Linear and
/// allocation-free, so it is safe on any input.
fn bracket_nesting(query: &str) -> usize {
    let bytes = query.as_bytes();
    let (mut depth, mut max) = (0usize, 0usize);
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 2;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'{' | b'[' | b'(' => {
                depth += 1;
                max = max.max(depth);
            }
            b'}' | b']' | b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    max
}

/// Size of a selection set once expanded: (fields, depth).
#[derive(Clone, Copy, Default)]
struct Shape {
    fields: u64,
    depth: usize,
}

/// Where a selection set stands: in the schema's own fields, in introspection, or in
/// introspection below a reference to a type (`type`, `ofType`, `interfaces`,
/// `possibleTypes`), where expanding the type again is what amplification attacks do and no
/// tool needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Mode {
    Data,
    Introspection,
    TypeReference,
}

const INTROSPECTION_ROOTS: [&str; 2] = ["__schema", "__type"];
const TYPE_REFERENCES: [&str; 4] = ["type", "ofType", "interfaces", "possibleTypes"];
const TYPE_EXPANSIONS: [&str; 6] = [
    "fields",
    "inputFields",
    "enumValues",
    "interfaces",
    "possibleTypes",
    "types",
];

enum Memo {
    InProgress,
    Done(Shape),
}

struct Walker<'a> {
    doc: &'a ExecutableDocument,
    limits: &'a QueryLimits,
    fragments: HashMap<(&'a Name, Mode), Memo>,
}

impl<'a> Walker<'a> {
    fn field(
        &mut self,
        name: &str,
        set: &'a Positioned<SelectionSet>,
        mode: Mode,
    ) -> ServerResult<Shape> {
        let inner_mode = match mode {
            Mode::Data if INTROSPECTION_ROOTS.contains(&name) => Mode::Introspection,
            Mode::Data => Mode::Data,
            Mode::TypeReference if TYPE_EXPANSIONS.contains(&name) => {
                return Err(reject(
                    "内省查询不得经由类型引用再次展开类型",
                    "Introspection may not expand a type reached through a type reference",
                ));
            }
            _ if TYPE_REFERENCES.contains(&name) => Mode::TypeReference,
            other => other,
        };
        let sub = self.selection_set(set, inner_mode)?;
        if mode == Mode::Data && inner_mode == Mode::Introspection {
            // Introspection has a depth limit of its own and counts as one level here.
            if sub.depth + 1 > self.limits.max_introspection_depth {
                return Err(reject(
                    "内省查询嵌套过深",
                    "The introspection query is nested too deeply",
                ));
            }
            return Ok(Shape {
                fields: sub.fields.saturating_add(1),
                depth: 1,
            });
        }
        Ok(Shape {
            fields: sub.fields.saturating_add(1),
            depth: sub.depth + 1,
        })
    }

    fn selection_set(
        &mut self,
        set: &'a Positioned<SelectionSet>,
        mode: Mode,
    ) -> ServerResult<Shape> {
        let max_depth = match mode {
            Mode::Data => self.limits.max_depth,
            Mode::Introspection | Mode::TypeReference => self.limits.max_introspection_depth,
        };
        let mut shape = Shape::default();
        for item in &set.node.items {
            let inner = match &item.node {
                Selection::Field(field) => self.field(
                    field.node.name.node.as_str(),
                    &field.node.selection_set,
                    mode,
                )?,
                // A fragment counts as a selection of its own, so spreads that select nothing
                // still add up.
                Selection::InlineFragment(fragment) => {
                    let mut inner = self.selection_set(&fragment.node.selection_set, mode)?;
                    inner.fields = inner.fields.saturating_add(1);
                    inner
                }
                Selection::FragmentSpread(spread) => {
                    let mut inner = self.fragment(&spread.node.fragment_name.node, mode)?;
                    inner.fields = inner.fields.saturating_add(1);
                    inner
                }
            };
            shape.fields = shape.fields.saturating_add(inner.fields);
            shape.depth = shape.depth.max(inner.depth);
            if shape.fields > self.limits.max_fields {
                return Err(reject(
                    "查询选择的字段过多（上限 500 个）",
                    "The query selects too many fields (500 at most)",
                ));
            }
            if shape.depth > max_depth {
                return Err(reject("查询嵌套层级过深", "The query is nested too deeply"));
            }
        }
        Ok(shape)
    }

    fn fragment(&mut self, name: &'a Name, mode: Mode) -> ServerResult<Shape> {
        match self.fragments.get(&(name, mode)) {
            Some(Memo::Done(shape)) => return Ok(*shape),
            Some(Memo::InProgress) => {
                return Err(reject(
                    "片段不得循环引用",
                    "Fragments must not form a cycle",
                ));
            }
            None => {}
        }
        // Refused here, not left to validation: the passes that follow spreads without
        // memoising them run before validation's errors are reported.
        let Some(fragment) = self.doc.fragments.get(name) else {
            return Err(reject(
                &format!("未知片段 {name}"),
                &format!("Unknown fragment \"{name}\""),
            ));
        };
        self.fragments.insert((name, mode), Memo::InProgress);
        let shape = self.selection_set(&fragment.node.selection_set, mode)?;
        self.fragments.insert((name, mode), Memo::Done(shape));
        Ok(shape)
    }
}

fn check_document(doc: &ExecutableDocument, limits: &QueryLimits) -> ServerResult<()> {
    let mut aliases = 0usize;
    let mut directives = 0usize;
    let mut sets: Vec<&Positioned<SelectionSet>> = Vec::new();
    for (_, op) in doc.operations.iter() {
        directives += op.node.directives.len();
        sets.push(&op.node.selection_set);
    }
    for fragment in doc.fragments.values() {
        directives += fragment.node.directives.len();
        sets.push(&fragment.node.selection_set);
    }
    while let Some(set) = sets.pop() {
        for item in &set.node.items {
            directives += item.node.directives().len();
            if let Some(d) = item
                .node
                .directives()
                .iter()
                .find(|d| !EXECUTABLE_DIRECTIVES.contains(&d.node.name.node.as_str()))
            {
                let name = &d.node.name.node;
                return Err(reject(
                    &format!("未知指令 @{name}"),
                    &format!("Unknown directive \"@{name}\""),
                ));
            }
            match &item.node {
                Selection::Field(field) => {
                    aliases += usize::from(field.node.alias.is_some());
                    // async-graphql's validation skips `__typename`, its arguments included.
                    if field.node.name.node == "__typename" && !field.node.arguments.is_empty() {
                        return Err(reject(
                            "__typename 不接受参数",
                            "`__typename` takes no arguments",
                        ));
                    }
                    sets.push(&field.node.selection_set);
                }
                Selection::InlineFragment(fragment) => sets.push(&fragment.node.selection_set),
                Selection::FragmentSpread(_) => {}
            }
        }
    }
    if aliases > limits.max_aliases {
        return Err(reject(
            "查询使用的别名过多（上限 30 个）",
            "The query uses too many aliases (30 at most)",
        ));
    }
    if directives > limits.max_directives {
        return Err(reject(
            "查询使用的指令过多（上限 30 个）",
            "The query uses too many directives (30 at most)",
        ));
    }

    let mut walker = Walker {
        doc,
        limits,
        fragments: HashMap::new(),
    };
    let mut total = 0u64;
    let ops: Vec<_> = match &doc.operations {
        DocumentOperations::Single(op) => vec![op],
        DocumentOperations::Multiple(map) => map.values().collect(),
    };
    for op in &ops {
        total = total.saturating_add(
            walker
                .selection_set(&op.node.selection_set, Mode::Data)?
                .fields,
        );
        if total > limits.max_fields {
            return Err(reject(
                "查询选择的字段过多（上限 500 个）",
                "The query selects too many fields (500 at most)",
            ));
        }
    }
    // The walk above refused unknown fragments and cycles, so this one ends.
    for op in ops {
        if op.node.ty == OperationType::Mutation
            && credential_fields(doc, &op.node.selection_set) > 1
        {
            return Err(reject(
                "一次请求最多只能登录、注册或修改密码一次",
                "A request may sign in, register or change a password at most once",
            ));
        }
    }
    Ok(())
}

/// Merges the copies of a field (the same response key, arguments and no directives) in each
/// selection set into the first, their selections joined, as the specification's
/// `CollectFields` does: async-graphql would run every copy, so 250 copies of a list cost 250
/// times its statements. Copies that differ are left for validation to refuse.
fn merge_copies(doc: &mut ExecutableDocument) {
    match &mut doc.operations {
        DocumentOperations::Single(op) => merge_in(&mut op.node.selection_set.node),
        DocumentOperations::Multiple(map) => {
            for op in map.values_mut() {
                merge_in(&mut op.node.selection_set.node);
            }
        }
    }
    for fragment in doc.fragments.values_mut() {
        merge_in(&mut fragment.node.selection_set.node);
    }
}

fn merge_in(set: &mut SelectionSet) {
    let mut flat = Vec::with_capacity(set.items.len());
    collect(
        std::mem::take(&mut set.items),
        &mut std::collections::HashSet::new(),
        &mut flat,
    );
    let mut kept: Vec<Positioned<Selection>> = Vec::with_capacity(flat.len());
    let mut first_of: HashMap<Name, usize> = HashMap::new();
    for item in flat {
        if let Selection::Field(copy) = &item.node
            && copy.node.directives.is_empty()
        {
            let key = copy.node.response_key().node.clone();
            match first_of.get(&key) {
                Some(&at) => {
                    if let Selection::Field(first) = &mut kept[at].node
                        && same_call(&first.node, &copy.node)
                        && let Selection::Field(copy) = item.node
                    {
                        first
                            .node
                            .selection_set
                            .node
                            .items
                            .extend(copy.node.selection_set.node.items);
                        continue;
                    }
                }
                None => {
                    first_of.insert(key, kept.len());
                }
            }
        }
        kept.push(item);
    }
    set.items = kept;
    for item in &mut set.items {
        match &mut item.node {
            Selection::Field(field) => merge_in(&mut field.node.selection_set.node),
            Selection::InlineFragment(fragment) => {
                merge_in(&mut fragment.node.selection_set.node);
            }
            Selection::FragmentSpread(_) => {}
        }
    }
}

/// The selections of `items` with plain inline fragments (`... { a }`: no type condition, no
/// directives) opened into their parent, and a fragment spread a second time dropped, as the
/// specification's `CollectFields` visits a fragment once.
fn collect(
    items: Vec<Positioned<Selection>>,
    spread: &mut std::collections::HashSet<Name>,
    out: &mut Vec<Positioned<Selection>>,
) {
    for item in items {
        match item.node {
            Selection::InlineFragment(fragment)
                if fragment.node.type_condition.is_none()
                    && fragment.node.directives.is_empty() =>
            {
                collect(fragment.node.selection_set.node.items, spread, out);
            }
            Selection::FragmentSpread(ref s)
                if s.node.directives.is_empty()
                    && !spread.insert(s.node.fragment_name.node.clone()) => {}
            _ => out.push(item),
        }
    }
}

/// The same field called with the same arguments, and no directives to tell them apart.
fn same_call(
    a: &async_graphql::parser::types::Field,
    b: &async_graphql::parser::types::Field,
) -> bool {
    a.name.node == b.name.node
        && a.directives.is_empty()
        && b.directives.is_empty()
        && a.arguments.len() == b.arguments.len()
        && a.arguments
            .iter()
            .zip(&b.arguments)
            .all(|((an, av), (bn, bv))| an.node == bn.node && av.node == bv.node)
}

/// The operation a request runs: the one it names, or the only one.
pub fn running_operation<'a>(
    doc: &'a ExecutableDocument,
    operation: Option<&str>,
) -> Option<&'a Positioned<async_graphql::parser::types::OperationDefinition>> {
    match (&doc.operations, operation) {
        (DocumentOperations::Single(op), _) => Some(op),
        (DocumentOperations::Multiple(map), Some(name)) => map.get(name),
        (DocumentOperations::Multiple(map), None) if map.len() == 1 => map.values().next(),
        _ => None,
    }
}

/// Whether the operation that runs asks for the schema (`__schema`, `__type`).
pub fn introspects(doc: &ExecutableDocument, operation: Option<&str>) -> bool {
    let mut names = Vec::new();
    if let Some(op) = running_operation(doc, operation) {
        root_fields(doc, &op.node.selection_set, &mut names);
    }
    names.iter().any(|n| INTROSPECTION_ROOTS.contains(n))
}

/// The operation's required variables (non-null, no default) that the request left out,
/// with their types, as GraphQL.js reports them.
pub fn missing_variables(
    doc: &ExecutableDocument,
    operation: Option<&str>,
    variables: &async_graphql::Variables,
) -> Vec<(String, String)> {
    let Some(op) = running_operation(doc, operation) else {
        return Vec::new();
    };
    op.node
        .variable_definitions
        .iter()
        .filter(|v| {
            !v.node.var_type.node.nullable
                && v.node.default_value.is_none()
                && !variables.contains_key(&v.node.name.node)
        })
        .map(|v| {
            (
                v.node.name.node.to_string(),
                v.node.var_type.node.to_string(),
            )
        })
        .collect()
}

/// The directives a query may use on its selections; async-graphql's validation does not look at
/// those on `__typename`, so they are checked here, on every selection.
const EXECUTABLE_DIRECTIVES: [&str; 2] = ["skip", "include"];

/// The mutations that check or hash a password: each costs an Argon2 computation, and an
/// attacker batching them (aliases) would test many passwords in one request, past the
/// per-request limits.
const CREDENTIAL_FIELDS: [&str; 9] = [
    "login",
    "register",
    "changePassword",
    "resetPasswordWithCode",
    "deleteMyAccount",
    "sendLoginCode",
    "loginWithCode",
    "loginWithWeChat",
    "bindWeChatPhone",
];

/// How many credential fields a root selection set runs, through fragments.
fn credential_fields(doc: &ExecutableDocument, set: &Positioned<SelectionSet>) -> usize {
    let mut names = Vec::new();
    root_fields(doc, set, &mut names);
    names
        .iter()
        .filter(|n| CREDENTIAL_FIELDS.contains(n))
        .count()
}

/// The names of the fields a mutation runs at its root, through fragments (the document has
/// passed [`QueryLimits::parse`], so fragments are known and acyclic); empty for queries.
pub fn mutation_fields<'a>(doc: &'a ExecutableDocument, operation: Option<&str>) -> Vec<&'a str> {
    let op = running_operation(doc, operation);
    let mut names = Vec::new();
    if let Some(op) = op.filter(|op| op.node.ty == OperationType::Mutation) {
        root_fields(doc, &op.node.selection_set, &mut names);
    }
    names
}

fn root_fields<'a>(
    doc: &'a ExecutableDocument,
    set: &'a Positioned<SelectionSet>,
    out: &mut Vec<&'a str>,
) {
    for item in &set.node.items {
        match &item.node {
            Selection::Field(f) => out.push(f.node.name.node.as_str()),
            Selection::InlineFragment(f) => root_fields(doc, &f.node.selection_set, out),
            Selection::FragmentSpread(s) => {
                if let Some(f) = doc.fragments.get(&s.node.fragment_name.node) {
                    root_fields(doc, &f.node.selection_set, out);
                }
            }
        }
    }
}

/// `levels` fragments, each spreading the next twice, down to one that selects `leaf`: 2^levels
/// selections once expanded.
fn doubling_fragments(levels: usize, leaf: &str) -> String {
    let mut doc = String::from("query { ...F0 }\n");
    for i in 0..levels {
        doc.push_str(&format!(
            "fragment F{i} on QueryRoot {{ ...F{} ...F{} }}\n",
            i + 1,
            i + 1
        ));
    }
    doc.push_str(&format!("fragment F{levels} on QueryRoot {{ {leaf} }}\n"));
    doc
}

/// The attack documents the limits are proven against, each under the 64 KiB body limit: the
/// tests check every one is refused, and the benchmark measures how fast.
pub fn hostile_documents() -> Vec<(&'static str, String)> {
    let mut docs = Vec::new();
    let n = 15_000;
    docs.push((
        "deep selections",
        format!("{{{}{}", "a{".repeat(n), "}".repeat(n + 1)),
    ));
    let n = 28_000;
    docs.push((
        "deep list argument",
        format!(
            "{{ streets(after: {}{}) {{ totalCount }} }}",
            "[".repeat(n),
            "]".repeat(n)
        ),
    ));
    docs.push(("fragment bomb", doubling_fragments(40, "__typename")));
    // The same chain ending in a fragment that does not exist, so each level selects nothing.
    docs.push(("hollow fragment bomb", doubling_fragments(30, "...Missing")));
    docs.push((
        "fragment cycle",
        "query { ...A } fragment A on QueryRoot { ...B } fragment B on QueryRoot { ...A }".into(),
    ));
    let aliases: String = (0..3_000).map(|i| format!("a{i}:__typename ")).collect();
    docs.push(("alias flood", format!("{{ {aliases}}}")));
    docs.push((
        "field flood",
        format!("{{ {}}}", "__typename ".repeat(5_500)),
    ));
    docs.push((
        "directive flood",
        format!("{{ __typename {}}}", "@skip(if: false) ".repeat(3_500)),
    ));
    let ops: String = (0..2_000)
        .map(|i| format!("query q{i} {{ __typename }} "))
        .collect();
    docs.push(("operation flood", ops));
    let conflicts: String = (0..480)
        .map(|i| format!("streets(first: {}) {{ totalCount }} ", i % 100))
        .collect();
    docs.push(("overlapping fields", format!("{{ {conflicts}}}")));
    docs.push((
        "nested list amplification",
        "{ merchants(first: 100) { edges { node { coupons(first: 100) { merchant { coupons(first: 100) { merchant { coupons(first: 100) { title } } } } } } } } }".into(),
    ));
    docs.push((
        "introspection amplification",
        format!(
            "{{ __schema {{ types {{ {} name {} }} }} }}",
            "fields { type { ofType { fields { type { ".repeat(2),
            "} } } } } ".repeat(2)
        ),
    ));
    docs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_ignores_strings_and_comments() {
        assert_eq!(bracket_nesting("{ a(x: \"{{{{\") { b } } # {{{{"), 2);
        assert_eq!(bracket_nesting("{ a(x: \"\"\" {{{ \"\"\") }"), 2);
        assert_eq!(bracket_nesting(&"[".repeat(1000)), 1000);
    }
}
