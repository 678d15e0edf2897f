//! The GraphQL face of the server: types and resolvers that translate between the schema and the
//! domain modules. Rules and transactions live in `crate::domain`, not here.

pub mod account;
pub mod award;
pub mod coupon;
pub mod eager;
pub mod entitlement;
pub mod id;
pub mod invitation;
pub mod lifecycle;
pub mod limits;
pub mod loader;
pub mod merchant;
pub mod messages;
pub mod node;
pub mod order;
pub mod package;
pub mod pagination;
pub mod points;
pub mod resident;
pub mod scalars;
pub mod sms_code;
pub mod street;
pub mod tag;
pub mod wechat;

use async_graphql::{
    Context, EmptySubscription, ErrorExtensions, MergedObject, Schema, SchemaBuilder,
};

use crate::auth::{Auth, Viewer};
use crate::domain::context::Cx;
use crate::error::{AppError, AppResult, Lang};
use crate::state::AppState;

pub use limits::{Operations, QueryLimits};
pub use loader::{DbLoader, RequestLoader};

/// The root of all reads.
#[derive(MergedObject, Default)]
pub struct QueryRoot(
    node::NodeQuery,
    account::AccountQuery,
    street::StreetsQuery,
    street::StreetQuery,
    merchant::MerchantsQuery,
    merchant::MerchantQuery,
    coupon::CouponsQuery,
    coupon::MyCouponsQuery,
    coupon::CouponClaimsQuery,
    coupon::CouponQuery,
    points::PointsQuery,
    invitation::InvitationQuery,
    tag::TagQuery,
    package::BenefitPackagesQuery,
    package::PackageItemsToConfirmQuery,
    package::PackageQuery,
    award::AwardsQuery,
    award::HonorRollQuery,
    award::AwardQuery,
    entitlement::MyEntitlementsQuery,
    entitlement::ProvidedEntitlementsQuery,
    lifecycle::HistoryQuery,
    resident::ResidentsQuery,
);

/// The root of all changes.
#[derive(MergedObject, Default)]
pub struct MutationRoot(
    account::AccountMutation,
    street::StreetMutation,
    merchant::MerchantMutation,
    coupon::CouponMutation,
    points::PointsMutation,
    invitation::InvitationMutation,
    tag::TagMutation,
    sms_code::SmsCodeMutation,
    wechat::WeChatMutation,
    package::PackageMutation,
    award::AwardMutation,
    entitlement::EntitlementMutation,
);

pub type AppSchema = Schema<QueryRoot, MutationRoot, EmptySubscription>;
pub type AppSchemaBuilder = SchemaBuilder<QueryRoot, MutationRoot, EmptySubscription>;
/// A change to the schema builder before it is finished, such as an extra extension.
pub type SchemaCustomizer = Box<dyn FnOnce(AppSchemaBuilder) -> AppSchemaBuilder>;

/// Fields a query may resolve, with list fields counting once per item they may return: 100
/// merchants with 20 coupons of a dozen fields each pass; lists nested three deep do not.
pub const MAX_COMPLEXITY: usize = 30_000;

/// Key under which an error carries its English message until the HTTP layer picks a language.
pub const ENGLISH_MESSAGE_KEY: &str = "_messageEn";

/// Key under which a request error (one that stopped the request before execution: syntax,
/// limits, validation, variables, a mutation over GET) carries the HTTP status it calls for,
/// until the HTTP layer answers with it.
pub const HTTP_STATUS_KEY: &str = "_httpStatus";

/// Request facts the HTTP layer hands to resolvers.
#[derive(Clone, Debug)]
pub struct RequestMeta {
    pub request_id: String,
    /// The client's address, for limits per address (behind trusted proxies, the one they saw).
    pub client: Option<std::net::IpAddr>,
    pub lang: Lang,
    /// The client accepts `application/graphql-response+json` (the GraphQL-over-HTTP media
    /// type), so request errors answer with HTTP status codes rather than 200.
    pub graphql_response_json: bool,
}

#[derive(Clone, Copy, Debug)]
pub struct SchemaOptions {
    pub introspection: bool,
    pub limits: QueryLimits,
}

impl Default for SchemaOptions {
    fn default() -> Self {
        SchemaOptions {
            introspection: true,
            limits: QueryLimits::default(),
        }
    }
}

/// Builds the schema. Without `state` it can only print its SDL.
pub fn build_schema(state: Option<AppState>, options: SchemaOptions) -> AppSchema {
    build_schema_with(state, options, Vec::new())
}

