//! The work pages: persons, intake, the case page and its forms, meetings, print views and
//! administration. Every page reads and writes through the JSON API's handlers (so the same
//! access checks, decisions and audit apply); this module only turns forms into commands and
//! answers into HTML. A refusal comes back on the same form with what the user typed.

pub mod account;
pub mod admin;
pub mod attachment;
pub mod audit;
pub mod case;
pub mod caselist;
pub mod import;
pub mod meeting;
pub mod person;
pub mod person_edit;
pub mod plan;
pub mod print;
pub mod reports;
pub mod stats;

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use jiff::civil::Date;
use tsunagu_core::{LongText, ShortText, wareki};

use crate::auth::Auth;
use crate::error::ApiError;
use crate::ui;

/// What every page's header shows: who is logged in, the menu for the role, the CSRF token.
#[derive(Clone, Debug)]
pub struct Chrome {
    pub display_name: String,
    pub role_label: &'static str,
    pub csrf_token: String,
    pub works_cases: bool,
    pub administers: bool,
    /// Auditors and administrators: the audit view.
    pub reads_audit: bool,
    /// Leads, municipal officers and administrators: the statistics.
    pub sees_counts: bool,
    /// Lead workers: the import of persons from a workbook.
    pub imports: bool,
    /// Municipal departments' officers: the plans reported to the municipality.
    pub receives_reports: bool,
    /// Today in 和暦 and the fiscal year, shown in the header.
    pub today: String,
    pub fiscal_year: String,
}

impl Chrome {
    pub fn of(auth: &Auth, today: Date) -> Chrome {
        Chrome {
            display_name: auth.user.display_name.clone(),
            role_label: auth.actor.role.label_ja(),
            csrf_token: auth
                .session
                .as_ref()
                .map(|s| s.csrf_token.clone())
                .unwrap_or_default(),
            works_cases: auth.actor.role.works_cases(),
            administers: tsunagu_core::policy::administer(&auth.actor),
            reads_audit: tsunagu_core::policy::read_audit(&auth.actor),
            sees_counts: tsunagu_core::policy::tenant_counts(&auth.actor),
            imports: tsunagu_core::policy::import_records(&auth.actor),
            receives_reports: tsunagu_core::policy::receive_reports(&auth.actor),
            today: wareki::format(today),
            fiscal_year: wareki::fiscal_year_label(today),
        }
    }
}

/// The person's name as this user may see it (a provisional name is a name too).
pub fn shown_name(person: &tsunagu_core::person::PersonState, auth: &Auth) -> String {
    person
        .details_for(auth.actor.user_id)
        .name
        .as_str()
        .to_owned()
}

/// A record id from the path; one that cannot exist answers like one that does not (404).
pub(crate) fn parse_id<T: std::str::FromStr>(raw: &str) -> Result<T, ApiError> {
    raw.parse().map_err(|_| ApiError::not_found())
}

/// Template filters: dates in 和暦 with the Western year beside them.
pub mod filters {
    use jiff::civil::Date;

    pub trait AsDate {
        fn as_date(&self) -> Option<Date>;
    }
    impl AsDate for Date {
        fn as_date(&self) -> Option<Date> {
            Some(*self)
        }
    }
    impl AsDate for Option<Date> {
        fn as_date(&self) -> Option<Date> {
            *self
        }
    }
    impl<T: AsDate + ?Sized> AsDate for &T {
        fn as_date(&self) -> Option<Date> {
            (**self).as_date()
        }
    }

    /// 令和7年4月1日（2025年）, or an em dash for no date.
    pub fn wareki<T: AsDate>(d: T, _: &dyn askama::Values) -> askama::Result<String> {
        Ok(match d.as_date() {
            Some(d) => format!("{}（{}年）", tsunagu_core::wareki::format(d), d.year()),
            None => "—".to_owned(),
        })
    }

