//! Header lookup: one value per header name, refusing conflicting copies and values
//! that are not visible ASCII, as every scheme reads its headers.

use http::{HeaderMap, HeaderName, HeaderValue};

use crate::SignatureRejection;

/// The one value of a header, or `None` when absent.
///
/// Several copies with the same value count as one; copies that differ are
/// [`SignatureRejection::ConflictingHeaders`]. A value that is not visible ASCII is
/// [`SignatureRejection::MalformedHeader`]. Surrounding spaces and tabs are trimmed.
pub fn single_header<'h>(
    headers: &'h HeaderMap,
    name: &HeaderName,
) -> Result<Option<&'h str>, SignatureRejection> {
    let Some(value) = single_header_value(headers, name)? else {
        return Ok(None);
    };
    // `to_str` admits only tab, space and visible ASCII, so `trim_ascii` trims exactly
    // what `trim` would, without the Unicode tables. (It is also the cheapest safe way
    // to a `&str`: `is_ascii` then `str::from_utf8` costs more on values this short.)
    value
        .to_str()
        .map(|text| Some(text.trim_ascii()))
        .map_err(|_| not_visible_ascii(name))
}

/// The one value of a header as it is, or `None` when absent: for
/// [`Signed::set_event_id_header`](super::Signed::set_event_id_header).
///
/// Several copies with the same value count as one; copies that differ are
/// [`SignatureRejection::ConflictingHeaders`]. The value is not checked further.
#[inline]
pub fn single_header_value<'h>(
    headers: &'h HeaderMap,
    name: &HeaderName,
) -> Result<Option<&'h HeaderValue>, SignatureRejection> {
    let mut values = headers.get_all(name).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.any(|other| other != first) {
        return Err(SignatureRejection::ConflictingHeaders {
            header: name.clone(),
        });
    }
    Ok(Some(first))
}

/// What one pass over the headers found under a name: see [`find_headers`].
#[derive(Debug, Clone, Copy)]
pub(crate) enum Found<'h> {
    Absent,
    One(&'h HeaderValue),
    /// Copies with different values.
    Conflicting,
}

impl<'h> Found<'h> {
    /// [`single_header_value`]'s answer.
    #[inline]
    pub(crate) fn value(
        self,
        name: &HeaderName,
    ) -> Result<Option<&'h HeaderValue>, SignatureRejection> {
        match self {
            Self::Absent => Ok(None),
            Self::One(value) => Ok(Some(value)),
            Self::Conflicting => Err(SignatureRejection::ConflictingHeaders {
                header: name.clone(),
            }),
        }
    }

    /// The value and its bytes, trimmed and checked as [`single_header`] checks them.
    #[inline]
    pub(crate) fn bytes(
        self,
        name: &HeaderName,
    ) -> Result<Option<(&'h HeaderValue, &'h [u8])>, SignatureRejection> {
        match self.value(name)? {
            Some(value) => Ok(Some((value, ascii_value(value, name)?))),
            None => Ok(None),
        }
    }

    /// The value's bytes, trimmed but not checked: for a parser that refuses every
    /// byte outside visible ASCII anyway, so that only its failures need the check
    /// (see [`Found::parse`]).
    #[inline]
    pub(crate) fn raw(self, name: &HeaderName) -> Result<Option<&'h [u8]>, SignatureRejection> {
        Ok(self.value(name)?.map(|value| value.as_bytes().trim_ascii()))
    }

    /// `parse` applied to the value's bytes, trimmed, or `None` when absent: what
    /// [`Found::bytes`] then `parse` would answer, but the bytes are checked ASCII only
    /// when `parse` fails (then a value that is not visible ASCII is still
    /// [`SignatureRejection::MalformedHeader`]).
    ///
    /// `parse` must succeed only on ASCII: a hex or base64 signature, a timestamp.
    #[inline]
    pub(crate) fn parse<T>(
        self,
        name: &HeaderName,
        parse: impl FnOnce(&'h [u8]) -> Result<T, SignatureRejection>,
    ) -> Result<Option<T>, SignatureRejection> {
        let Some(bytes) = self.raw(name)? else {
            return Ok(None);
        };
        match parse(bytes) {
            Ok(parsed) => {
                debug_assert!(bytes.is_ascii(), "`{name}` parsed, yet is not ASCII");
                Ok(Some(parsed))
            }
            Err(rejection) => Err(ascii_or(bytes, name, rejection)),
        }
    }

    /// The value, when the header is there exactly once (or in identical copies).
    #[inline]
    pub(crate) fn one(self) -> Option<&'h HeaderValue> {
        match self {
            Self::One(value) => Some(value),
            Self::Absent | Self::Conflicting => None,
        }
    }

    /// For an optional header: `Some(None)` when absent, `Some(Some(..))` with the
    /// value and its bytes trimmed and checked ASCII, `None` for anything else.
    #[inline]
    pub(crate) fn optional_ascii(self) -> Option<Option<(&'h HeaderValue, &'h [u8])>> {
        match self {
            Self::Absent => Some(None),
            Self::One(value) => ascii(value).map(|id| Some((value, id))),
            Self::Conflicting => None,
        }
    }
}

