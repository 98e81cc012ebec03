//! Text in CSV files that people open in spreadsheets.
//!
//! Spreadsheets run a cell that starts with `=`, `+`, `-` or `@` as a formula; a
//! leading apostrophe makes it text (OWASP "CSV injection"). Every CSV Tenantry
//! writes goes through [`csv_safe`]; the lead import undoes it with [`csv_unsafe`].

/// First characters that make a spreadsheet run a cell as a formula.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// The cell as a spreadsheet shows it as text.
pub fn csv_safe(value: &str) -> String {
    if value.starts_with(FORMULA_STARTS) {
        format!("'{value}")
    } else {
        value.to_owned()
    }
}

/// The value [`csv_safe`] was given.
pub fn csv_unsafe(value: &str) -> &str {
    match value.strip_prefix('\'') {
        Some(rest) if rest.starts_with(FORMULA_STARTS) => rest,
        _ => value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_neutralised_and_restored() {
        assert_eq!(csv_safe("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(csv_unsafe("'=SUM(A1)"), "=SUM(A1)");
        assert_eq!(csv_safe("Ada"), "Ada");
        assert_eq!(csv_unsafe("'quoted"), "'quoted");
    }
}
