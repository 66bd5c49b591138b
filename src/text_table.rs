//! Text rows aligned in columns, for `status` and `history`.

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
            pad(&mut line, cell, widths[c], right(c));
            line.push_str("  ");
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Appends `cell` to `line`, padded with spaces to `width` characters.
/// By hand, not with `{:width$}`: a width above 65535 (a name that long in
/// a file) makes the formatter panic (found by the fuzz tests).
pub fn pad(line: &mut String, cell: &str, width: usize, right: bool) {
    let fill = " ".repeat(width.saturating_sub(cell.chars().count()));
    if right {
        line.push_str(&fill);
        line.push_str(cell);
    } else {
        line.push_str(cell);
        line.push_str(&fill);
    }
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

    #[test]
    fn a_cell_wider_than_the_formatter_allows_is_padded() {
        let long = "x".repeat(70_000);
        let rows = vec![
            vec![long.clone(), "1".to_string()],
            vec!["a".to_string(), "22".to_string()],
        ];
        let text = table(&rows, |c| c == 1);
        assert_eq!(
            text.lines().nth(1),
            Some(format!("a{}  22", " ".repeat(69_999)).as_str())
        );
    }
}
