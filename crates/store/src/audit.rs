//! The audit trail: one entry per read of personal data, write, login, permission and consent
//! change, written in the same transaction as the action (fail-closed). Entries hold identifiers,
//! never personal data. They form one hash chain per deployment:
//! `hash = SHA-256(prev_hash ‖ canonical JSON of the entry)`, so modifying, deleting, inserting
//! or reordering a row breaks the chain at that row, and `audit_head` (the last sequence number
//! and hash) exposes a cut tail.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tsunagu_core::{Actor, OrgId, PersonId, TenantId, UserId};

/// The hash before the first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

pub use tsunagu_core::policy::Basis;

/// Timestamps in the audit log: UTC with exactly six fractional digits, so that text order is
/// time order on both backends.
pub fn timestamp_text(t: Timestamp) -> String {
    format!("{t:.6}")
}

/// An entry to record. Identifiers only: `detail` must never hold names, addresses or free text
/// the user typed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditEntry {
    pub at: Option<Timestamp>,
    pub tenant_id: Option<TenantId>,
    pub user_id: Option<UserId>,
    pub org_id: Option<OrgId>,
    pub session_id: Option<String>,
    pub address: Option<String>,
    /// e.g. `case.read`, `case.command`, `person.search`, `login.failed`.
    pub action: String,
    pub object_type: Option<String>,
    pub object_id: Option<String>,
    /// The persons whose data was shown or changed.
    pub subjects: Vec<PersonId>,
    pub basis: Option<Basis>,
    /// Non-personal detail: a command name, a result count, a refusal code.
    pub detail: Option<String>,
    /// Set by the store on a write: the streams' new `id@version=hash`, space-separated.
    pub events: Option<String>,
}

impl AuditEntry {
    pub fn new(action: &str) -> AuditEntry {
        AuditEntry {
            action: action.to_owned(),
            ..Default::default()
        }
    }

    /// An entry by an actor of the web application.
    pub fn by(actor: &Actor, action: &str) -> AuditEntry {
        AuditEntry {
            tenant_id: Some(actor.tenant_id),
            user_id: Some(actor.user_id),
            org_id: Some(actor.org_id),
            ..AuditEntry::new(action)
        }
    }

    pub fn object(mut self, kind: &str, id: impl ToString) -> Self {
        self.object_type = Some(kind.to_owned());
        self.object_id = Some(id.to_string());
        self
    }

    pub fn subject(mut self, person: PersonId) -> Self {
        if !self.subjects.contains(&person) {
            self.subjects.push(person);
        }
        self
    }

    pub fn subjects(mut self, persons: impl IntoIterator<Item = PersonId>) -> Self {
        for p in persons {
            if !self.subjects.contains(&p) {
                self.subjects.push(p);
            }
        }
        self
    }

    pub fn basis(mut self, basis: Basis) -> Self {
        self.basis = Some(basis);
        self
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn tenant(mut self, tenant: TenantId) -> Self {
        self.tenant_id = Some(tenant);
        self
    }

    /// The row as stored (all text), before hashing.
    pub(crate) fn to_row(&self, seq: u64, now: Timestamp) -> AuditRow {
        AuditRow {
            seq,
            at: timestamp_text(self.at.unwrap_or(now)),
            tenant_id: self.tenant_id.map(|t| t.to_string()),
            user_id: self.user_id.map(|u| u.to_string()),
            org_id: self.org_id.map(|o| o.to_string()),
            session_id: self.session_id.clone(),
            address: self.address.clone(),
            action: self.action.clone(),
            object_type: self.object_type.clone(),
            object_id: self.object_id.clone(),
            subjects: serde_json::to_string(&self.subjects).unwrap_or_else(|_| "[]".into()),
            basis: self.basis.map(|b| b.as_str().to_owned()),
            detail: self.detail.clone(),
            events: self.events.clone(),
        }
    }
}

/// The hash of an event row, chained to the previous event of its stream: every stored field
/// in a fixed order, so editing, inserting, deleting or reordering a row breaks the chain there.
#[allow(clippy::too_many_arguments)]
pub fn event_hash(
    prev_hash: &str,
    stream_id: &str,
    version: u64,
    tenant_id: &str,
    event_type: &str,
    payload: &str,
    actor_user: &str,
    actor_org: &str,
    recorded_at: &str,
    reason: Option<&str>,
) -> String {
    let fields = serde_json::json!([
        stream_id,
        version,
        tenant_id,
        event_type,
        payload,
        actor_user,
        actor_org,
        recorded_at,
        reason
    ]);
    let mut h = Sha256::new();
    h.update(prev_hash.as_bytes());
    h.update(b"\n");
    h.update(fields.to_string().as_bytes());
    hex::encode(h.finalize())
}

/// An audit row exactly as stored; the hash covers every field in this order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditRow {
    pub seq: u64,
    pub at: String,
    pub tenant_id: Option<String>,
    pub user_id: Option<String>,
    pub org_id: Option<String>,
    pub session_id: Option<String>,
    pub address: Option<String>,
    pub action: String,
    pub object_type: Option<String>,
    pub object_id: Option<String>,
    /// JSON array of person ids.
    pub subjects: String,
    pub basis: Option<String>,
    pub detail: Option<String>,
    /// The streams a write appended to, with their new version and event hash. Left out of the
    /// hashed JSON when absent, so entries written before it existed still verify.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<String>,
}

