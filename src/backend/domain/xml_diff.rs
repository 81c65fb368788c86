//! A line diff of two XML texts, shown before the XML editor saves: what the user is about
//! to change, like `diff -u` (removed lines `-`, added `+`, a few unchanged lines around).

/// One line of the diff, or a run of unchanged lines left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiffLine {
    /// Unchanged, shown as context: (line in the old text, line in the new text, text).
    Same(usize, usize, String),
    /// Only in the old text (line number in the old text).
    Removed(usize, String),
    /// Only in the new text (line number in the new text).
    Added(usize, String),
    /// This many unchanged lines are left out here.
    Skipped(usize),
}

impl DiffLine {
    /// The line as `diff -u` prints it.
    pub fn to_text(&self) -> String {
        match self {
            Self::Same(_, _, text) => format!(" {text}"),
            Self::Removed(_, text) => format!("-{text}"),
            Self::Added(_, text) => format!("+{text}"),
            Self::Skipped(count) => format!("@@ {count} @@"),
        }
    }

    pub fn is_change(&self) -> bool {
        matches!(self, Self::Removed(..) | Self::Added(..))
    }
}

/// Above this many cells the longest-common-subsequence table would take too much memory;
/// such a middle part is shown as removed, then added (still correct, just less precise).
const MAX_TABLE_CELLS: usize = 4_000_000;

/// The changes from `old` to `new`, with `context` unchanged lines around each change.
/// Identical texts give no lines at all.
pub fn line_diff(old: &str, new: &str, context: usize) -> Vec<DiffLine> {
    let old_lines: Vec<&str> = old.lines().collect();
    let new_lines: Vec<&str> = new.lines().collect();
    let full = full_diff(&old_lines, &new_lines);
    if !full.iter().any(DiffLine::is_change) {
        return Vec::new();
    }
    with_context(full, context)
}

