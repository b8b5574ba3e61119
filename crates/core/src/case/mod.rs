//! The case lifecycle (seed 000 ①–⑬, seed 001 §1) as decisions over events.

mod action;
mod command;
mod decide;
mod due;
mod event;
mod flow;
mod labels;
mod state;
mod types;

pub use action::CaseAction;
pub use command::*;
pub use decide::{
    EARLIEST_DATE, MeetingFacts, decide, decide_attachment, decide_conclusion, open, open_numbered,
    opening_day,
};
pub use due::*;
pub use event::*;
pub use flow::{FLOW, FlowStep, StepState, flow};
pub use state::*;
pub use types::*;
