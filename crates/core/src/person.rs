//! Persons (相談者・本人) and households (世帯). A person can have several cases over time.
//! Changes are events too: the history of a person's details can be read back.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::{
    ConsentId, Context, HouseholdId, LongText, OrgId, PersonId, Refusal, ShortText, UserId,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    Female,
    Male,
    Other,
    NotStated,
}

impl Sex {
    pub const ALL: [Sex; 4] = [Sex::Female, Sex::Male, Sex::Other, Sex::NotStated];

    pub fn as_str(self) -> &'static str {
        match self {
            Sex::Female => "female",
            Sex::Male => "male",
            Sex::Other => "other",
            Sex::NotStated => "not_stated",
        }
    }

    pub fn label_ja(self) -> &'static str {
        match self {
            Sex::Female => "女性",
            Sex::Male => "男性",
            Sex::Other => "その他",
            Sex::NotStated => "回答なし",
        }
    }
}

/// What is known about a person. Only a name is needed, and for a person found by outreach it
/// may be a provisional one (e.g. 「駅前の男性（仮）」), recorded before any consent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PersonDetails {
    pub name: ShortText,
    #[serde(default)]
    pub name_is_provisional: bool,
    #[serde(default)]
    pub kana: Option<ShortText>,
    #[serde(default)]
    pub date_of_birth: Option<Date>,
    #[serde(default)]
    pub sex: Option<Sex>,
    #[serde(default)]
    pub address: Option<ShortText>,
    #[serde(default)]
    pub phone: Option<ShortText>,
    /// 続柄: the person's relation to the head of their household (世帯主, 妻, 長男, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relationship: Option<ShortText>,
    /// 郵便番号, as `NNN-NNNN` (restricted with the address).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<ShortText>,
    /// 携帯電話 (restricted with the phone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile: Option<ShortText>,
    /// E-mail (restricted with the phone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<ShortText>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PersonEvent {
    PersonRegistered {
        details: PersonDetails,
        household_id: HouseholdId,
        registered_by_org: OrgId,
        /// The sheet row this registration was imported from.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        imported_from: Option<crate::import::ImportSource>,
    },
    DetailsChanged {
        details: PersonDetails,
    },
    MovedToHousehold {
        household_id: HouseholdId,
    },
    ConsentRecorded {
        consent: Consent,
    },
    ConsentWithdrawn {
        consent_id: ConsentId,
        withdrawn_on: Date,
    },
    /// Restricted fields are shown only to the named users; empty `fields` lifts the restriction.
    FieldsRestricted {
        fields: Vec<PersonField>,
        users: Vec<UserId>,
    },
    /// A duplicate registration merged into the person kept (the duplicate's stream). Its
    /// records and cases stay its own and are read through the person kept.
    MergedInto {
        into: PersonId,
        reason: LongText,
    },
    /// The other side of a merge (the stream of the person kept).
    Absorbed {
        from: PersonId,
        reason: LongText,
    },
    /// A merge undone (the duplicate's stream): the person stands on their own again.
    MergeUndone {
        into: PersonId,
        reason: LongText,
    },
    /// A merge undone (the stream of the person kept).
    AbsorptionUndone {
        from: PersonId,
        reason: LongText,
    },
}

impl PersonEvent {
    /// The event as a user who may not see `hidden` fields may read it (the history view).
    pub fn redacted(mut self, hidden: &[PersonField]) -> PersonEvent {
        if let PersonEvent::PersonRegistered { details, .. }
        | PersonEvent::DetailsChanged { details } = &mut self
        {
            for field in hidden {
                field.clear(details);
            }
        }
        self
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            PersonEvent::PersonRegistered { .. } => "person_registered",
            PersonEvent::DetailsChanged { .. } => "details_changed",
            PersonEvent::MovedToHousehold { .. } => "moved_to_household",
            PersonEvent::ConsentRecorded { .. } => "consent_recorded",
            PersonEvent::ConsentWithdrawn { .. } => "consent_withdrawn",
            PersonEvent::FieldsRestricted { .. } => "fields_restricted",
            PersonEvent::MergedInto { .. } => "merged_into",
            PersonEvent::Absorbed { .. } => "absorbed",
            PersonEvent::MergeUndone { .. } => "merge_undone",
            PersonEvent::AbsorptionUndone { .. } => "absorption_undone",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PersonState {
    pub details: PersonDetails,
    pub household_id: HouseholdId,
    pub registered_by_org: OrgId,
    /// 本人同意: to which organisations the person's information may go, for what, how long.
    #[serde(default)]
    pub consents: Vec<Consent>,
    /// Fields shown only to named users (e.g. the address of a person fleeing violence).
    #[serde(default)]
    pub restriction: Option<FieldRestriction>,
    /// Merged into this person as a duplicate registration (read through that person).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<PersonId>,
    /// Duplicate registrations merged into this person, whose cases are read with its own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub absorbed: Vec<PersonId>,
}

/// Fields of a person's details that can be restricted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PersonField {
    Address,
    Phone,
}

impl PersonField {
    pub fn as_str(self) -> &'static str {
        match self {
            PersonField::Address => "address",
            PersonField::Phone => "phone",
        }
    }