impl AuditRow {
    pub fn hash(&self, prev_hash: &str) -> String {
        let mut h = Sha256::new();
        h.update(prev_hash.as_bytes());
        h.update(b"\n");
        h.update(serde_json::to_vec(self).unwrap_or_default());
        hex::encode(h.finalize())
    }
}

/// A stored row with its chain fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChainedRow {
    #[serde(flatten)]
    pub row: AuditRow,
    pub prev_hash: String,
    pub hash: String,
}

/// The audit chain checked one row at a time, in stored `seq` order, so a log of any length is
/// verified in constant memory: `feed` each row, then `finish` against the recorded head.
pub struct ChainCheck {
    expected_seq: u64,
    prev_hash: String,
}

impl ChainCheck {
    /// `anchor` is the (seq, hash) of the last purged entry (retention), from which the
    /// remaining chain continues.
    pub fn new(anchor: Option<(u64, String)>) -> ChainCheck {
        let (expected_seq, prev_hash) = match anchor {
            Some((seq, hash)) => (seq + 1, hash),
            None => (1, GENESIS_HASH.to_owned()),
        };
        ChainCheck {
            expected_seq,
            prev_hash,
        }
    }

    /// The first break this row shows, if any.
    pub fn feed(&mut self, r: ChainedRow) -> Result<(), String> {
        if r.row.seq != self.expected_seq {
            return Err(if r.row.seq > self.expected_seq {
                format!(
                    "audit entry {} is missing (deleted); the next entry is {}",
                    self.expected_seq, r.row.seq
                )
            } else {
                format!("audit entry {} appears out of order", r.row.seq)
            });
        }
        if r.prev_hash != self.prev_hash {
            return Err(format!(
                "audit entry {}: its link to the previous entry is broken (an entry was inserted, deleted or reordered before it)",
                r.row.seq
            ));
        }
        if r.row.hash(&self.prev_hash) != r.hash {
            return Err(format!(
                "audit entry {}: its content was modified",
                r.row.seq
            ));
        }
        self.prev_hash = r.hash;
        self.expected_seq += 1;
        Ok(())
    }

    /// The number of the last entry, or the break: `head` is the recorded (seq, hash) of the
    /// last entry.
    pub fn finish(self, head: (u64, String)) -> Result<u64, String> {
        let last = self.expected_seq - 1;
        if head.0 != last {
            return Err(format!(
                "the audit head records {} entries but the log holds {last}: entries {}..{} are missing",
                head.0,
                last + 1,
                head.0
            ));
        }
        if head.1 != self.prev_hash {
            return Err(format!(
                "audit entry {last}: the last entry differs from the recorded head"
            ));
        }
        Ok(last)
    }
}

/// A breach-response query over the audit log.
#[derive(Clone, Debug, Default)]
pub struct AuditQuery {
    pub tenant: Option<TenantId>,
    pub user: Option<UserId>,
    pub session: Option<String>,
    pub person: Option<PersonId>,
    pub from: Option<Timestamp>,
    pub until: Option<Timestamp>,
    pub limit: u32,
}
