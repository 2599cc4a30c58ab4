//! What counts as a secret, and how text a server or user controls is made
//! safe to show: the one place every crate of the stack asks.
//!
//! - [`is_secret_key`]: a JSON key or option name whose value is a secret,
//!   by pattern (`password`, `*_password`, `secret`, `*_secret`,
//!   `private_key`, `passphrase`, Barbican's `payload`, ...), not a closed list.
//! - [`is_sensitive_header`]: a header that carries a credential (tokens,
//!   `Authorization`, cookies, Swift temp-URL keys).
//! - [`redact_url`]: `user:password@` and secret query values (`temp_url_sig`,
//!   `password=...`) replaced by `***`.
//! - [`escape_controls`] and [`display_safe`]: control characters (C0, DEL,
//!   C1, ESC) shown escaped and over-long values cut, so a server cannot
//!   forge a log line or drive a terminal.
//!
//! ```
//! use apiclient_errors::redact::{display_safe, is_secret_key, redact_url};
//!
//! assert!(is_secret_key("new_password") && is_secret_key("client_secret") && is_secret_key("payload"));
//! assert!(!is_secret_key("name"));
//! assert_eq!(
//!     redact_url("https://bob:hunter2@swift/v1/o?temp_url_sig=abc&temp_url_expires=1"),
//!     "https://bob:***@swift/v1/o?temp_url_sig=***&temp_url_expires=1"
//! );
//! assert_eq!(display_safe("req-1\n\x1b[31mforged", 100), "req-1\\n\\x1b[31mforged");
//! ```

use std::borrow::Cow;

/// Whether a JSON key or option name holds a secret (case-insensitive).
///
/// Matches `password` and `*password` (`new_password`, `adminPass` too),
/// `secret` and `*_secret`/`*secret`, `private_key`, `passphrase`,
/// `passcode`, Barbican's `payload`, OAuth `access_token`/`refresh_token`,
/// the OAuth grants' `device_code` and PKCE `code_verifier`, `token_id`,
/// `auth_key`/`*_key` for Swift temp-URL keys, and
/// `temp_url_sig`. A bare `token` is a secret only as a scalar: callers
/// decide that (see the curl log).
pub fn is_secret_key(name: &str) -> bool {
    let k = name.to_ascii_lowercase();
    let k = k.replace('-', "_");
    k.contains("password")
        || k == "adminpass"
        || k.ends_with("secret")
        || k.contains("private_key")
        || k.contains("passphrase")
        || k == "passcode"
        || k == "payload"
        || k == "access_token"
        || k == "refresh_token"
        || k == "id_token"
        || k == "device_code"
        || k == "code_verifier"
        || k == "token_id"
        || k == "temp_url_sig"
        || k.contains("temp_url_key")
}

/// Headers whose values are credentials (lowercase).
const SENSITIVE_HEADERS: &[&str] = &[
    "x-auth-token",
    "x-subject-token",
    "x-service-token",
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "openstack-auth-receipt",
    "x-account-meta-temp-url-key",
    "x-account-meta-temp-url-key-2",
    "x-container-meta-temp-url-key",
    "x-container-meta-temp-url-key-2",
];

/// Whether a header carries a credential (case-insensitive).
pub fn is_sensitive_header(name: &str) -> bool {
    SENSITIVE_HEADERS
        .iter()
        .any(|h| h.eq_ignore_ascii_case(name))
}

/// `url` with the password of `user:password@` and the values of secret
/// query parameters replaced by `***`. Text that is not a URL comes back
/// unchanged (apart from the same replacements where they apply).
pub fn redact_url(url: &str) -> Cow<'_, str> {
    let mut out = Cow::Borrowed(url);
    // user:password@ in the authority.
    if let Some(scheme_end) = url.find("://") {
        let rest = &url[scheme_end + 3..];
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let authority = &rest[..authority_end];
        if let Some(at) = authority.rfind('@') {
            let userinfo = &authority[..at];
            if let Some(colon) = userinfo.find(':') {
                let start = scheme_end + 3 + colon + 1;
                let end = scheme_end + 3 + at;
                out = Cow::Owned(format!("{}***{}", &url[..start], &url[end..]));
            }
        }
    }
    // Secret query values.
    let Some(q) = out.find('?') else { return out };
    let (head, query) = out.split_at(q + 1);
    let (query, fragment) = match query.find('#') {
        Some(h) => query.split_at(h),
        None => (query, ""),
    };
    let mut changed = false;
    let parts: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) if !v.is_empty() && is_secret_key(k) => {
                changed = true;
                format!("{k}=***")
            }
            _ => pair.to_string(),
        })
        .collect();
    if !changed {
        return out;
    }
    Cow::Owned(format!("{head}{}{fragment}", parts.join("&")))
}