/// Every line of both texts, marked same / removed / added.
fn full_diff(old: &[&str], new: &[&str]) -> Vec<DiffLine> {
    // Common head and tail first: an edit usually touches a few lines of a long text.
    let head = old.iter().zip(new).take_while(|(a, b)| a == b).count();
    let tail = old[head..]
        .iter()
        .rev()
        .zip(new[head..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let mut lines: Vec<DiffLine> = (0..head)
        .map(|index| DiffLine::Same(index + 1, index + 1, old[index].to_owned()))
        .collect();
    let old_middle = &old[head..old.len() - tail];
    let new_middle = &new[head..new.len() - tail];
    lines.extend(middle_diff(old_middle, new_middle, head));
    for offset in 0..tail {
        let old_index = old.len() - tail + offset;
        let new_index = new.len() - tail + offset;
        lines.push(DiffLine::Same(
            old_index + 1,
            new_index + 1,
            old[old_index].to_owned(),
        ));
    }
    lines
}

/// The longest common subsequence of the differing middle parts, which start after `skip`
/// equal lines.
fn middle_diff(old: &[&str], new: &[&str], skip: usize) -> Vec<DiffLine> {
    let (rows, columns) = (old.len(), new.len());
    if rows.saturating_mul(columns) > MAX_TABLE_CELLS {
        let removed = old
            .iter()
            .enumerate()
            .map(|(index, line)| DiffLine::Removed(skip + index + 1, (*line).to_owned()));
        let added = new
            .iter()
            .enumerate()
            .map(|(index, line)| DiffLine::Added(skip + index + 1, (*line).to_owned()));
        return removed.chain(added).collect();
    }
    // common[i][j]: length of the LCS of old[i..] and new[j..].
    let mut common = vec![0u32; (rows + 1) * (columns + 1)];
    let at = |i: usize, j: usize| i * (columns + 1) + j;
    for i in (0..rows).rev() {
        for j in (0..columns).rev() {
            common[at(i, j)] = if old[i] == new[j] {
                common[at(i + 1, j + 1)] + 1
            } else {
                common[at(i + 1, j)].max(common[at(i, j + 1)])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut lines = Vec::with_capacity(rows + columns);
    while i < rows || j < columns {
        if i < rows && j < columns && old[i] == new[j] {
            lines.push(DiffLine::Same(
                skip + i + 1,
                skip + j + 1,
                old[i].to_owned(),
            ));
            i += 1;
            j += 1;
        } else if i < rows && (j == columns || common[at(i + 1, j)] >= common[at(i, j + 1)]) {
            // Removals before additions, as `diff -u` shows a changed line.
            lines.push(DiffLine::Removed(skip + i + 1, old[i].to_owned()));
            i += 1;
        } else {
            lines.push(DiffLine::Added(skip + j + 1, new[j].to_owned()));
            j += 1;
        }
    }
    lines
}

/// Keeps `context` unchanged lines around changes; longer unchanged runs become `Skipped`.
fn with_context(full: Vec<DiffLine>, context: usize) -> Vec<DiffLine> {
    let change_at: Vec<usize> = (0..full.len()).filter(|&i| full[i].is_change()).collect();
    let near_change = |index: usize| {
        let position = change_at.partition_point(|&change| change < index);
        let after = change_at
            .get(position)
            .is_some_and(|&c| c - index <= context);
        let before = position > 0 && index - change_at[position - 1] <= context;
        after || before
    };
    let mut shown = Vec::new();
    let mut skipped = 0;
    for (index, line) in full.into_iter().enumerate() {
        if line.is_change() || near_change(index) {
            if skipped > 0 {
                shown.push(DiffLine::Skipped(skipped));
                skipped = 0;
            }
            shown.push(line);
        } else {
            skipped += 1;
        }
    }
    if skipped > 0 {
        shown.push(DiffLine::Skipped(skipped));
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(lines: &[DiffLine]) -> Vec<String> {
        lines.iter().map(DiffLine::to_text).collect()
    }

    #[test]
    fn identical_texts_have_no_diff() {
        assert!(line_diff("<a>\n<b/>\n</a>\n", "<a>\n<b/>\n</a>\n", 3).is_empty());
        assert!(line_diff("", "", 3).is_empty());
    }

    #[test]
    fn a_changed_line_is_removed_then_added_with_context() {
        let old = "<domain>\n  <name>a</name>\n  <memory>1</memory>\n  <vcpu>1</vcpu>\n</domain>";
        let new = old.replace("<memory>1", "<memory>2");
        assert_eq!(
            texts(&line_diff(old, &new, 1)),
            [
                "@@ 1 @@",
                "   <name>a</name>",
                "-  <memory>1</memory>",
                "+  <memory>2</memory>",
                "   <vcpu>1</vcpu>",
                "@@ 1 @@",
            ]
        );
    }

    #[test]
    fn line_numbers_point_into_each_text() {
        let old = "a\nb\nc\nd";
        let new = "a\nx\nb\nd";
        let diff = line_diff(old, new, 0);
        assert_eq!(
            diff,
            [
                DiffLine::Skipped(1),
                DiffLine::Added(2, "x".into()),
                DiffLine::Skipped(1),
                DiffLine::Removed(3, "c".into()),
                DiffLine::Skipped(1),
            ]
        );
    }

    #[test]
    fn insertions_and_deletions_at_the_ends() {
        assert_eq!(
            texts(&line_diff("a\nb", "z\na\nb\nc", 5)),
            ["+z", " a", " b", "+c"]
        );
        assert_eq!(texts(&line_diff("a\nb\nc", "b", 5)), ["-a", " b", "-c"]);
        assert_eq!(texts(&line_diff("", "a", 5)), ["+a"]);
    }

    #[test]
    fn close_changes_share_their_context() {
        let old = "1\n2\n3\n4\n5\n6\n7\n8\n9";
        let new = "1\n2\nX\n4\n5\nY\n7\n8\n9";
        let diff = texts(&line_diff(old, new, 2));
        assert_eq!(
            diff,
            [" 1", " 2", "-3", "+X", " 4", " 5", "-6", "+Y", " 7", " 8", "@@ 1 @@"]
        );
    }

    #[test]
    fn huge_rewrites_stay_correct_without_the_table() {
        let old: String = (0..2500).map(|i| format!("old {i}\n")).collect();
        let new: String = (0..2500).map(|i| format!("new {i}\n")).collect();
        let diff = line_diff(&old, &new, 3);
        assert_eq!(diff.iter().filter(|line| line.is_change()).count(), 5000);
    }
}
