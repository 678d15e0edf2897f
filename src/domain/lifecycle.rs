//! One way to change state. A lifecycle is a table of rules (action, from, to, who, whether the
//! step takes a note, the audit action and the event); [`apply`] performs one step of it: the
//! note checked, the party checked against the rights, the conditional update (`WHERE state IN
//! from`, so two racing steps cannot both pass), the history row, the audit entry, the event
//! and the reload, all inside the caller's transaction. [`available`] answers which steps are
//! open to a viewer now, for clients to offer only the buttons that will work; [`history`]
//! reads an object's steps back.

use std::fmt::Debug;

use sea_orm::sea_query::IntoCondition;
use sea_orm::sea_query::{Expr, SimpleExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, FromQueryResult, ModelTrait,
    QueryFilter, QuerySelect, Set,
};

use entity::lifecycle_step;
use entity::names::ObjectKind;

use crate::domain::audit::{self, AuditAction, AuditRecord, Change};
use crate::domain::context::Cx;
use crate::domain::events::{self, Event, EventKind};
use crate::domain::page::{self, Order, Page, SortValue, Window};
pub use crate::domain::policy::Grants;
use crate::domain::policy::Who;
use crate::domain::values::{Reason, invalid_state};
use crate::error::{AppError, AppResult};

/// Whether a step takes a note (a reason, for a decision): kept in the step's history, and in
/// the row's reason column where it has one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoteRule {
    /// No note; the reason column is left alone.
    None,
    /// A note may be given; the reason column is set (or cleared).
    Optional,
    /// A note must be given (1 to 500 characters).
    Required,
}

/// One allowed transition.
#[derive(Debug)]
pub struct Rule<S: 'static, A> {
    pub action: A,
    pub from: &'static [S],
    pub to: S,
    pub who: Who,
    pub note: NoteRule,
    /// Staff decisions and money-like changes are audited.
    pub audit: Option<AuditAction>,
    /// What the people concerned hear.
    pub event: Option<EventKind>,
}

/// An entity whose rows move through a lifecycle.
pub trait Lifecycle: EntityTrait {
    type State: Copy + Eq + Debug + Into<sea_orm::Value> + Send + Sync + 'static;
    type Action: Copy + Eq + Debug + Send + Sync + 'static;
    const KIND: ObjectKind;

    fn rules() -> &'static [Rule<Self::State, Self::Action>];
    fn id_column() -> Self::Column;
    fn state_column() -> Self::Column;
    /// Where a step's reason is kept, if anywhere.
    fn reason_column() -> Option<Self::Column>;
    /// Set to the command's time by every step, if the table has one.
    fn updated_at_column() -> Option<Self::Column>;
    /// Steps that leave the row in the state it was in (an award's claim: a granted award
    /// stays granted, its hold is taken). Each guards itself with [`Step::only_if`].
    fn steps_within_a_state() -> &'static [Self::Action] {
        &[]
    }
}

/// The rule of `action`.
pub fn rule<E: Lifecycle>(action: E::Action) -> AppResult<&'static Rule<E::State, E::Action>> {
    E::rules()
        .iter()
        .find(|r| r.action == action)
        .ok_or_else(|| AppError::internal(format!("no rule for {action:?}")))
}

/// Checks that `rights` may take `action`, for callers that check more before [`apply`].
pub fn authorize<E: Lifecycle>(rights: &impl Grants, action: E::Action) -> AppResult<()> {
    rights.require(rule::<E>(action)?.who)
}

/// The parsed reason a step carries, per its rule.
pub fn reason_for<E: Lifecycle>(action: E::Action, raw: Option<&str>) -> AppResult<Option<String>> {
    let raw = raw.map(str::trim).filter(|r| !r.is_empty());
    match (rule::<E>(action)?.note, raw) {
        (NoteRule::None, _) | (NoteRule::Optional, None) => Ok(None),
        (NoteRule::Optional, Some(r)) | (NoteRule::Required, Some(r)) => {
            Ok(Some(Reason::parse("reason", r)?.into_inner()))
        }
        (NoteRule::Required, None) => Err(Reason::missing("reason")),
    }
}

/// One step of a lifecycle.
pub struct Step<E: Lifecycle> {
    pub id: i64,
    pub action: E::Action,
    pub street_id: Option<i64>,
    /// As the client sent it; checked against the rule.
    pub reason: Option<String>,
    /// Columns the step sets besides state, reason and update time.
    pub set: Vec<(E::Column, SimpleExpr)>,
    /// What the row must hold besides its state, checked by the same conditional update.
    pub only_if: Condition,
    /// Who hears of it.
    pub concerned: Vec<i64>,
    pub payload: serde_json::Value,
}

