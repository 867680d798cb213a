//! HTML / XML character references (`text/html`, `application/xhtml+xml`, XML): decimal
//! (`&#62;`), hex (`&#x3e;`, terminated by `;` or, as browsers accept, by the first non-digit)
//! and the named references a command or a key is written with (`&gt; &lt; &amp; &quot; &apos;
//! &nbsp;`, punctuation such as `&sol; &verbar; &dollar; &lpar;`, quotes and dashes). A named
//! reference needs its `;`. A reference split across chunks is carried over by the normaliser
//! (none is longer than 12 bytes). Unknown or invalid references stay as they are.

use super::text::Escape;

/// Longest reference decoded, in bytes (`&#x0010FFFF;`).
pub(super) const MAX_REFERENCE: usize = 12;

/// The named references decoded, by name (a `match`: compiled to a few comparisons, not a
/// scan of the table per reference).
fn named(name: &[u8]) -> Option<char> {
    Some(match name {
        b"amp" => '&',
        b"lt" => '<',
        b"gt" => '>',
        b"quot" => '"',
        b"apos" => '\'',
        b"nbsp" => ' ',
        b"Tab" => '\t',
        b"NewLine" => '\n',
        b"excl" => '!',
        b"num" => '#',
        b"dollar" => '$',
        b"percnt" => '%',
        b"lpar" => '(',
        b"rpar" => ')',
        b"ast" => '*',
        b"midast" => '*',
        b"plus" => '+',
        b"comma" => ',',
        b"period" => '.',
        b"sol" => '/',
        b"colon" => ':',
        b"semi" => ';',
        b"equals" => '=',
        b"quest" => '?',
        b"commat" => '@',
        b"lsqb" => '[',
        b"lbrack" => '[',
        b"bsol" => '\\',
        b"rsqb" => ']',
        b"rbrack" => ']',
        b"Hat" => '^',
        b"lowbar" => '_',
        b"grave" => '`',
        b"lcub" => '{',
        b"lbrace" => '{',
        b"verbar" => '|',
        b"vert" => '|',
        b"VerticalLine" => '|',
        b"rcub" => '}',
        b"rbrace" => '}',
        b"tilde" => '~',
        b"hyphen" => '-',
        b"dash" => '-',
        b"ndash" => '\u{2013}',
        b"mdash" => '\u{2014}',
        b"lsquo" => '\u{2018}',
        b"rsquo" => '\u{2019}',
        b"ldquo" => '\u{201C}',
        b"rdquo" => '\u{201D}',
        b"hellip" => '\u{2026}',
        b"copy" => '\u{a9}',
        b"reg" => '\u{ae}',
        _ => return None,
    })
}

/// Decodes the character reference at the start of `s` (which starts with `&`).
pub(super) fn html_escape(s: &[u8]) -> Escape {
    let literal = Escape::literal(s[0]);
    if s.len() == 1 {
        return Escape::Incomplete;
    }
    if s[1] == b'#' {
        let hex = matches!(s.get(2), Some(b'x' | b'X'));
        let digits_from = if hex { 3 } else { 2 };
        let is_digit = |b: &u8| {
            if hex {
                b.is_ascii_hexdigit()
            } else {
                b.is_ascii_digit()
            }
        };
        let digits = s[digits_from.min(s.len())..]
            .iter()
            .take_while(|b| is_digit(b))
            .count();
        let end = digits_from + digits;
        if end >= s.len() {
            return if end < MAX_REFERENCE {
                Escape::Incomplete
            } else {
                literal
            };
        }
        if digits == 0 || end + usize::from(s[end] == b';') > MAX_REFERENCE {
            return literal;
        }
        let text = std::str::from_utf8(&s[digits_from..end]).unwrap_or("");
        let code = u32::from_str_radix(text, if hex { 16 } else { 10 }).ok();
        return match code.and_then(char::from_u32).filter(|&c| c != '\0') {
            Some(c) => Escape::char(c, end + usize::from(s[end] == b';')),
            None => literal,
        };
    }
    let name_len = s[1..]
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric())
        .count();
    let end = 1 + name_len;
    if end >= s.len() {
        return if end < MAX_REFERENCE {
            Escape::Incomplete
        } else {
            literal
        };
    }
    if s[end] != b';' || name_len == 0 {
        return literal;
    }
    let name = &s[1..end];
    match named(name) {
        Some(c) => Escape::char(c, end + 1),
        None => literal,
    }
}
