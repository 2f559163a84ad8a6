//! Comparing what a call returned with the error code a case expects of it.

/// `Ok` if `got` (an error code or none) is what `want` names.
pub(super) fn expect_call(
    what: &str,
    got: Option<String>,
    want: Option<&String>,
) -> Result<(), String> {
    match (got, want) {
        (None, None) => Ok(()),
        (Some(g), Some(w)) if &g == w => Ok(()),
        (g, w) => Err(format!(
            "{what}: expected {}, got {}",
            w.map_or("success".to_owned(), |w| format!("error {w}")),
            g.map_or("success".to_owned(), |g| format!("error {g}")),
        )),
    }
}
