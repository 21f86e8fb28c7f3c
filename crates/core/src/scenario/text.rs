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
