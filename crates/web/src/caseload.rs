//! The lead worker's overview of their organisation (`tsunagu_app::caseload`) as JSON.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
pub use tsunagu_app::caseload::{
    Caseload, StageCount, StuckCase, WORKERS_SHOWN, WorkerLoad, overview,
};

use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::ApiQuery;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CaseloadQuery {
    /// Where the page of workers starts (0, 50, 100, …; the page holds at most 50).
    pub offset: Option<u32>,
}

#[utoipa::path(get, path = "/api/caseload", params(CaseloadQuery),
    responses((status = 200, body = Caseload), (status = 403, body = ErrorBody)))]
pub async fn caseload(
    State(app): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<CaseloadQuery>,
) -> ApiResult<Json<Caseload>> {
    Ok(Json(overview(&app, &auth, q.offset.unwrap_or(0)).await?))
}
