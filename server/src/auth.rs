//! Who is calling. Each audience's nest is authenticated by one layer here
//! ([`require_issuer`], [`require_enterprise`], [`require_copy_reader`]); the layer puts the
//! caller into the request's extensions and handlers read it with the matching extractor.
//! A handler under no such layer that asks for a caller is refused: authentication fails
//! closed, whatever the route is called.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use secrecy::ExposeSecret;
use sha2::Digest;
use subtle::ConstantTimeEq;

use crate::app::AppState;
use crate::error::AppError;
use crate::pdf::credentials::{EnterpriseAccount, TOKEN_PREFIX};

/// Issuer staff (发证机关工作人员), authenticated by the issuer API token; carries who acted,
/// for the event log.
#[derive(Debug, Clone)]
pub struct IssuerStaff {
    pub actor: String,
}

/// An enterprise (企业) authenticated by its API token (`Authorization: Bearer zzent_…`),
/// issued at enrolment of its digital certificate.
#[derive(Debug, Clone)]
pub struct AuthenticatedEnterprise(pub EnterpriseAccount);

/// Who may download a copy's files: the issuer (any copy) or an enterprise (its own copies).
#[derive(Debug, Clone)]
pub enum CopyReader {
    Issuer(IssuerStaff),
    Enterprise(EnterpriseAccount),
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

fn issuer_staff(headers: &HeaderMap, state: &AppState) -> Result<IssuerStaff, AppError> {
    let presented = bearer(headers).ok_or(AppError::Unauthorized)?;
    // Digests first, so the comparison neither leaks the token's length nor where it differs.
    let a = sha2::Sha256::digest(presented.as_bytes());
    let b = sha2::Sha256::digest(state.issuer_token.expose_secret().as_bytes());
    if !bool::from(a.ct_eq(&b)) {
        return Err(AppError::Unauthorized);
    }
    let operator = headers
        .get("x-zizhi-operator")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().chars().take(30).collect::<String>())
        .filter(|v| !v.is_empty());
    Ok(IssuerStaff {
        actor: match operator {
            Some(op) => format!("issuer:{op}"),
            None => "issuer".into(),
        },
    })
}

async fn enterprise(headers: &HeaderMap, state: &AppState) -> Result<EnterpriseAccount, AppError> {
    let token = bearer(headers)
        .filter(|t| t.starts_with(TOKEN_PREFIX))
        .ok_or(AppError::Unauthorized)?;
    // The lookup is by the token's SHA-256, so no timing channel reveals stored tokens.
    state
        .store
        .enterprise_by_token(token)
        .await?
        .ok_or(AppError::Unauthorized)
}

/// Layer of the issuer nest.
pub async fn require_issuer(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Result<Response, AppError> {
    let staff = issuer_staff(req.headers(), &state)?;
    req.extensions_mut().insert(staff);
    Ok(next.run(req).await)
}

/// Layer of the enterprise nest.
pub async fn require_enterprise(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Result<Response, AppError> {
    let account = enterprise(req.headers(), &state).await?;
    req.extensions_mut()
        .insert(AuthenticatedEnterprise(account));
    Ok(next.run(req).await)
}

/// Layer of the copy files (PDF, preview): an enterprise token names an enterprise, anything
/// else must be the issuer's token.
pub async fn require_copy_reader(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Result<Response, AppError> {
    let is_enterprise = bearer(req.headers()).is_some_and(|t| t.starts_with(TOKEN_PREFIX));
    let reader = if is_enterprise {
        CopyReader::Enterprise(enterprise(req.headers(), &state).await?)
    } else {
        CopyReader::Issuer(issuer_staff(req.headers(), &state)?)
    };
    req.extensions_mut().insert(reader);
    Ok(next.run(req).await)
}

/// Reads the caller a layer above authenticated; refused when no layer did.
fn authenticated<T: Clone + Send + Sync + 'static>(parts: &Parts) -> Result<T, AppError> {
    parts
        .extensions
        .get::<T>()
        .cloned()
        .ok_or(AppError::Unauthorized)
}

impl<S: Send + Sync> FromRequestParts<S> for IssuerStaff {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        authenticated(parts)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for AuthenticatedEnterprise {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        authenticated(parts)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CopyReader {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        authenticated(parts)
    }
}
