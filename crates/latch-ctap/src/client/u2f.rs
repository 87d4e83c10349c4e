//! TODO
/// A human message for a U2F status word.
pub fn status_word_message(sw: u16) -> &'static str {
    let _ = sw;
    ""
}
