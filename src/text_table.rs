//! Text rows aligned in columns, for `status` and `history`.

use std::fmt::Write as _;

/// Text rows aligned in columns two spaces apart; `right(c)` right-aligns
/// column `c`. Widths count characters, which is right for most names.
pub fn table(rows: &[Vec<String>], right: impl Fn(usize) -> bool) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            let width = widths[c];
            if right(c) {
                let _ = write!(line, "{cell:>width$}  ");
            } else {
                let _ = write!(line, "{cell:<width$}  ");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_columns_by_characters() {
        let rows = vec![
            vec!["Zoë".to_string(), "1".to_string()],
            vec!["Bartholomew".to_string(), "12".to_string()],
        ];
        assert_eq!(table(&rows, |c| c == 1), "Zoë           1\nBartholomew  12\n");
    }
}
