//! The lead worker's overview of their organisation (`tsunagu_app::caseload`) as JSON.

use axum::Json;
use axum::extract::State;
pub use tsunagu_app::caseload::{Caseload, StageCount, StuckCase, WorkerLoad, overview};

use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiResult, ErrorBody};

#[utoipa::path(get, path = "/api/caseload",
    responses((status = 200, body = Caseload), (status = 403, body = ErrorBody)))]
pub async fn caseload(State(app): State<AppState>, auth: Auth) -> ApiResult<Json<Caseload>> {
    Ok(Json(overview(&app, &auth).await?))
}
