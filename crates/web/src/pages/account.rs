//! アカウント: the caller's own password, second factor, sessions and API tokens, through the
//! same use cases (and password policy) as the JSON API (`tsunagu_app::accounts`). A session
//! that must first enrol a second factor is sent here and may do only that.

use askama::Template;
use axum::extract::{Query, State};
use serde::Deserialize;
use tsunagu_app::accounts::{self, PasswordChange, SessionView, TotpSetup};
use tsunagu_app::rows::TokenInfo;

use super::{
    Chrome, Control, ControlKind, FieldError, Fields, Notice, PageResult, field_error,
    field_errors, laid_out, refill_all, refusal_status, render, render_status, see_other, stamp,
};
use crate::AppState;
use crate::auth::Auth;
use crate::error::ApiError;
use crate::ui::Page;
use axum::http::StatusCode;

pub struct SessionRow {
    pub id: String,
    pub created: String,
    pub last_seen: String,
    pub address: String,
    pub current: bool,
}

pub struct TokenRow {
    pub id: uuid::Uuid,
    pub label: String,
    pub role: &'static str,
    pub created: String,
    pub expires: String,
    pub last_used: String,
    pub revoked: bool,
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    chrome: Chrome,
    login: String,
    role: &'static str,
    /// The session may only enrol a second factor until it confirms one.
    setup_only: bool,
    totp_enabled: bool,
    /// An enrolment waiting for its first code: the secret, its URI and the QR code (SVG).
    pending: Option<(String, String, String)>,
    password_controls: Vec<Control>,
    totp_controls: Vec<Control>,
    token_controls: Vec<Control>,
    sessions: Vec<SessionRow>,
    tokens: Vec<TokenRow>,
    /// A token just created: shown once.
    new_token: Option<String>,
    saved: Option<&'static str>,
    /// A refusal, shown in the section of the form that was sent.
    notice: Option<(String, Notice)>,
}

impl AccountPage {
    /// The refusal of `form`, when that form was the one sent.
    fn notice_for(&self, form: &str) -> Option<Notice> {
        self.notice
            .as_ref()
            .filter(|(which, _)| which == form)
            .map(|(_, n)| n.clone())
    }
}

fn password_controls() -> Vec<Control> {
    vec![
        Control::secret("current_password", "現在のパスワード").required(),
        Control::secret("new_password", "新しいパスワード").required().hint(
            "8文字以上。よく使われる語や並びは使えません。長い文がおすすめです。変更すると、この端末を含むすべてのログインとAPIトークンが終了します。",
        ),
        Control::secret("new_password_again", "新しいパスワード（確認のためもう一度）").required(),
    ]
}

fn totp_controls() -> Vec<Control> {
    vec![Control::text("code", "確認コード（6桁）").required()]
}

fn token_controls() -> Vec<Control> {
    vec![
        Control::text("label", "用途")
            .required()
            .hint("例: 集計用スクリプト"),
    ]
}

fn qr_svg(url: &str) -> String {
    qrcode::QrCode::new(url.as_bytes())
        .map(|code| {
            code.render::<qrcode::render::svg::Color>()
                .min_dimensions(180, 180)
                .quiet_zone(true)
                .build()
        })
        // Inline in HTML: without the XML declaration.
        .map(|svg| match svg.find("<svg") {
            Some(at) => svg[at..].to_owned(),
            None => svg,
        })
        .unwrap_or_default()
}

/// The page's state apart from its forms.
struct Input<'a> {
    form: Option<(&'a str, &'a Fields, &'a [FieldError])>,
    notice: Option<(String, Notice)>,
    new_token: Option<String>,
    saved: Option<&'static str>,
}

async fn account_page(
    app: &AppState,
    auth: &Auth,
    input: Input<'_>,
) -> Result<AccountPage, ApiError> {
    let sessions = accounts::sessions(app, auth, None)
        .await?
        .into_iter()
        .map(|s: SessionView| SessionRow {
            created: stamp(s.created_at),
            last_seen: stamp(s.last_seen_at),
            address: s.address.unwrap_or_default(),
            current: s.current,
            id: s.id,
        })
        .collect();
    let tokens = accounts::tokens(app, auth, None)
        .await?
        .into_iter()
        .map(|t: TokenInfo| TokenRow {
            id: t.id,
            label: t.label,
            role: t.role.label_ja(),
            created: stamp(t.created_at),
            expires: stamp(t.expires_at),
            last_used: t.last_used_at.map_or_else(|| "—".to_owned(), stamp),
            revoked: t.revoked_at.is_some(),
        })
        .collect();
    let pending = accounts::pending_totp(app, auth).await?.map(
        |TotpSetup {
             secret,
             otpauth_url,
         }| {
            let svg = qr_svg(&otpauth_url);
            (secret, otpauth_url, svg)
        },
    );
    let fill = |name: &str, controls: Vec<Control>| match input.form {
        Some((which, f, errors)) if which == name => refill_all(controls, f, errors),
        _ => laid_out(controls),
    };
    Ok(AccountPage {
        chrome: Chrome::of(auth, app.clock.today()),
        login: auth.user.login.clone(),
        role: auth.actor.role.label_ja(),
        setup_only: auth.totp_setup_only(),
        totp_enabled: auth.user.totp_confirmed,
        pending,
        password_controls: fill("password", password_controls()),
        totp_controls: fill("totp_confirm", totp_controls()),
        token_controls: fill("create_token", token_controls()),
        sessions,
        tokens,
        new_token: input.new_token,
        saved: input.saved,
        notice: input.notice,
    })
}

#[derive(Debug, Default, Deserialize)]
pub struct AccountQuery {
    #[serde(default)]
    saved: String,
}

