//! Tsunagu's domain core: pure types and decisions, no I/O, no async.
//!
//! The case lifecycle follows the decider pattern: [`case::decide`] turns a command and the
//! current state into events or a [`Refusal`]; [`case::CaseState::evolve`] folds events into state.
//! Storage, the web and the command line are shells around this crate.

pub mod actor;
pub mod case;
pub mod ids;
pub mod import;
pub mod meeting;
pub mod person;
pub mod policy;
pub mod refusal;
pub mod settings;
pub mod stats;
pub mod text;
pub mod wareki;

pub use actor::{Actor, OrgKind, Role};
pub use ids::*;
pub use refusal::Refusal;
pub use settings::{CodeItem, TenantSettings};
pub use text::{LongText, ShortText};

/// Who did something, stored with every event (identifiers only, never personal data).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActorRef {
    pub user_id: UserId,
    pub org_id: OrgId,
}

/// The clock and the acting user for one decision. Passed in, so tests can move the clock.
#[derive(Clone, Debug)]
pub struct Context<'a> {
    pub today: jiff::civil::Date,
    pub actor: &'a Actor,
    pub settings: &'a TenantSettings,
    /// The person's consents, for decisions that share information (adding a partner).
    pub consents: &'a [person::Consent],
}