/// Whether `c` is a control character a terminal or a log reader may act
/// on: C0 (including CR, LF, TAB and ESC), DEL, or C1.
pub fn is_control(c: char) -> bool {
    c.is_control()
}

/// Whether `s` holds a control character (`char::is_control`: C0, DEL, C1),
/// by its UTF-8 bytes: C0 and DEL are single bytes, C1 is `0xC2 0x80..=0x9F`.
fn has_control(s: &str) -> bool {
    let b = s.as_bytes();
    // a branch-free pass the compiler vectorizes; the exact check only when
    // a candidate byte shows up
    let candidate = b.iter().fold(false, |hit, &c| {
        hit | (c < 0x20) | (c == 0x7f) | (c == 0xc2)
    });
    candidate
        && b.iter().enumerate().any(|(i, &c)| {
            c < 0x20
                || c == 0x7f
                || (c == 0xc2 && b.get(i + 1).is_some_and(|n| (0x80..=0x9f).contains(n)))
        })
}

/// `s` with every control character shown escaped (`\n`, `\r`, `\t`,
/// `\x1b`, `\u{85}`): one line, nothing a terminal interprets.
pub fn escape_controls(s: &str) -> Cow<'_, str> {
    if !has_control(s) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x80 && is_control(c) => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if is_control(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// `s` made safe to print on one line: controls escaped
/// ([`escape_controls`]) and cut to `max_chars` characters with `…` when
/// longer.
pub fn display_safe(s: &str, max_chars: usize) -> Cow<'_, str> {
    let escaped = escape_controls(s);
    if escaped.chars().count() <= max_chars {
        return escaped;
    }
    let cut: String = escaped.chars().take(max_chars.saturating_sub(1)).collect();
    Cow::Owned(format!("{cut}…"))
}

#[cfg(test)]
mod tests {

    #[test]
    fn control_bytes_agree_with_char_is_control() {
        for t in [
            "plain",
            "tab\there",
            "nl\n",
            "del\x7f",
            "c1 \u{85} nel",
            "é ü 中 \u{a0}",
            "\u{9f}",
            "\u{a0}\u{80}",
        ] {
            assert_eq!(has_control(t), t.chars().any(is_control), "{t:?}");
        }
    }

    use super::*;

    #[test]
    fn secret_keys_by_pattern() {
        for k in [
            "password",
            "original_password",
            "new_password",
            "adminPass",
            "db_password",
            "secret",
            "application_credential_secret",
            "client_secret",
            "private_key",
            "ssh_private_key",
            "passphrase",
            "payload",
            "passcode",
            "access_token",
            "temp_url_sig",
            "X-Account-Meta-Temp-URL-Key",
        ] {
            assert!(is_secret_key(k), "{k}");
        }
        for k in ["name", "id", "token", "user", "payload_content_type", "key"] {
            assert!(!is_secret_key(k), "{k}");
        }
    }

    #[test]
    fn urls_lose_passwords_and_signatures() {
        assert_eq!(
            redact_url("http://u:p@proxy:3128"),
            "http://u:***@proxy:3128"
        );
        assert_eq!(redact_url("http://u@h/x"), "http://u@h/x");
        assert_eq!(
            redact_url("https://h/v1/a/c/o?temp_url_sig=deadbeef&temp_url_expires=9#frag"),
            "https://h/v1/a/c/o?temp_url_sig=***&temp_url_expires=9#frag"
        );
        assert_eq!(redact_url("/x?password=pw"), "/x?password=***");
        assert!(matches!(redact_url("http://h/x?a=1"), Cow::Borrowed(_)));
        // user:pass in the path is not an authority
        assert_eq!(redact_url("http://h/a:b@c"), "http://h/a:b@c");
    }

    #[test]
    fn controls_escaped_and_long_values_cut() {
        assert_eq!(
            escape_controls("a\r\nb\x7f\u{9b}c"),
            "a\\r\\nb\\x7f\\u{9b}c"
        );
        assert_eq!(display_safe(&"x".repeat(10), 5), "xxxx…");
        assert_eq!(display_safe("é", 1), "é");
    }
}
