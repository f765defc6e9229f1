//! The signed PDFs of usage copies (and their rendered previews), kept because the
//! enterprise's signature cannot be made again without its password.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::{Store, StoreError, Tx, instant};

/// A stored document.
#[derive(sqlx::FromRow)]
pub struct StoredDocument {
    pub pdf: Vec<u8>,
    pub png: Option<Vec<u8>>,
}

/// Stores a copy's signed PDF inside the transaction that issues the copy.
pub(super) async fn insert_document(
    tx: &mut Tx,
    copy_id: u64,
    pdf: &[u8],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO copy_documents (copy_id, pdf, sha256, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(copy_id as i64)
    .bind(pdf.to_vec())
    .bind(hex::encode(Sha256::digest(pdf)))
    .bind(instant(now))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    /// Stores the signed PDF of a copy issued earlier (the demo seed renders its documents
    /// after the register is built; requests store them with the copy, see `issue_copy_with`).
    pub async fn save_document(
        &self,
        copy_id: u64,
        pdf: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        insert_document(&mut tx, copy_id, pdf, now).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn document(&self, copy_id: u64) -> Result<Option<StoredDocument>, StoreError> {
        Ok(sqlx::query_as::<_, StoredDocument>(
            "SELECT pdf, png FROM copy_documents WHERE copy_id = $1",
        )
        .bind(copy_id as i64)
        .fetch_optional(self.pool())
        .await?)
    }

    /// Keeps a rendered preview next to its stored PDF.
    pub async fn save_preview(&self, copy_id: u64, png: &[u8]) -> Result<(), StoreError> {
        sqlx::query("UPDATE copy_documents SET png = $1 WHERE copy_id = $2")
            .bind(png.to_vec())
            .bind(copy_id as i64)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