    /// 令和7年4月1日 only (tables and printed forms).
    pub fn jdate<T: AsDate>(d: T, _: &dyn askama::Values) -> askama::Result<String> {
        Ok(d.as_date()
            .map_or_else(|| "—".to_owned(), tsunagu_core::wareki::format))
    }
}

/// Renders a page with a status (a refused form answers 422 or 409 with the form again).
pub fn render_status(status: StatusCode, t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(err) => {
            tracing::error!(error = %err, "template failed");
            ui::page_error(&ApiError::internal())
        }
    }
}

pub fn render(t: &impl Template) -> Response {
    render_status(StatusCode::OK, t)
}

/// A file to download: its type, and its name (`stem` and the format's extension).
pub fn download(format: tsunagu_app::FileFormat, stem: &str, bytes: Vec<u8>) -> Response {
    use axum::response::IntoResponse;
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                format.content_type().to_owned(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{stem}.{}\"", format.extension()),
            ),
        ],
        bytes,
    )
        .into_response()
}

/// When something was recorded, as pages show it: 令和8年12月6日 14:30 (Japan's time).
pub fn stamp(t: jiff::Timestamp) -> String {
    let at = tsunagu_app::in_japan(t);
    format!("{} {}", wareki::format(at.date()), at.strftime("%H:%M"))
}

/// After a successful form: to the page that shows the result (303, so reload does not resend).
pub fn see_other(path: &str) -> Response {
    Redirect::to(path).into_response()
}

/// A submitted form, in order, with repeated names kept (checkbox groups, item rows).
#[derive(Clone, Debug, Default)]
pub struct Fields(pub Vec<(String, String)>);

/// A field the form could not read, with the Japanese reason shown beside it.
#[derive(Clone, Debug)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

pub type FieldResult<T> = Result<T, FieldError>;

pub(crate) fn field_error(field: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.to_owned(),
        message: message.into(),
    }
}

impl Fields {
    /// The trimmed value, `None` when absent or blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    pub fn raw(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn has(&self, name: &str, value: &str) -> bool {
        self.0.iter().any(|(k, v)| k == name && v == value)
    }

    pub fn checked(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    pub fn required<'a>(&'a self, name: &str, label: &str) -> FieldResult<&'a str> {
        self.get(name)
            .ok_or_else(|| field_error(name, format!("{label}を入力してください。")))
    }

    /// A date typed as 令和7年4月1日 or 2025-04-01.
    pub fn date(&self, name: &str, label: &str) -> FieldResult<Date> {
        let raw = self.required(name, label)?;
        wareki::read(raw).map_err(|problem| field_error(name, problem.message(label)))
    }

    pub fn opt_date(&self, name: &str, label: &str) -> FieldResult<Option<Date>> {
        match self.get(name) {
            None => Ok(None),
            Some(_) => self.date(name, label).map(Some),
        }
    }

    pub fn short(&self, name: &str, label: &str) -> FieldResult<ShortText> {
        let raw = self.required(name, label)?;
        ShortText::parse(raw).map_err(|_| {
            field_error(
                name,
                format!(
                    "{label}は{}文字以内で入力してください。",
                    ShortText::MAX_CHARS
                ),
            )
        })
    }

    pub fn opt_short(&self, name: &str, label: &str) -> FieldResult<Option<ShortText>> {
        match self.get(name) {
            None => Ok(None),
            Some(_) => self.short(name, label).map(Some),
        }
    }

    pub fn long(&self, name: &str, label: &str) -> FieldResult<LongText> {
        let raw = self.required(name, label)?;
        LongText::parse(raw).map_err(|_| {
            field_error(
                name,
                format!(
                    "{label}は{}文字以内で入力してください。",
                    LongText::MAX_CHARS
                ),
            )
        })
    }

    pub fn opt_long(&self, name: &str, label: &str) -> FieldResult<Option<LongText>> {
        match self.get(name) {
            None => Ok(None),
            Some(_) => self.long(name, label).map(Some),
        }
    }

    /// One of a code list (`parse` is the list's own parser).
    pub fn choice<T>(
        &self,
        name: &str,
        label: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> FieldResult<T> {
        let raw = self
            .get(name)
            .ok_or_else(|| field_error(name, format!("{label}を選んでください。")))?;
        parse(raw).ok_or_else(|| field_error(name, format!("{label}の選択肢から選んでください。")))
    }

    pub fn number<T: std::str::FromStr>(&self, name: &str, label: &str) -> FieldResult<T> {
        let raw = self.required(name, label)?;
        raw.parse()
            .map_err(|_| field_error(name, format!("{label}は半角の数字で入力してください。")))
    }

    /// An identifier chosen from a list (organisation, user, case, consent); `message` says
    /// what to choose when it is missing or not one of the list's.
    pub fn id<T: std::str::FromStr>(&self, name: &str, message: &str) -> FieldResult<T> {
        self.get(name)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| field_error(name, message))
    }

    /// Identifiers from a group of checkboxes; one that is not the list's refuses the form.
    pub fn ids<T: std::str::FromStr>(&self, name: &str, message: &str) -> FieldResult<Vec<T>> {
        self.all(name)
            .into_iter()
            .map(|v| v.parse().map_err(|_| field_error(name, message)))
            .collect()
    }

    pub fn version(&self) -> u64 {
        self.get("expected_version")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }
}

