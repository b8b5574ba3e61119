//! Persons (相談者・本人) and households (世帯). A person can have several cases over time.
//! Changes are events too: the history of a person's details can be read back.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::{Context, HouseholdId, OrgId, Refusal, ShortText};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    Female,
    Male,
    Other,
    NotStated,
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
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PersonEvent {
    PersonRegistered {
        details: PersonDetails,
        household_id: HouseholdId,
        registered_by_org: OrgId,
    },
    DetailsChanged {
        details: PersonDetails,
    },
    MovedToHousehold {
        household_id: HouseholdId,
    },
}

impl PersonEvent {
    pub fn type_name(&self) -> &'static str {
        match self {
            PersonEvent::PersonRegistered { .. } => "person_registered",
            PersonEvent::DetailsChanged { .. } => "details_changed",
            PersonEvent::MovedToHousehold { .. } => "moved_to_household",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PersonState {
    pub details: PersonDetails,
    pub household_id: HouseholdId,
    pub registered_by_org: OrgId,
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
                    },
                ) => {
                    state = Some(PersonState {
                        details: details.clone(),
                        household_id: *household_id,
                        registered_by_org: *registered_by_org,
                    })
                }
                (Some(s), PersonEvent::DetailsChanged { details }) => s.details = details.clone(),
                (Some(s), PersonEvent::MovedToHousehold { household_id }) => {
                    s.household_id = *household_id
                }
                _ => {}
            }
        }
        state
    }
}

fn check(details: &PersonDetails, ctx: &Context) -> Result<(), Refusal> {
    if details.date_of_birth.is_some_and(|d| d > ctx.today) {
        return Err(Refusal::DateInFuture {
            field: "生年月日"
        });
    }
    Ok(())
}

pub fn register(
    details: PersonDetails,
    household_id: HouseholdId,
    ctx: &Context,
) -> Result<Vec<PersonEvent>, Refusal> {
    check(&details, ctx)?;
    Ok(vec![PersonEvent::PersonRegistered {
        details,
        household_id,
        registered_by_org: ctx.actor.org_id,
    }])
}

pub fn change(
    state: &PersonState,
    details: PersonDetails,
    ctx: &Context,
) -> Result<Vec<PersonEvent>, Refusal> {
    check(&details, ctx)?;
    if state.details == details {
        return Ok(vec![]);
    }
    Ok(vec![PersonEvent::DetailsChanged { details }])
}
