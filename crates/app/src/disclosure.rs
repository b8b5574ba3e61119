//! 開示請求 (issue 14, item 10): everything recorded about one person, gathered for the
//! person's request to see their records — details, consents, the history of the details,
//! and every case with its whole timeline (each assessment and plan version is an event of it)
//! and its documents. Lead workers only. Gathered through the same use cases as the screens,
//! so it holds what the caller may read and no more.
//!
//! Restricted fields (閲覧制限) are the person's own, so they are included for the person and
//! flagged for review before the document is handed over — when the lead who prepares it is
//! one of the staff the restriction names. A lead it does not name gets them left out and
//! named, to be prepared by one it names (the restriction keeps a DV victim's address from
//! every other member of staff, the disclosure too) — unless the tenant has them included for
//! any lead (`DisclosureRestricted::Include`). One more audit entry names the disclosure and
//! how many restricted fields it withheld or included.

use tsunagu_core::PersonId;
use tsunagu_core::policy::Access;
use tsunagu_core::settings::DisclosureRestricted;

use crate::cases::{self, CasePage};
use crate::persons::{self, PersonHistoryEntry, PersonView};
use crate::{App, Caller, Result, access, record};

/// What a disclosure holds.
pub struct Disclosure {
    pub person: PersonView,
    pub history: Vec<PersonHistoryEntry>,
    /// The person's cases the caller may read (with those of duplicate registrations merged
    /// into the person), oldest first.
    pub cases: Vec<CasePage>,
    /// Restricted fields included for the person (the caller is named by the restriction, or
    /// the tenant's setting is `DisclosureRestricted::Include`), to be flagged for review.
    pub included_restricted: Vec<tsunagu_core::person::PersonField>,
}

/// Gathers a person's records for a disclosure (403 for roles other than lead workers, 404
/// for a person the caller may not read), audited as `person.disclosed`.
pub async fn person(app: &App, caller: &Caller, id: PersonId) -> Result<Disclosure> {
    access::disclose(caller)?;
    let (_, basis) = access::person(app, caller, id, Access::Read).await?;
    let mut person = persons::get(app, caller, id).await?;
    let mut history = persons::history(app, caller, id).await?;
    // Restricted fields the caller may read are included for the person, flagged for review.
    let mut included_restricted = person
        .restriction
        .as_ref()
        .map(|r| r.fields.clone())
        .unwrap_or_default();
    // The tenant may have them included even for a lead the restriction does not name.
    if caller.settings.disclosure_restricted == DisclosureRestricted::Include
        && !person.redacted.is_empty()
    {
        let full = app
            .store
            .person(caller.actor.tenant_id, id)
            .await?
            .ok_or_else(crate::Error::not_found)?;
        person.details = full.state.details;
        included_restricted = std::mem::take(&mut person.redacted);
        for (entry, e) in history
            .iter_mut()
            .zip(app.store.events(caller.actor.tenant_id, id.0).await?)
        {
            entry.event =
                serde_json::from_value(e.payload).map_err(|_| crate::Error::internal())?;
        }
    }
    let mut cases = Vec::with_capacity(person.cases.len());
    for c in &person.cases {
        cases.push(cases::page(app, caller, c.id).await?);
    }
    cases.sort_by_key(|c| c.case.state.opened_on);
    record(
        app,
        caller
            .audit("person.disclosed")
            .object("person", id)
            .subject(id)
            .basis(basis)
            .detail(format!(
                "cases={} withheld_fields={} included_restricted_fields={}",
                cases.len(),
                person.redacted.len(),
                included_restricted.len()
            )),
    )
    .await?;
    Ok(Disclosure {
        person,
        history,
        cases,
        included_restricted,
    })
}