/// One control of a generic form, with what was typed and any error beside it.
#[derive(Clone, Debug)]
pub struct Control {
    pub name: String,
    pub label: String,
    pub kind: ControlKind,
    pub value: String,
    pub required: bool,
    pub hint: &'static str,
    pub options: Vec<(String, String)>,
    pub error: Option<String>,
    /// Starts a new fieldset with this legend (item rows of a plan, goals of an evaluation).
    pub group: Option<String>,
    /// Set by [`laid_out`]: a group ends before this control / this control is inside one.
    pub close_group: bool,
    pub in_group: bool,
    /// The id of a `<datalist>` of suggestions (free text still allowed).
    pub suggest: &'static str,
    /// The cursor starts here (a row just added).
    pub autofocus: bool,
    /// Required only when another field has this value (a referral's fields when the outcome
    /// is to refer out).
    pub only_when: Option<(&'static str, &'static str)>,
}

/// Marks where fieldsets open and close, for the template.
pub fn laid_out(mut controls: Vec<Control>) -> Vec<Control> {
    let mut open = false;
    for c in &mut controls {
        c.close_group = open && c.group.is_some();
        if c.group.is_some() {
            open = true;
        }
        c.in_group = open;
    }
    controls
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ControlKind {
    Text,
    Date,
    Area,
    Select,
    Radio,
    Check,
    /// Several boxes under one name (主訴, organisations).
    Checks,
    Number,
    /// A password: never echoed back into the page.
    Secret,
    /// A file to upload (the form must be multipart); never refilled by a browser.
    File,
}

impl Control {
    fn new(name: impl Into<String>, label: impl Into<String>, kind: ControlKind) -> Control {
        Control {
            name: name.into(),
            label: label.into(),
            kind,
            value: String::new(),
            required: false,
            hint: "",
            options: Vec::new(),
            error: None,
            group: None,
            close_group: false,
            in_group: false,
            suggest: "",
            autofocus: false,
            only_when: None,
        }
    }
    pub fn text(name: impl Into<String>, label: impl Into<String>) -> Control {
        Control::new(name, label, ControlKind::Text)
    }
    pub fn area(name: impl Into<String>, label: impl Into<String>) -> Control {
        Control::new(name, label, ControlKind::Area)
    }
    pub fn secret(name: impl Into<String>, label: impl Into<String>) -> Control {
        Control::new(name, label, ControlKind::Secret)
    }
    pub fn number(name: impl Into<String>, label: impl Into<String>) -> Control {
        Control::new(name, label, ControlKind::Number)
    }
    pub fn date(name: impl Into<String>, label: impl Into<String>) -> Control {
        let mut c = Control::new(name, label, ControlKind::Date);
        c.hint = "例: 令和7年4月1日 または 2025-04-01";
        c
    }
    pub fn check(name: impl Into<String>, label: impl Into<String>) -> Control {
        Control::new(name, label, ControlKind::Check)
    }
    pub fn select<A: AsRef<str>, B: AsRef<str>>(
        name: impl Into<String>,
        label: impl Into<String>,
        options: impl IntoIterator<Item = (A, B)>,
    ) -> Control {
        let mut c = Control::new(name, label, ControlKind::Select);
        c.options = options
            .into_iter()
            .map(|(v, l)| (v.as_ref().to_owned(), l.as_ref().to_owned()))
            .collect();
        c
    }
    pub fn radio<A: AsRef<str>, B: AsRef<str>>(
        name: impl Into<String>,
        label: impl Into<String>,
        options: impl IntoIterator<Item = (A, B)>,
    ) -> Control {
        let mut c = Control::select(name, label, options);
        c.kind = ControlKind::Radio;
        c
    }
    pub fn checks<A: AsRef<str>, B: AsRef<str>>(
        name: impl Into<String>,
        label: impl Into<String>,
        options: impl IntoIterator<Item = (A, B)>,
    ) -> Control {
        let mut c = Control::select(name, label, options);
        c.kind = ControlKind::Checks;
        c
    }
    pub fn required(mut self) -> Control {
        self.required = true;
        self
    }
    pub fn value(mut self, v: impl Into<String>) -> Control {
        self.value = v.into();
        self
    }
    pub fn today(self, today: Date) -> Control {
        self.value(wareki::format(today))
    }
    pub fn hint(mut self, h: &'static str) -> Control {
        self.hint = h;
        self
    }
    pub fn only_when(mut self, field: &'static str, value: &'static str) -> Control {
        self.only_when = Some((field, value));
        self
    }
    pub fn suggest(mut self, datalist: &'static str) -> Control {
        self.suggest = datalist;
        self
    }
    pub fn group(mut self, g: impl Into<String>) -> Control {
        self.group = Some(g.into());
        self
    }

    /// The id of the element (names may repeat across forms on one page; ids may not).
    pub fn id(&self) -> String {
        format!("f-{}", self.name)
    }

    /// Whether an option is selected (select, radio, checkbox group).
    pub fn is_selected(&self, option: &str) -> bool {
        self.value.split('\u{1f}').any(|v| v == option)
    }

    pub fn is_checked(&self) -> bool {
        !self.value.is_empty()
    }
}

/// Controls filled with what the user typed, the error put beside its field.
pub fn refill(controls: Vec<Control>, fields: &Fields, error: Option<&FieldError>) -> Vec<Control> {
    refill_all(
        controls,
        fields,
        error.map(std::slice::from_ref).unwrap_or_default(),
    )
}

/// Controls filled with what the user typed, every error beside its own field.
pub fn refill_all(
    mut controls: Vec<Control>,
    fields: &Fields,
    errors: &[FieldError],
) -> Vec<Control> {
    for c in &mut controls {
        c.value = match c.kind {
            ControlKind::Checks => fields.all(&c.name).join("\u{1f}"),
            ControlKind::Secret | ControlKind::File => String::new(),
            _ => fields.raw(&c.name).to_owned(),
        };
        c.error = errors
            .iter()
            .find(|e| e.field == c.name)
            .map(|e| e.message.clone());
    }
    laid_out(controls)
}

/// Every mistake a form's controls show by themselves, in form order: a required field left
/// empty, a date or number that cannot be read, a text too long. The action's own reader then
/// finds what depends on other fields; together a form reports all its mistakes at once.
pub fn check_controls(controls: &[Control], f: &Fields) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for c in controls {
        let (name, label) = (c.name.as_str(), c.label.as_str());
        if c.only_when
            .is_some_and(|(other, value)| f.get(other) != Some(value))
        {
            continue;
        }
        let present = f.get(name).is_some();
        let error = match c.kind {
            ControlKind::Date if c.required || present => f.date(name, label).err(),
            ControlKind::Number if c.required || present => f.number::<i64>(name, label).err(),
            ControlKind::Text if c.required || present => f.short(name, label).err(),
            ControlKind::Area if c.required || present => f.long(name, label).err(),
            ControlKind::Select | ControlKind::Radio if c.required && !present => {
                Some(field_error(name, format!("{label}を選んでください。")))
            }
            _ => None,
        };
        errors.extend(error);
    }
    errors
}