impl<E: Lifecycle> Step<E> {
    pub fn new(id: i64, action: E::Action) -> Step<E> {
        Step {
            id,
            action,
            street_id: None,
            reason: None,
            set: Vec::new(),
            only_if: Condition::all(),
            concerned: Vec::new(),
            payload: serde_json::json!({}),
        }
    }

    pub fn street(mut self, street_id: i64) -> Self {
        self.street_id = Some(street_id);
        self
    }

    pub fn reason(mut self, reason: Option<&str>) -> Self {
        self.reason = reason.map(str::to_owned);
        self
    }

    pub fn set(mut self, col: E::Column, value: impl Into<sea_orm::Value>) -> Self {
        self.set.push((col, Expr::value(value)));
        self
    }

    /// Takes the step only if the row also meets `cond` (in the same conditional update, so a
    /// racing step cannot pass it too).
    pub fn only_if(mut self, cond: impl IntoCondition) -> Self {
        self.only_if = self.only_if.add(cond.into_condition());
        self
    }

    pub fn concerning(mut self, user_id: i64) -> Self {
        self.concerned.push(user_id);
        self
    }

    pub fn payload(mut self, payload: serde_json::Value) -> Self {
        self.payload = payload;
        self
    }
}

/// What [`try_apply`] found.
pub enum Outcome<M> {
    Done(M),
    /// The row was not in a state the rule starts from (perhaps a racing step won).
    NotInState,
}

/// Performs `step` if the row is in one of the rule's states and `rights` include its party.
/// No rights include [`Who::System`]: those steps go through [`apply_system`].
pub async fn try_apply<E>(
    cx: &Cx<'_>,
    rights: &(impl Grants + Sync),
    step: Step<E>,
) -> AppResult<Outcome<E::Model>>
where
    E: Lifecycle,
    E::Model: FromQueryResult + Send + Sync,
{
    perform(cx, Some(rights), step).await
}