    /// Removes what this restriction covers: the address with its postal code; the phone
    /// with the mobile and the e-mail (every way of reaching the person).
    pub fn clear(self, details: &mut PersonDetails) {
        match self {
            PersonField::Address => {
                details.address = None;
                details.postal_code = None;
            }
            PersonField::Phone => {
                details.phone = None;
                details.mobile = None;
                details.email = None;
            }
        }
    }

    /// Puts back into `details` what this restriction covers, as `stored` has it.
    pub fn keep(self, stored: &PersonDetails, details: &mut PersonDetails) {
        match self {
            PersonField::Address => {
                details.address = stored.address.clone();
                details.postal_code = stored.postal_code.clone();
            }
            PersonField::Phone => {
                details.phone = stored.phone.clone();
                details.mobile = stored.mobile.clone();
                details.email = stored.email.clone();
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldRestriction {
    pub fields: Vec<PersonField>,
    pub users: Vec<UserId>,
}

/// A consent (本人同意) to share the person's information with organisations.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Consent {
    pub id: ConsentId,
    pub organisations: Vec<OrgId>,
    pub purpose: ShortText,
    pub given_on: Date,
    pub valid_until: Option<Date>,
    pub written_form_received: bool,
    pub withdrawn_on: Option<Date>,
}

impl Consent {
    /// Whether this consent covers sharing with `org` on `day`.
    pub fn covers(&self, org: OrgId, day: Date) -> bool {
        self.organisations.contains(&org)
            && self.given_on <= day
            && self.valid_until.is_none_or(|until| day <= until)
            && self.withdrawn_on.is_none_or(|w| day < w)
    }

    /// Whether the consent is in force on `day` for anyone.
    pub fn in_force(&self, day: Date) -> bool {
        self.organisations.iter().any(|o| self.covers(*o, day))
    }
}

/// Whether any of the consents covers sharing with `org` on `day`.
pub fn consent_covers(consents: &[Consent], org: OrgId, day: Date) -> bool {
    consents.iter().any(|c| c.covers(org, day))
}

impl PersonState {
    pub fn fold<'a>(events: impl IntoIterator<Item = &'a PersonEvent>) -> Option<PersonState> {
        let mut state: Option<PersonState> = None;
        for event in events {
            match (&mut state, event) {
                (
                    None,
                    PersonEvent::PersonRegistered {
                        details,
                        household_id,
                        registered_by_org,
                        ..
                    },
                ) => {
                    state = Some(PersonState {
                        details: details.clone(),
                        household_id: *household_id,
                        registered_by_org: *registered_by_org,
                        consents: Vec::new(),
                        restriction: None,
                        merged_into: None,
                        absorbed: Vec::new(),
                    })
                }
                (Some(s), e) => s.evolve(e),
                (None, _) => {}
            }
        }
        state
    }

    pub fn evolve(&mut self, event: &PersonEvent) {
        match event {
            PersonEvent::PersonRegistered { .. } => {}
            PersonEvent::DetailsChanged { details } => self.details = details.clone(),
            PersonEvent::MovedToHousehold { household_id } => self.household_id = *household_id,
            PersonEvent::ConsentRecorded { consent } => self.consents.push(consent.clone()),
            PersonEvent::ConsentWithdrawn {
                consent_id,
                withdrawn_on,
            } => {
                if let Some(c) = self.consents.iter_mut().find(|c| c.id == *consent_id) {
                    c.withdrawn_on = Some(*withdrawn_on);
                }
            }
            PersonEvent::FieldsRestricted { fields, users } => {
                self.restriction = (!fields.is_empty()).then(|| FieldRestriction {
                    fields: fields.clone(),
                    users: users.clone(),
                });
            }
            PersonEvent::MergedInto { into, .. } => self.merged_into = Some(*into),
            PersonEvent::MergeUndone { .. } => self.merged_into = None,
            PersonEvent::Absorbed { from, .. } => {
                if !self.absorbed.contains(from) {
                    self.absorbed.push(*from);
                }
            }
            PersonEvent::AbsorptionUndone { from, .. } => self.absorbed.retain(|p| p != from),
        }
    }

    /// The restricted fields `user` may not see.
    pub fn hidden_from(&self, user: UserId) -> Vec<PersonField> {
        match &self.restriction {
            Some(r) if !r.users.contains(&user) => r.fields.clone(),
            _ => Vec::new(),
        }
    }

    /// The details as `user` may see them: restricted fields removed.
    pub fn details_for(&self, user: UserId) -> PersonDetails {
        let mut details = self.details.clone();
        for field in self.hidden_from(user) {
            field.clear(&mut details);
        }
        details
    }
}

/// The age in whole years on `on` of a person born on `born` (0 before birth).
pub fn age(born: Date, on: Date) -> i16 {
    let mut age = on.year() - born.year();
    if (on.month(), on.day()) < (born.month(), born.day()) {
        age -= 1;
    }
    age.max(0)
}

/// A postal code (郵便番号) as `NNN-NNNN`, from seven digits written any usual way (full-width,
/// with 〒, a hyphen or none); none when it is not one.
pub fn postal_code(text: &str) -> Option<String> {
    let digits: String = crate::text::search_fold(text)
        .chars()
        .filter(|c| !matches!(c, '〒' | '-' | 'ー' | '−' | '‐' | ' '))
        .collect();
    (digits.len() == 7 && digits.chars().all(|c| c.is_ascii_digit()))
        .then(|| format!("{}-{}", &digits[..3], &digits[3..]))
}

/// Whether `text` looks like an e-mail address: one `@` with something on each side, a dot in
/// the domain, no spaces.
pub fn email_ok(text: &str) -> bool {
    match text.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !text.chars().any(char::is_whitespace)
        }
        None => false,
    }
}