/// The mistakes of both checks, each field once, in the order of the form's controls.
pub fn merge_errors(
    controls: &[Control],
    mut errors: Vec<FieldError>,
    more: impl IntoIterator<Item = FieldError>,
) -> Vec<FieldError> {
    for e in more {
        if !errors.iter().any(|x| x.field == e.field) {
            errors.push(e);
        }
    }
    let at = |e: &FieldError| {
        controls
            .iter()
            .position(|c| c.name == e.field)
            .unwrap_or(usize::MAX)
    };
    errors.sort_by_key(at);
    errors
}

/// Every field error among the results of reading a form (`Err` of each), in form order, so
/// a form reports all its mistakes at once instead of one per submission.
pub fn field_errors(results: &[Option<&FieldError>]) -> Vec<FieldError> {
    results.iter().flatten().map(|e| (*e).clone()).collect()
}

/// A refusal as the form shows it: the message (which already says what to do next) and,
/// for a conflict, what changed in the meantime.
#[derive(Clone, Debug, Default)]
pub struct Notice {
    /// The first words: 「保存できませんでした。」 after a refused save; something else where
    /// nothing was sent yet.
    pub heading: &'static str,
    pub message: String,
    pub code: String,
    /// Someone else saved first: the changes since the version the user saw.
    pub conflict: Vec<String>,
    /// Where to go to discard the input and see the latest record.
    pub back: String,
    /// Several fields were wrong: each with a link to its field (the summary above the form).
    pub fields: Vec<(String, String)>,
}

