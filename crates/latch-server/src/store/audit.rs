//! The audit log: what happened to an account, written in the same transaction as the change.

use sqlx::AnyConnection;

pub async fn record(
    conn: &mut AnyConnection,
    user_id: Option<i64>,
    kind: &str,
    detail: &serde_json::Value,
    ip: Option<&str>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_events (user_id, kind, detail, ip, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(user_id)
    .bind(kind)
    .bind(detail.to_string())
    .bind(ip)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