pub fn build_schema_with(
    state: Option<AppState>,
    options: SchemaOptions,
    customizers: Vec<SchemaCustomizer>,
) -> AppSchema {
    let mut builder = Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        EmptySubscription,
    )
    // A backstop for documents that reach the schema without `QueryLimits::parse` (the HTTP
    // layer applies the real limits, one depth for the data and a deeper one for
    // introspection).
    .limit_depth(
        options
            .limits
            .max_depth
            .max(options.limits.max_introspection_depth)
            + 2,
    )
    .limit_complexity(MAX_COMPLEXITY);
    if !options.introspection {
        // "Did you mean …" would give the hidden schema away one field at a time.
        builder = builder.disable_introspection().disable_suggestions();
    }
    if let Some(state) = state {
        builder = builder.data(state);
    }
    for customize in customizers {
        builder = customize(builder);
    }
    builder.finish()
}

/// The SDL clients are written against; `schema.graphql` must equal it.
pub fn sdl() -> String {
    build_schema(None, SchemaOptions::default()).sdl()
}

impl From<AppError> for async_graphql::Error {
    fn from(err: AppError) -> Self {
        if let AppError::Internal(cause) = &err {
            // The span of the request carries its id; the client gets only the id.
            tracing::error!(cause = %cause, "internal error");
        }
        async_graphql::Error::new(err.message(Lang::Zh)).extend_with(|_, ext| {
            ext.set("code", err.code());
            for (key, value) in err.extra_extensions() {
                ext.set(
                    key,
                    async_graphql::Value::from_json(value).unwrap_or_default(),
                );
            }
            ext.set(ENGLISH_MESSAGE_KEY, err.message(Lang::En).into_owned());
        })
    }
}

/// A field some viewers may not read: `null` for them, with the refusal as an error at the
/// field's path, as the GraphQL specification's error handling has it, so normalised client
/// caches (Apollo, urql) keep the rest of the object. (A resolver's `Err` would make
/// async-graphql leave the field out of the object altogether.)
pub fn restricted<T>(
    ctx: &Context<'_>,
    allowed: AppResult<()>,
    value: impl FnOnce() -> T,
) -> Option<T> {
    match allowed {
        Ok(()) => Some(value()),
        Err(e) => {
            let err = async_graphql::Error::from(e).into_server_error(ctx.item.pos);
            ctx.add_error(ctx.set_error_path(err));
            None
        }
    }
}

/// The request's one instant, taken when it begins to execute: every field, loader and command
/// of the request reads the time from it, so an answer never disagrees with itself at a
/// validity boundary.
#[derive(Clone, Copy, Debug)]
pub struct RequestNow(pub chrono::DateTime<chrono::Utc>);

/// What resolvers need from the context.
pub trait ContextExt {
    fn state(&self) -> AppResult<&AppState>;
    fn auth(&self) -> &Auth;
    fn viewer(&self) -> AppResult<&Viewer>;
    fn loader(&self) -> AppResult<&RequestLoader>;
    fn request_id(&self) -> Option<&str>;
    /// The command context of this request: state, viewer, request id and the request's now.
    fn cx(&self) -> AppResult<Cx<'_>>;
    /// The request's now ([`RequestNow`]).
    fn now(&self) -> AppResult<chrono::DateTime<chrono::Utc>>;
}

impl ContextExt for Context<'_> {
    fn state(&self) -> AppResult<&AppState> {
        self.data::<AppState>()
            .map_err(|_| AppError::internal("the schema was built without state"))
    }

    fn cx(&self) -> AppResult<Cx<'_>> {
        let cx = Cx::new(self.state()?, self.auth(), self.request_id(), self.now()?);
        // The request's cutoff (`rows::Cutoff`), when it has one.
        Ok(match self.data_opt::<crate::rows::Cutoff>() {
            Some(cutoff) => cx.until(cutoff.clone()),
            None => cx,
        })
    }

    fn now(&self) -> AppResult<chrono::DateTime<chrono::Utc>> {
        self.data::<RequestNow>()
            .map(|now| now.0)
            .map_err(|_| AppError::internal("the request has no now"))
    }

    fn auth(&self) -> &Auth {
        static ANONYMOUS: Auth = Auth::Anonymous;
        self.data_opt::<Auth>().unwrap_or(&ANONYMOUS)
    }

    fn viewer(&self) -> AppResult<&Viewer> {
        self.auth().viewer()
    }

    fn loader(&self) -> AppResult<&RequestLoader> {
        self.data::<RequestLoader>()
            .map_err(|_| AppError::internal("the request has no loader"))
    }

    fn request_id(&self) -> Option<&str> {
        self.data_opt::<RequestMeta>()
            .map(|m| m.request_id.as_str())
    }
}
