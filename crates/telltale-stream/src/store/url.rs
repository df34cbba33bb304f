//! Database URLs: the dialect a URL names, the URL sqlx opens, and passwords hidden for messages.

use super::types::Dialect;
use crate::error::{Error, Result};

/// The dialect of `url` and the URL sqlx opens.
pub(super) fn normalise(url: &str) -> Result<(Dialect, String)> {
    let bad = |reason: &str| Error::config(format!("database URL {:?}", redact(url)), reason);
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    match scheme {
        "" | "sqlite" => {
            let path = rest.strip_prefix("sqlite:").unwrap_or(rest);
            if path.is_empty() {
                return Err(bad("names no file"));
            }
            let query = if path.contains('?') { "" } else { "?mode=rwc" };
            Ok((Dialect::Sqlite, format!("sqlite://{path}{query}")))
        }
        "postgres" | "postgresql" => Ok((Dialect::Postgres, format!("postgres://{rest}"))),
        "mysql" | "mariadb" => Ok((Dialect::MySql, format!("mysql://{rest}"))),
        _ => Err(bad("use sqlite://FILE, postgres://… or mysql://…")),
    }
}

/// `url` with the password replaced by `***`.
pub fn redact(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").map_or(("", url), |(s, r)| (s, r));
    let (auth, host) = match rest.rsplit_once('@') {
        Some(parts) => parts,
        None => return url.to_owned(),
    };
    let scheme = if scheme.is_empty() { String::new() } else { format!("{scheme}://") };
    match auth.split_once(':') {
        Some((user, _)) => format!("{scheme}{user}:***@{host}"),
        None => url.to_owned(),
    }
}