impl Notice {
    pub fn from_api(e: &ApiError) -> Notice {
        Notice {
            heading: "保存できませんでした。",
            message: e.message.clone(),
            code: e.code.clone(),
            conflict: Vec::new(),
            back: String::new(),
            fields: Vec::new(),
        }
    }
    pub fn from_field(e: &FieldError) -> Notice {
        Notice {
            heading: "保存できませんでした。",
            message: e.message.clone(),
            code: "request.invalid_field".to_owned(),
            conflict: Vec::new(),
            back: String::new(),
            fields: Vec::new(),
        }
    }
    /// Every mistake of a form: one line each, linking to its field.
    pub fn from_fields(errors: &[FieldError]) -> Notice {
        match errors {
            [one] => Notice::from_field(one),
            _ => Notice {
                heading: "保存できませんでした。",
                message: format!(
                    "{}か所の入力を直してください。それぞれの項目の下に理由があります。",
                    errors.len()
                ),
                code: "request.invalid_field".to_owned(),
                conflict: Vec::new(),
                back: String::new(),
                fields: errors
                    .iter()
                    .map(|e| (format!("f-{}", e.field), e.message.clone()))
                    .collect(),
            },
        }
    }
}

/// The status a refused form answers with.
pub fn refusal_status(e: &ApiError) -> StatusCode {
    if e.status.is_client_error() {
        e.status
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    }
}

/// An error a page answers with the error page (same code and message as the API): lets page
/// handlers use `?` on access checks, loads and API calls.
#[derive(Debug)]
pub struct PageError(pub ApiError);

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        PageError(e)
    }
}

impl From<tsunagu_app::Error> for PageError {
    fn from(e: tsunagu_app::Error) -> Self {
        PageError(e.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        ui::page_error(&self.0)
    }
}

pub type PageResult = Result<Response, PageError>;