/// `rejection`, unless `bytes` are not ASCII: then the rejection [`single_header`]
/// gives for them, which comes first.
#[cold]
pub(crate) fn ascii_or(
    bytes: &[u8],
    name: &HeaderName,
    rejection: SignatureRejection,
) -> SignatureRejection {
    match check_ascii(bytes, name) {
        Ok(_) => rejection,
        Err(not_ascii) => not_ascii,
    }
}

/// Up to this many header values, [`find_headers`] walks the map once comparing names;
/// past it, it looks each name up.
const SCAN_LIMIT: usize = 16;

/// Looks up several headers at once.
///
/// A delivery carries a dozen headers or so: walking them once and comparing names
/// (mostly a length or a standard-header index) costs less than hashing each custom
/// name for [`HeaderMap::get_all`] (FNV, one multiply per byte, in series). A larger
/// map is searched name by name, so a request with many headers costs no more than it
/// did.
#[inline]
pub(crate) fn find_headers<'h, const N: usize>(
    headers: &'h HeaderMap,
    names: [&HeaderName; N],
) -> [Found<'h>; N] {
    if headers.len() > SCAN_LIMIT {
        return names.map(|name| match single_header_value(headers, name) {
            Ok(Some(value)) => Found::One(value),
            Ok(None) => Found::Absent,
            Err(_) => Found::Conflicting,
        });
    }
    // Compared as bytes (both are the canonical lower-case form): cheaper than
    // `HeaderName`'s own `==`, which first matches on how each name is stored.
    let wanted = names.map(|name| name.as_str().as_bytes());
    let mut found = [Found::Absent; N];
    for (name, value) in headers {
        let name = name.as_str().as_bytes();
        for (slot, wanted) in found.iter_mut().zip(wanted) {
            if name == wanted {
                *slot = match *slot {
                    Found::Absent => Found::One(value),
                    Found::One(first) if first == value => Found::One(first),
                    _ => Found::Conflicting,
                };
            }
        }
    }
    found
}

/// The bytes of a header value, trimmed; [`SignatureRejection::MalformedHeader`]
/// unless it is visible ASCII, exactly as [`single_header`] answers.
#[inline]
pub(crate) fn ascii_value<'h>(
    value: &'h HeaderValue,
    name: &HeaderName,
) -> Result<&'h [u8], SignatureRejection> {
    check_ascii(value.as_bytes().trim_ascii(), name)
}

/// `bytes`, from a header value, if they are visible ASCII; else what
/// [`single_header`] answers.
#[inline]
pub(crate) fn check_ascii<'h>(
    bytes: &'h [u8],
    name: &HeaderName,
) -> Result<&'h [u8], SignatureRejection> {
    // `http` refuses every control byte but tab, and DEL, in a `HeaderValue`
    // (`from_bytes`; hyper builds its values from what `httparse` admits, the same
    // set), so ASCII bytes there are tab, space and visible ASCII: what `to_str`
    // admits, checked a word at a time rather than byte by byte. Trimming first
    // changes nothing: it removes only spaces and tabs.
    if bytes.is_ascii() {
        Ok(bytes)
    } else {
        Err(not_visible_ascii(name))
    }
}

pub(crate) fn not_visible_ascii(name: &HeaderName) -> SignatureRejection {
    SignatureRejection::MalformedHeader {
        header: name.clone(),
        reason: "not visible ASCII",
    }
}

/// The value's bytes trimmed, if they are ASCII: what [`ascii_value`]
/// accepts, without building its rejection.
#[inline]
pub(crate) fn ascii(value: &HeaderValue) -> Option<&[u8]> {
    let bytes = value.as_bytes().trim_ascii();
    bytes.is_ascii().then_some(bytes)
}

