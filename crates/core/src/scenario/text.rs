//! A scenario's text as links carry it (DEFLATE, then base64url, with a bound on what
//! a hostile link may inflate to) and as a reviewer edits it (moving one line).

use crate::codec::{decode_b64, encode_b64};

/// The longest scenario text a link may carry once unpacked: far beyond any real file,
/// small enough that a hostile link cannot make the page inflate gigabytes.
pub const MAX_PACKED_TEXT: usize = 64 * 1024;

/// A scenario's text for a URL: raw DEFLATE, then base64url without padding, so a link
/// carries an edited file in a few hundred characters and needs no escaping.
pub fn pack(text: &str) -> String {
    encode_b64(&miniz_oxide::deflate::compress_to_vec(text.as_bytes(), 9))
}

/// The text [`pack`] made, or why this is not one.
pub fn unpack(packed: &str) -> Result<String, String> {
    let bytes = decode_b64(packed.trim()).ok_or("it is not base64url (A-Z a-z 0-9 - _)")?;
    let text = miniz_oxide::inflate::decompress_to_vec_with_limit(&bytes, MAX_PACKED_TEXT)
        .map_err(|e| match e.status {
            miniz_oxide::inflate::TINFLStatus::HasMoreOutput => {
                format!("it unpacks to more than {MAX_PACKED_TEXT} bytes")
            }
            _ => "it is not a packed scenario (truncated or mistyped?)".to_string(),
        })?;
    String::from_utf8(text).map_err(|_| "it unpacks to text that is not UTF-8".to_string())
}

/// A reviewer's edit: the first line whose text (trimmed) is `line` moved to stand just
/// before the first line that is `before`. `None` if either is missing. The edit the
/// seed thread is about is `move_line(merged, "spin_unlock();", "pmdp_get_lockless_sync();")`.
pub fn move_line(src: &str, line: &str, before: &str) -> Option<String> {
    let mut lines: Vec<&str> = src.lines().collect();
    let from = lines.iter().position(|l| l.trim() == line)?;
    let moved = lines.remove(from);
    let to = lines.iter().position(|l| l.trim() == before)?;
    lines.insert(to, moved);
    let mut out = lines.join("\n");
    if src.ends_with('\n') {
        out.push('\n');
    }
    Some(out)
}

/// An editor's Alt+Up / Alt+Down: the lines the selection `start..end` (byte offsets)
/// touches swap with the line above (`up`) or below, and the selection moves with them.
/// `None` at the top or bottom. A selection ending at the very start of a line does not
/// take that line, as in most editors.
pub fn move_selected_lines(
    src: &str,
    start: usize,
    end: usize,
    up: bool,
) -> Option<(String, usize, usize)> {
    let (start, end) = (start.min(end).min(src.len()), start.max(end).min(src.len()));
    let line_start = |at: usize| src[..at].rfind('\n').map_or(0, |i| i + 1);
    let line_end = |at: usize| src[at..].find('\n').map_or(src.len(), |i| at + i);
    let first = line_start(start);
    let last_at = if end > start && end == line_start(end) {
        end - 1
    } else {
        end
    };
    let last = line_end(last_at.max(first));
    let block = &src[first..last];
    if up {
        if first == 0 {
            return None;
        }
        let above = line_start(first - 1);
        let other = &src[above..first - 1];
        let text = format!("{}{block}\n{other}{}", &src[..above], &src[last..]);
        let shift = other.len() + 1;
        Some((text, start - shift, end - shift))
    } else {
        if last == src.len() {
            return None;
        }
        let below_end = line_end(last + 1);
        let other = &src[last + 1..below_end];
        let text = format!("{}{other}\n{block}{}", &src[..first], &src[below_end..]);
        let shift = other.len() + 1;
        // A selection that ended at the start of the line below ends with the text now.
        let n = text.len();
        Some((text, (start + shift).min(n), (end + shift).min(n)))
    }
}

#[cfg(test)]
mod move_tests {
    use super::move_selected_lines as mv;

    #[test]
    fn a_line_moves_up_and_down_with_the_caret() {
        let src = "a\nbb\nccc\n";
        // The caret in "bb" (offset 3): up swaps it with "a".
        assert_eq!(mv(src, 3, 3, true), Some(("bb\na\nccc\n".into(), 1, 1)));
        assert_eq!(mv(src, 3, 3, false), Some(("a\nccc\nbb\n".into(), 7, 7)));
        // The first line cannot go up; the last real line swaps with the empty one
        // after the final newline only if asked to go down past it.
        assert_eq!(mv(src, 0, 0, true), None);
        assert_eq!(mv("a\nb", 2, 2, false), None);
        assert_eq!(mv("a\nb", 2, 2, true), Some(("b\na".into(), 0, 0)));
    }

    #[test]
    fn a_selection_moves_every_line_it_touches() {
        let src = "0\n1\n2\n3\n";
        // "1\n2" selected (from inside 1 to inside 2): both move up past 0.
        assert_eq!(mv(src, 2, 5, true), Some(("1\n2\n0\n3\n".into(), 0, 3)));
        assert_eq!(mv(src, 2, 5, false), Some(("0\n3\n1\n2\n".into(), 4, 7)));
        // A selection ending at the start of line 3 does not take line 3.
        assert_eq!(mv(src, 2, 6, false), Some(("0\n3\n1\n2\n".into(), 4, 8)));
        assert_eq!(mv("a\nb", 0, 2, false), Some(("b\na".into(), 2, 3)));
        // Out-of-range offsets are clamped, never a panic.
        assert_eq!(mv(src, 99, 99, true), Some(("0\n1\n2\n\n3".into(), 6, 6)));
    }
}
