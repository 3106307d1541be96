//! The one paging rule of every list (tokens, accounts, the audit log; web app, HTTP APIs and CLI alike): a page
//! size from the list's choices, and a page from 1 to [`MAX_PAGE`]. Past that bound an offset could overflow the
//! database's 64-bit integers (a request for page 2^63 used to panic in the query builder); no list gets near it.

use crate::error::AppError;

/// The highest page number a list answers.
pub const MAX_PAGE: u64 = 1_000_000;

/// The row offset of `page` (from 1) at `per_page` rows, or a clear error on the field at fault. `noun` names the
/// rows ("tokens").
pub fn offset(page: u64, per_page: u64, sizes: &[u64], noun: &str) -> Result<u64, AppError> {
    if !sizes.contains(&per_page) {
        return Err(AppError::invalid("per_page", format!("Show {} {noun} per page.", choices(sizes))));
    }
    if !(1..=MAX_PAGE).contains(&page) {
        return Err(AppError::invalid("page", format!("Pages are numbered from 1 to {MAX_PAGE}.")));
    }
    Ok((page - 1) * per_page)
}

/// "10, 20, 50 or 100".
fn choices(sizes: &[u64]) -> String {
    let names: Vec<String> = sizes.iter().map(u64::to_string).collect();
    match names.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(result: Result<u64, AppError>) -> (String, String) {
        match result {
            Err(AppError::Invalid { field, message }) => (field, message),
            other => panic!("expected a field error, got {other:?}"),
        }
    }

    #[test]
    fn pages_run_from_one_to_the_bound_and_sizes_from_the_choices() {
        let sizes = [10, 20, 50, 100];
        assert_eq!(offset(1, 20, &sizes, "tokens"), Ok(0));
        assert_eq!(offset(3, 50, &sizes, "tokens"), Ok(100));
        assert_eq!(offset(MAX_PAGE, 100, &sizes, "tokens"), Ok((MAX_PAGE - 1) * 100));
        assert_eq!(
            field(offset(7, 7, &sizes, "tokens")),
            ("per_page".into(), "Show 10, 20, 50 or 100 tokens per page.".into())
        );
        for page in [0, MAX_PAGE + 1, i64::MAX as u64, i64::MAX as u64 + 1, u64::MAX] {
            let (name, message) = field(offset(page, 20, &sizes, "tokens"));
            assert_eq!(name, "page");
            assert!(message.contains("1 to 1000000"), "{message}");
        }
    }
}
