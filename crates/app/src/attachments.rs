//! Attachments: documents kept with a case (a scanned signed application or consent form, a
//! letter). The type is read from the file's own bytes (PDF, JPEG, PNG); the content is stored
//! with the case's `attachment_added` event in one transaction. A download passes the case's
//! access check, is checked against the recorded SHA-256 and is audited before a byte leaves.

use jiff::civil::Date;
use sha2::{Digest, Sha256};
use tsunagu_core::case::{self, Attachment, AttachmentKind, AttachmentType};
use tsunagu_core::policy::Access;
use tsunagu_core::{AttachmentId, CaseId, Refusal, ShortText};
use tsunagu_store::{AttachmentFile, StreamAppend};
use uuid::Uuid;

use crate::access::{self, CaseAccess};
use crate::{App, Caller, Error, Result, batch, ctx, expect_version};

/// The action name under which uploads are authorised and audited.
pub const ACTION: &str = "add_attachment";

/// A file as uploaded: the name the client gave and the bytes.
pub struct UploadedFile {
    pub filename: String,
    pub content: Vec<u8>,
}

/// What the uploader says of the document.
pub struct Description {
    pub kind: AttachmentKind,
    pub title: ShortText,
    pub received_on: Date,
    pub reason: Option<String>,
}

/// The case, if the caller may add documents to it; otherwise not found (a surface checks this
/// before it reads the body).
pub async fn access_for_upload(app: &App, caller: &Caller, id: CaseId) -> Result<CaseAccess> {
    access::case(app, caller, id, Access::Write).await
}

/// Adds the file to the case the caller may write (checked through [`access_for_upload`]):
/// the rules of `decide_attachment`, then the event and the content in one transaction with
/// the audit entry. Returns the new version.
pub async fn add(
    app: &App,
    caller: &Caller,
    id: CaseId,
    a: CaseAccess,
    expected_version: u64,
    about: Description,
    file: Option<UploadedFile>,
) -> Result<(u64, Attachment)> {
    let file = file
        .filter(|f| !f.content.is_empty())
        .ok_or(Refusal::AttachmentEmpty)?;
    expect_version(a.case.version, expected_version)?;
    let file_type = sniff(&file.content).ok_or(Refusal::AttachmentTypeNotAllowed)?;
    let sha256 = hex::encode(Sha256::digest(&file.content));
    let attachment = Attachment {
        id: AttachmentId(Uuid::now_v7()),
        kind: about.kind,
        title: about.title,
        filename: clean_filename(&file.filename, file_type)?,
        file_type,
        size: file.content.len() as u64,
        sha256: sha256.clone(),
        received_on: about.received_on,
    };
    let events = case::decide_attachment(
        &a.case.state,
        attachment.clone(),
        &ctx(app, caller, &a.person.consents),
    )?;
    let entry = caller
        .audit("case.command")
        .object("case", id)
        .subject(a.case.state.person_id)
        .basis(a.basis)
        .detail(ACTION);
    let mut batch = batch(
        caller,
        entry,
        about.reason,
        vec![StreamAppend::Case {
            id,
            expected_version,
            events,
        }],
    );
    batch.files.push(AttachmentFile {
        id: attachment.id,
        case_id: id,
        sha256,
        content: file.content,
    });
    let versions = app.store.append(batch).await?;
    Ok((
        versions.first().copied().unwrap_or(a.case.version),
        attachment,
    ))
}

/// The file's type by its content; the name and the browser's claim are not trusted.
pub fn sniff(content: &[u8]) -> Option<AttachmentType> {
    infer::get(content).and_then(|t| AttachmentType::from_mime(t.mime_type()))
}

/// The name to keep: the last path segment, without control characters, at most 100 chars;
/// a name of nothing but spaces becomes `attachment.pdf` (by type).
fn clean_filename(raw: &str, file_type: AttachmentType) -> Result<ShortText> {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let mut name: String = base.chars().filter(|c| !c.is_control()).take(100).collect();
    if name.trim().is_empty() {
        name = format!("attachment.{}", file_type.extension());
    }
    ShortText::parse(&name).map_err(|_| Error::internal())
}

/// A file to send: its description and its bytes, checked against the recorded hash.
pub struct Download {
    pub attachment: Attachment,
    pub content: Vec<u8>,
}

/// The file, only through the case's read access, checked against its hash, audited
/// (`attachment.download`) before it is returned.
pub async fn download(
    app: &App,
    caller: &Caller,
    id: CaseId,
    attachment: AttachmentId,
) -> Result<Download> {
    let a = access::case(app, caller, id, Access::Read).await?;
    let meta = a
        .case
        .state
        .attachments
        .iter()
        .find(|x| x.id == attachment)
        .cloned()
        .ok_or_else(Error::not_found)?;
    let Some(content) = app
        .store
        .attachment_content(caller.actor.tenant_id, id, attachment)
        .await?
    else {
        tracing::error!(%attachment, "attachment content missing");
        return Err(Error::internal());
    };
    if hex::encode(Sha256::digest(&content)) != meta.sha256 {
        tracing::error!(%attachment, "attachment content does not match its hash");
        return Err(Error::internal());
    }
    app.store
        .audit(&[caller
            .audit("attachment.download")
            .object("case", id)
            .subject(a.case.state.person_id)
            .basis(a.basis)
            .detail(attachment.to_string())])
        .await?;
    Ok(Download {
        attachment: meta,
        content,
    })
}