/// Checks the details, and writes the postal code as `NNN-NNNN`.
fn check(details: &mut PersonDetails, ctx: &Context) -> Result<(), Refusal> {
    if let Some(p) = &details.postal_code {
        let normal = postal_code(p.as_str()).ok_or(Refusal::PostalCodeInvalid)?;
        details.postal_code =
            Some(ShortText::parse(&normal).map_err(|_| Refusal::PostalCodeInvalid)?);
    }
    if details
        .email
        .as_ref()
        .is_some_and(|e| !email_ok(e.as_str()))
    {
        return Err(Refusal::EmailInvalid);
    }
    if details.date_of_birth.is_some_and(|d| d > ctx.today) {
        return Err(Refusal::DateInFuture {
            field: "生年月日"
        });
    }
    if details
        .date_of_birth
        .is_some_and(|d| d < crate::case::EARLIEST_DATE)
    {
        return Err(Refusal::DateTooEarly {
            field: "生年月日"
        });
    }
    Ok(())
}

pub fn register(
    mut details: PersonDetails,
    household_id: HouseholdId,
    ctx: &Context,
) -> Result<Vec<PersonEvent>, Refusal> {
    check(&mut details, ctx)?;
    Ok(vec![PersonEvent::PersonRegistered {
        details,
        household_id,
        registered_by_org: ctx.actor.org_id,
        imported_from: None,
    }])
}

/// Changes the details. Restricted fields the actor may not see keep their stored value, so an
/// edit from a redacted view never erases them.
pub fn change(
    state: &PersonState,
    mut details: PersonDetails,
    ctx: &Context,
) -> Result<Vec<PersonEvent>, Refusal> {
    if state.merged_into.is_some() {
        return Err(Refusal::PersonMerged);
    }
    check(&mut details, ctx)?;
    for field in state.hidden_from(ctx.actor.user_id) {
        field.keep(&state.details, &mut details);
    }
    if state.details == details {
        return Ok(vec![]);
    }
    Ok(vec![PersonEvent::DetailsChanged { details }])
}

/// Commands on a person's record other than their details.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum PersonCommand {
    RecordConsent {
        organisations: Vec<OrgId>,
        purpose: ShortText,
        given_on: Date,
        #[serde(default)]
        valid_until: Option<Date>,
        #[serde(default)]
        written_form_received: bool,
    },
    WithdrawConsent {
        consent_id: ConsentId,
        withdrawn_on: Date,
    },
    /// Joins the household of a person the actor can see, or (`household_id` empty) leaves the
    /// household for one of the person's own.
    MoveToHousehold {
        #[serde(default)]
        household_id: Option<HouseholdId>,
    },
    /// Restricts fields to the named users (who must include the actor); no fields lifts it.
    RestrictFields {
        fields: Vec<PersonField>,
        users: Vec<UserId>,
    },
}

