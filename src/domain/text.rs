//! Text typed into a form: one line (names, numbers, addresses) or several (a problem
//! description, a comment). Each parses into a value with a length range, and control
//! characters are refused, so nothing stored carries a NUL, a stray CR or LF in a name, or an
//! invisible change of writing direction (issue 12: accepted but wrong).

use std::ops::RangeInclusive;

use super::DomainError;

/// What a form says about a control character.
pub const CONTROL_MESSAGE: &str =
    "Remove the control characters (such as line breaks or NUL) from the text.";

/// A control character: Unicode's control category (NUL, CR, LF, tab, DEL, C1), the line and
/// paragraph separators, and the marks that change the direction text is shown in.
pub fn is_control(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200E}' | '\u{200F}' | '\u{2028}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}'
        )
}

/// One line of text, trimmed, with `chars` characters; any control character anywhere is
/// refused. `message` says what the field needs when its length is out of range.
pub fn line(
    field: &'static str,
    text: &str,
    chars: RangeInclusive<usize>,
    message: &str,
) -> Result<String, DomainError> {
    if text.chars().any(is_control) {
        return Err(DomainError::invalid(field, CONTROL_MESSAGE));
    }
    let text = text.trim();
    if !chars.contains(&text.chars().count()) {
        return Err(DomainError::invalid(field, message));
    }
    Ok(text.to_owned())
}

/// What a search box, a filter or a page's key holds, trimmed: any text but a control
/// character. No stored name or sign-in name holds one (`line` refuses them), and PostgreSQL
/// refuses a NUL in a query's text outright, so it is refused here rather than failing there.
pub fn search(field: &'static str, text: &str) -> Result<String, DomainError> {
    if text.chars().any(is_control) {
        return Err(DomainError::invalid(field, CONTROL_MESSAGE));
    }
    Ok(text.trim().to_owned())
}

/// Several lines, trimmed: line breaks (a browser sends a text area's as CR LF; they are kept
/// as LF) and tabs are kept, any other control character is refused. At least `min`
/// characters (`too_short` otherwise), at most `max`.
pub fn paragraphs(
    field: &'static str,
    text: &str,
    min: usize,
    max: usize,
    too_short: &str,
) -> Result<String, DomainError> {
    let text = text.replace("\r\n", "\n");
    if text
        .chars()
        .any(|c| c != '\n' && c != '\t' && is_control(c))
    {
        return Err(DomainError::invalid(field, CONTROL_MESSAGE));
    }
    let text = text.trim();
    let chars = text.chars().count();
    if chars < min {
        return Err(DomainError::invalid(field, too_short));
    }
    if chars > max {
        return Err(DomainError::invalid(
            field,
            format!("Keep it under {max} characters (this has {chars})."),
        ));
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_refuses_every_control_character_and_keeps_the_rest() {
        for bad in [
            "Ann\0",
            "Ann\r\nLee",
            "Ann\nLee",
            "A\tB",
            "\u{7f}x",
            "a\u{202E}b",
            "\u{85}",
        ] {
            assert_eq!(
                line("name", bad, 1..=120, "Enter a name."),
                Err(DomainError::invalid("name", CONTROL_MESSAGE)),
                "{bad:?}"
            );
        }
        assert_eq!(
            line("name", "  Zoë O'Brien ", 1..=120, "m"),
            Ok("Zoë O'Brien".into())
        );
        assert!(line("name", "   ", 1..=120, "m").is_err());
        assert!(line("name", &"x".repeat(121), 1..=120, "m").is_err());
    }

    #[test]
    fn paragraphs_keep_line_breaks_and_tabs_only() {
        assert_eq!(
            paragraphs("d", "One\r\n\tTwo\n", 1, 100, "m"),
            Ok("One\n\tTwo".into())
        );
        for bad in ["One\0", "One\rTwo", "a\u{1b}[31m", "a\u{2028}b"] {
            assert_eq!(
                paragraphs("d", bad, 1, 100, "m"),
                Err(DomainError::invalid("d", CONTROL_MESSAGE)),
                "{bad:?}"
            );
        }
    }
}