/// The value's bytes trimmed: what [`Found::raw`] reads.
#[inline]
pub(crate) fn trimmed(value: &HeaderValue) -> &[u8] {
    value.as_bytes().trim_ascii()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflicting_copies_of_a_header_are_refused_identical_ones_accepted() {
        let name = HeaderName::from_static("x-sig");
        let mut headers = HeaderMap::new();
        headers.append(&name, HeaderValue::from_static("a"));
        headers.append(&name, HeaderValue::from_static("a"));
        assert_eq!(single_header(&headers, &name).unwrap(), Some("a"));
        headers.append(&name, HeaderValue::from_static("b"));
        assert!(matches!(
            single_header(&headers, &name),
            Err(SignatureRejection::ConflictingHeaders { .. })
        ));
    }

    /// What [`find_headers`] must answer for `name`: [`single_header_value`]'s answer.
    fn looked_up<'h>(headers: &'h HeaderMap, name: &HeaderName) -> Found<'h> {
        match single_header_value(headers, name) {
            Ok(Some(value)) => Found::One(value),
            Ok(None) => Found::Absent,
            Err(_) => Found::Conflicting,
        }
    }

    fn same(a: Found<'_>, b: Found<'_>) -> bool {
        match (a, b) {
            (Found::Absent, Found::Absent) | (Found::Conflicting, Found::Conflicting) => true,
            (Found::One(a), Found::One(b)) => std::ptr::eq(a, b),
            _ => false,
        }
    }

    const NAMES: [&str; 6] = [
        "x-hub-signature-256",
        "x-github-delivery",
        "webhook-timestamp",
        "webhook-signature",
        "content-type",
        "x-request-id",
    ];

    fn header_map(entries: &[(usize, u8)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for &(name, value) in entries {
            headers.append(
                HeaderName::from_static(NAMES[name]),
                HeaderValue::from(u16::from(value)),
            );
        }
        headers
    }

    #[test]
    fn find_headers_reads_small_and_large_maps_alike() {
        // Below and above the scan limit: one copy, equal copies, differing copies.
        for filler in [0, SCAN_LIMIT] {
            let mut entries = vec![(4, 0); filler];
            entries.extend([(0, 1), (1, 2), (1, 2), (2, 3), (2, 4), (5, 0)]);
            let headers = header_map(&entries);
            let wanted = [0, 1, 2, 3].map(|at| HeaderName::from_static(NAMES[at]));
            let found = find_headers(&headers, [&wanted[0], &wanted[1], &wanted[2], &wanted[3]]);
            assert!(matches!(found[0], Found::One(v) if v == "1"), "{filler}");
            assert!(matches!(found[1], Found::One(v) if v == "2"), "{filler}");
            assert!(matches!(found[2], Found::Conflicting), "{filler}");
            assert!(matches!(found[3], Found::Absent), "{filler}");
        }
    }

    #[test]
    fn a_value_that_fails_to_parse_is_first_checked_ascii() {
        let name = HeaderName::from_static("x-sig");
        let refuse = |_: &[u8]| -> Result<(), SignatureRejection> {
            Err(SignatureRejection::MalformedSignature { reason: "bad" })
        };
        let ascii = HeaderValue::from_static(" bad ");
        let not_ascii = HeaderValue::from_bytes(b"\xc3\xa9").unwrap();
        assert!(matches!(
            Found::One(&ascii).parse(&name, refuse),
            Err(SignatureRejection::MalformedSignature { reason: "bad" })
        ));
        assert!(matches!(
            Found::One(&not_ascii).parse(&name, refuse),
            Err(SignatureRejection::MalformedHeader {
                reason: "not visible ASCII",
                ..
            })
        ));
        // The parser sees the value trimmed.
        let seen = Found::One(&ascii).parse(&name, |bytes| Ok(bytes.to_vec()));
        assert_eq!(seen.unwrap().unwrap(), b"bad");
        assert!(matches!(Found::Absent.parse(&name, refuse), Ok(None)));
        assert!(matches!(
            Found::Conflicting.parse(&name, refuse),
            Err(SignatureRejection::ConflictingHeaders { .. })
        ));
    }

    #[test]
    fn single_header_trims_and_refuses_conflicting_or_non_ascii_values() {
        let name = HeaderName::from_static("x-sig");
        let mut headers = HeaderMap::new();
        assert!(matches!(single_header(&headers, &name), Ok(None)));
        headers.insert(&name, HeaderValue::from_static(" \tabc def\t "));
        assert_eq!(single_header(&headers, &name).unwrap(), Some("abc def"));
        headers.append(&name, HeaderValue::from_static(" \tabc def\t "));
        assert_eq!(single_header(&headers, &name).unwrap(), Some("abc def"));
        headers.append(&name, HeaderValue::from_static("abc def"));
        assert!(matches!(
            single_header(&headers, &name),
            Err(SignatureRejection::ConflictingHeaders { .. })
        ));
        headers.insert(&name, HeaderValue::from_bytes(b"abc\x80").unwrap());
        assert!(matches!(
            single_header(&headers, &name),
            Err(SignatureRejection::MalformedHeader {
                reason: "not visible ASCII",
                ..
            })
        ));
    }

    proptest::proptest! {

        #[test]
        fn find_headers_agrees_with_one_lookup_per_name(
            entries in proptest::collection::vec((0..NAMES.len(), 0..3u8), 0..40),
        ) {
            let headers = header_map(&entries);
            let wanted = [0, 1, 2].map(|at| HeaderName::from_static(NAMES[at]));
            let found = find_headers(&headers, [&wanted[0], &wanted[1], &wanted[2]]);
            for (found, name) in found.into_iter().zip(&wanted) {
                proptest::prop_assert!(same(found, looked_up(&headers, name)), "{name}");
            }
        }
    }
}