/// Merges a duplicate registration into the person kept: an event on each stream, both
/// histories kept. Neither may be merged already, the duplicate may not have others merged into
/// it (they would point at a merged person), and a person is not merged into themself.
pub fn decide_merge(
    kept: (PersonId, &PersonState),
    duplicate: (PersonId, &PersonState),
    reason: LongText,
) -> Result<(PersonEvent, PersonEvent), Refusal> {
    if kept.0 == duplicate.0 {
        return Err(Refusal::PersonMergeSelf);
    }
    if kept.1.merged_into.is_some() || duplicate.1.merged_into.is_some() {
        return Err(Refusal::PersonMerged);
    }
    if !duplicate.1.absorbed.is_empty() {
        return Err(Refusal::PersonMergeChain);
    }
    Ok((
        PersonEvent::Absorbed {
            from: duplicate.0,
            reason: reason.clone(),
        },
        PersonEvent::MergedInto {
            into: kept.0,
            reason,
        },
    ))
}

/// Undoes a merge: the duplicate stands on its own again, with everything recorded on it.
pub fn decide_unmerge(
    kept: (PersonId, &PersonState),
    duplicate: (PersonId, &PersonState),
    reason: LongText,
) -> Result<(PersonEvent, PersonEvent), Refusal> {
    if duplicate.1.merged_into != Some(kept.0) || !kept.1.absorbed.contains(&duplicate.0) {
        return Err(Refusal::PersonNotMerged);
    }
    Ok((
        PersonEvent::AbsorptionUndone {
            from: duplicate.0,
            reason: reason.clone(),
        },
        PersonEvent::MergeUndone {
            into: kept.0,
            reason,
        },
    ))
}

/// Decides a person command. `fresh` is a new id for a consent or a household.
pub fn decide(
    state: &PersonState,
    cmd: PersonCommand,
    ctx: &Context,
    fresh: uuid::Uuid,
) -> Result<Vec<PersonEvent>, Refusal> {
    if state.merged_into.is_some() {
        return Err(Refusal::PersonMerged);
    }
    match cmd {
        PersonCommand::RecordConsent {
            mut organisations,
            purpose,
            given_on,
            valid_until,
            written_form_received,
        } => {
            if organisations.is_empty() {
                return Err(Refusal::ConsentNoOrganisations);
            }
            if given_on > ctx.today {
                return Err(Refusal::DateInFuture { field: "同意日" });
            }
            // No record of a person dates from before their birth.
            if let Some(born) = state.details.date_of_birth
                && given_on < born
            {
                return Err(Refusal::DateOrder {
                    earlier: "生年月日",
                    later: "同意日",
                });
            }
            if valid_until.is_some_and(|until| until < given_on) {
                return Err(Refusal::DateOrder {
                    earlier: "同意日",
                    later: "有効期限",
                });
            }
            organisations.sort();
            organisations.dedup();
            Ok(vec![PersonEvent::ConsentRecorded {
                consent: Consent {
                    id: ConsentId(fresh),
                    organisations,
                    purpose,
                    given_on,
                    valid_until,
                    written_form_received,
                    withdrawn_on: None,
                },
            }])
        }
        PersonCommand::WithdrawConsent {
            consent_id,
            withdrawn_on,
        } => {
            let consent = state
                .consents
                .iter()
                .find(|c| c.id == consent_id)
                .ok_or(Refusal::ConsentNotFound)?;
            if consent.withdrawn_on.is_some() {
                return Err(Refusal::ConsentAlreadyWithdrawn);
            }
            if withdrawn_on > ctx.today {
                return Err(Refusal::DateInFuture { field: "撤回日" });
            }
            Ok(vec![PersonEvent::ConsentWithdrawn {
                consent_id,
                withdrawn_on,
            }])
        }
        PersonCommand::MoveToHousehold { household_id } => {
            if household_id == Some(state.household_id) {
                return Err(Refusal::HouseholdUnchanged);
            }
            Ok(vec![PersonEvent::MovedToHousehold {
                household_id: household_id.unwrap_or(HouseholdId(fresh)),
            }])
        }
        PersonCommand::RestrictFields {
            mut fields,
            mut users,
        } => {
            if let Some(current) = &state.restriction
                && !current.users.contains(&ctx.actor.user_id)
            {
                return Err(Refusal::RestrictionNotNamed);
            }
            if !fields.is_empty() && !users.contains(&ctx.actor.user_id) {
                return Err(Refusal::RestrictionExcludesSelf);
            }
            fields.sort();
            fields.dedup();
            users.sort();
            users.dedup();
            Ok(vec![PersonEvent::FieldsRestricted { fields, users }])
        }
    }
}