pub async fn show(
    State(app): State<AppState>,
    Page(auth): Page,
    Query(q): Query<AccountQuery>,
) -> PageResult {
    let saved = match q.saved.as_str() {
        "totp" => {
            Some("二要素認証を設定しました。次回からログインの際に確認コードを入力してください。")
        }
        "session" => Some("ログインを終了しました。"),
        "token" => Some("APIトークンを無効にしました。"),
        _ => None,
    };
    let page = account_page(
        &app,
        &auth,
        Input {
            form: None,
            notice: None,
            new_token: None,
            saved,
        },
    )
    .await?;
    Ok(render(&page))
}

/// The forms of the page (`form` = password | totp_start | totp_confirm | end_session |
/// end_others | create_token | revoke_token).
pub async fn submit(
    State(app): State<AppState>,
    Page(auth): Page,
    axum::Form(fields): axum::Form<Vec<(String, String)>>,
) -> PageResult {
    let f = Fields(fields);
    let which = f.get("form").unwrap_or_default().to_owned();
    let result: Result<Option<&'static str>, ApiError> = match which.as_str() {
        "password" => {
            let current = f.required("current_password", "現在のパスワード");
            let new = f.required("new_password", "新しいパスワード");
            let again = f.required("new_password_again", "新しいパスワード（確認）");
            let mut errors = field_errors(&[
                current.as_ref().err(),
                new.as_ref().err(),
                again.as_ref().err(),
            ]);
            if let (Ok(n), Ok(a)) = (&new, &again)
                && n != a
            {
                errors.push(field_error(
                    "new_password_again",
                    "確認のために入力したパスワードが、新しいパスワードと違います。",
                ));
            }
            if !errors.is_empty() {
                return invalid(&app, &auth, &which, &f, &errors).await;
            }
            let req = PasswordChange {
                current_password: f.raw("current_password").to_owned(),
                new_password: f.raw("new_password").to_owned(),
            };
            accounts::change_password(&app, &auth, req)
                .await
                .map(|()| Some("password"))
                .map_err(ApiError::from)
        }
        "totp_start" => accounts::start_totp(&app, &auth)
            .await
            .map(|_| None)
            .map_err(ApiError::from),
        "totp_confirm" => match f.required("code", "確認コード") {
            Err(e) => return invalid(&app, &auth, &which, &f, &[e]).await,
            Ok(code) => accounts::confirm_totp(&app, auth.0.clone(), code)
                .await
                .map(|_| Some("totp"))
                .map_err(ApiError::from),
        },
        "end_session" => accounts::end_session(&app, &auth, f.raw("id"))
            .await
            .map(|()| Some("session"))
            .map_err(ApiError::from),
        "end_others" => accounts::end_other_sessions(&app, &auth)
            .await
            .map(|()| Some("session"))
            .map_err(ApiError::from),
        "create_token" => {
            return match accounts::create_token(&app, &auth, f.raw("label"), None).await {
                Ok(created) => {
                    let page = account_page(
                        &app,
                        &auth,
                        Input {
                            form: None,
                            notice: None,
                            new_token: Some(created.token),
                            saved: None,
                        },
                    )
                    .await?;
                    Ok(render(&page))
                }
                Err(e) => {
                    let e = ApiError::from(e);
                    if !e.status.is_client_error() {
                        return Err(e.into());
                    }
                    let status = refusal_status(&e);
                    let errors = [field_error("label", e.message.clone())];
                    refused(
                        &app,
                        &auth,
                        &which,
                        &f,
                        &errors,
                        Notice::from_api(&e),
                        status,
                    )
                    .await
                }
            };
        }
        "revoke_token" => match f.raw("id").parse() {
            Ok(id) => accounts::revoke_token(&app, &auth, None, id)
                .await
                .map(|()| Some("token"))
                .map_err(ApiError::from),
            Err(_) => Err(ApiError::from(tsunagu_app::Error::not_found())),
        },
        _ => Err(ApiError::from(tsunagu_app::Error::invalid(
            "request.invalid_field",
            "送信された内容が分かりません。",
        ))),
    };
    match result {
        // A changed password ends every session, this one too: log in again with it.
        Ok(Some("password")) => Ok(see_other("/login?changed=password")),
        Ok(Some(saved)) => Ok(see_other(&format!("/account?saved={saved}"))),
        Ok(None) => Ok(see_other("/account#totp")),
        Err(e) if e.status.is_client_error() && !e.is_not_found() => {
            let status = refusal_status(&e);
            // The refusal beside the field it is about, where there is one.
            let field = match e.code.as_str() {
                "password.current_wrong" => Some("current_password"),
                "password.too_short" | "password.too_common" => Some("new_password"),
                "totp.invalid_code" => Some("code"),
                _ => None,
            };
            let errors: Vec<FieldError> = field
                .map(|name| field_error(name, e.message.clone()))
                .into_iter()
                .collect();
            refused(
                &app,
                &auth,
                &which,
                &f,
                &errors,
                Notice::from_api(&e),
                status,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// The form again with the fields it could not read, each beside its field (422).
async fn invalid(
    app: &AppState,
    auth: &Auth,
    which: &str,
    f: &Fields,
    errors: &[FieldError],
) -> PageResult {
    refused(
        app,
        auth,
        which,
        f,
        errors,
        Notice::from_fields(errors),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

async fn refused(
    app: &AppState,
    auth: &Auth,
    which: &str,
    f: &Fields,
    errors: &[FieldError],
    notice: Notice,
    status: StatusCode,
) -> PageResult {
    let page = account_page(
        app,
        auth,
        Input {
            form: Some((which, f, errors)),
            notice: Some((which.to_owned(), notice)),
            new_token: None,
            saved: None,
        },
    )
    .await?;
    Ok(render_status(status, &page))
}