/// Performs a step whose party is [`Who::System`]: one the server takes as the consequence of
/// a step a party was allowed, in the same transaction. `INVALID_STATE` if the row is not in a
/// state the rule starts from.
pub async fn apply_system<E>(cx: &Cx<'_>, step: Step<E>) -> AppResult<E::Model>
where
    E: Lifecycle,
    E::Model: FromQueryResult + Send + Sync,
{
    if rule::<E>(step.action)?.who != Who::System {
        return Err(AppError::internal("apply_system on a step a party takes"));
    }
    match perform::<E>(cx, None, step).await? {
        Outcome::Done(row) => Ok(row),
        Outcome::NotInState => Err(invalid_state()),
    }
}

async fn perform<E>(
    cx: &Cx<'_>,
    rights: Option<&(dyn Grants + Sync)>,
    step: Step<E>,
) -> AppResult<Outcome<E::Model>>
where
    E: Lifecycle,
    E::Model: FromQueryResult + Send + Sync,
{
    let rule = rule::<E>(step.action)?;
    let reason = reason_for::<E>(step.action, step.reason.as_deref())?;
    if let Some(rights) = rights {
        rights.require(rule.who)?;
    }
    // A savepoint of its own: a step that fails half-way leaves nothing, whatever the caller does.
    let tx = cx.write().await?;
    let cx = &tx;
    // Locked until the step commits, so the audit's "before" is what the step changed.
    let Some(before) = E::find()
        .filter(E::id_column().eq(step.id))
        .lock_exclusive()
        .one(cx)
        .await?
    else {
        return Ok(Outcome::NotInState);
    };
    let mut update = E::update_many()
        .col_expr(E::state_column(), Expr::value(rule.to))
        .filter(E::id_column().eq(step.id))
        .filter(E::state_column().is_in(rule.from.iter().copied()))
        .filter(step.only_if);
    if rule.note != NoteRule::None
        && let Some(col) = E::reason_column()
    {
        update = update.col_expr(col, Expr::value(reason.clone()));
    }
    if let Some(col) = E::updated_at_column() {
        update = update.col_expr(col, Expr::value(cx.now()));
    }
    for (col, value) in step.set {
        update = update.col_expr(col, value);
    }
    if update.exec(cx).await?.rows_affected == 0 {
        return Ok(Outcome::NotInState);
    }
    let row = E::find()
        .filter(E::id_column().eq(step.id))
        .one(cx)
        .await?
        .ok_or_else(|| AppError::internal("row vanished during a transition"))?;
    lifecycle_step::ActiveModel {
        object_type: Set(E::KIND),
        object_id: Set(step.id),
        street_id: Set(step.street_id),
        action: Set(action_name(step.action)),
        from_state: Set(state_of::<E>(&before)),
        to_state: Set(state_of::<E>(&row)),
        // A step the server takes as the consequence of another has no actor of its own.
        actor_user_id: Set((rule.who != Who::System).then(|| cx.actor_id()).flatten()),
        note: Set(reason.clone()),
        request_id: Set(cx.request_id().map(str::to_owned)),
        created_at: Set(cx.now()),
        ..Default::default()
    }
    .insert(cx)
    .await?;
    if let Some(action) = rule.audit {
        audit::record(
            cx,
            AuditRecord {
                street_id: step.street_id,
                action,
                target_type: E::KIND,
                target_id: Some(step.id),
                reason: reason.clone(),
                change: Some(Change {
                    before: decision_fields::<E>(&before),
                    after: decision_fields::<E>(&row),
                }),
            },
        )
        .await?;
    }
    if let Some(kind) = rule.event {
        let mut payload = step.payload;
        if let (Some(r), Some(map)) = (&reason, payload.as_object_mut()) {
            map.insert("reason".into(), r.clone().into());
        }
        let mut event = Event::new(kind, E::KIND, step.id).payload(payload);
        event.street_id = step.street_id;
        for user in step.concerned {
            event = event.concerning(user);
        }
        events::record(cx, event).await?;
    }
    tx.commit().await?;
    Ok(Outcome::Done(row))
}

/// A change of a role, a tag or a membership: something without a state column of its own,
/// so without a lifecycle table. [`record_role_change`] writes its audit entry and its event
/// together, in the command's transaction, as a step's are.
pub struct RoleChange {
    pub street_id: Option<i64>,
    pub object: ObjectKind,
    pub id: i64,
    pub audit: AuditAction,
    pub reason: Option<String>,
    pub before: serde_json::Value,
    pub after: serde_json::Value,
    /// What the people concerned hear, if anything.
    pub event: Option<EventKind>,
    pub concerned: Vec<i64>,
    pub payload: serde_json::Value,
}

impl RoleChange {
    pub fn new(street_id: Option<i64>, object: ObjectKind, id: i64, audit: AuditAction) -> Self {
        RoleChange {
            street_id,
            object,
            id,
            audit,
            reason: None,
            before: serde_json::Value::Null,
            after: serde_json::Value::Null,
            event: None,
            concerned: Vec::new(),
            payload: serde_json::json!({}),
        }
    }

    pub fn reason(mut self, reason: Option<String>) -> Self {
        self.reason = reason;
        self
    }

    pub fn change(mut self, before: serde_json::Value, after: serde_json::Value) -> Self {
        self.before = before;
        self.after = after;
        self
    }

    /// Tells `concerned` of it as `kind`, with `payload`.
    pub fn tell(
        mut self,
        kind: EventKind,
        concerned: Vec<i64>,
        payload: serde_json::Value,
    ) -> Self {
        self.event = Some(kind);
        self.concerned = concerned;
        self.payload = payload;
        self
    }
}

/// Writes a [`RoleChange`]'s audit entry and event.
pub async fn record_role_change(cx: &Cx<'_>, c: RoleChange) -> AppResult<()> {
    let entry = AuditRecord {
        street_id: c.street_id,
        action: c.audit,
        target_type: c.object,
        target_id: Some(c.id),
        reason: c.reason.clone(),
        change: Some(Change {
            before: c.before,
            after: c.after,
        }),
    };
    audit::record(cx, entry).await?;
    if let Some(kind) = c.event {
        let mut payload = c.payload;
        if let (Some(r), Some(map)) = (&c.reason, payload.as_object_mut()) {
            map.insert("reason".into(), r.clone().into());
        }
        let mut event = Event::new(kind, c.object, c.id).payload(payload);
        event.street_id = c.street_id;
        for user in c.concerned {
            event = event.concerning(user);
        }
        events::record(cx, event).await?;
    }
    Ok(())
}

/// The stable name of an action, as history rows and `availableActions` give it: the
/// variant's name in capitals and underscores (`ProviderConfirm` is `PROVIDER_CONFIRM`).
pub fn action_name<A: Debug>(action: A) -> String {
    let mut out = String::new();
    for (i, c) in format!("{action:?}").chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// The stored value of a row's state.
fn state_of<E: Lifecycle>(row: &E::Model) -> String {
    match sea_orm::sea_query::sea_value_to_json_value(&row.get(E::state_column())) {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    }
}

/// Whether `rights` may take `action` on a row in `state` now, by the lifecycle's table: the
/// row is in a state the rule starts from and the rights include its party. Steps the server
/// takes itself ([`Who::System`]) are open to nobody.
pub fn can<E: Lifecycle>(rights: &impl Grants, state: E::State, action: E::Action) -> bool {
    E::rules()
        .iter()
        .find(|r| r.action == action)
        .is_some_and(|r| r.from.contains(&state) && rights.require(r.who).is_ok())
}

/// The steps [`can`] opens to `rights` on a row in `state`, in the table's order, by name.
pub fn available<E: Lifecycle>(rights: &impl Grants, state: E::State) -> Vec<String> {
    available_where::<E>(rights, state, |_| true)
}

/// As [`available`], keeping only the steps `open` allows: for rows whose stored state is not
/// the whole story (a claim past its validity is redeemed no more, though stored `CLAIMED`).
pub fn available_where<E: Lifecycle>(
    rights: &impl Grants,
    state: E::State,
    open: impl Fn(E::Action) -> bool,
) -> Vec<String> {
    E::rules()
        .iter()
        .filter(|r| open(r.action) && can::<E>(rights, state, r.action))
        .map(|r| action_name(r.action))
        .collect()
}

/// A page of the steps an object has taken, oldest first. The caller has checked that the
/// viewer may see the object.
pub async fn history(
    conn: &impl crate::rows::Reads,
    kind: ObjectKind,
    id: i64,
    window: Window,
) -> AppResult<Page<lifecycle_step::Model>> {
    let steps = lifecycle_step::Entity::find()
        .filter(lifecycle_step::Column::ObjectType.eq(kind))
        .filter(lifecycle_step::Column::ObjectId.eq(id));
    let order = Order {
        field: "ID",
        column: lifecycle_step::Column::Id,
        id: lifecycle_step::Column::Id,
        descending: false,
        key: |s: &lifecycle_step::Model| (SortValue::Int(s.id), s.id),
    };
    page::fetch(conn, steps, order, window).await
}

/// The fields of a row that carry a decision: its state and, where kept, its reason.
fn decision_fields<E: Lifecycle>(row: &E::Model) -> serde_json::Value {
    use sea_orm::{IdenStatic, sea_query::sea_value_to_json_value};
    let mut out = serde_json::Map::new();
    for col in std::iter::once(E::state_column()).chain(E::reason_column()) {
        out.insert(
            col.as_str().to_owned(),
            sea_value_to_json_value(&row.get(col)),
        );
    }
    serde_json::Value::Object(out)
}

/// As [`try_apply`], with a row in the wrong state refused as `INVALID_STATE`.
pub async fn apply<E>(
    cx: &Cx<'_>,
    rights: &(impl Grants + Sync),
    step: Step<E>,
) -> AppResult<E::Model>
where
    E: Lifecycle,
    E::Model: FromQueryResult + Send + Sync,
{
    match try_apply(cx, rights, step).await? {
        Outcome::Done(row) => Ok(row),
        Outcome::NotInState => Err(invalid_state()),
    }
}

/// Checks a lifecycle table: every action of the enum has exactly one rule, and no rule
/// starts from the state it leads to unless it is declared a step within a state. Each
/// lifecycle's unit test calls it.
pub fn check_table<E>()
where
    E: Lifecycle,
    E::Action: sea_orm::Iterable,
{
    let actions: Vec<E::Action> = <E::Action as sea_orm::Iterable>::iter().collect();
    for a in &actions {
        let n = E::rules().iter().filter(|r| r.action == *a).count();
        assert_eq!(n, 1, "{a:?} must have exactly one rule");
    }
    assert_eq!(E::rules().len(), actions.len(), "a rule without an action");
    for r in E::rules() {
        if E::steps_within_a_state().contains(&r.action) {
            assert_eq!(
                r.from,
                [r.to],
                "{:?}: a step within a state starts only from the state it stays in",
                r.action
            );
        } else {
            assert!(
                !r.from.contains(&r.to),
                "{:?} leads where it starts",
                r.action
            );
        }
    }
}
