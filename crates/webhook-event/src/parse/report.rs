//! What went wrong, and where: the context the visitors record while they read, and
//! the [`EventRejection`] made from it.

use std::cell::{Cell, RefCell};

use serde_json::error::Category;
use serde_json::value::RawValue;
use serde_path_to_error::Segment;

use crate::EventRejection;

/// The body as text: JSON is UTF-8 (RFC 8259), all of it, also inside the members
/// that are skipped (serde_json would not look at those bytes).
pub(super) fn utf8(bytes: &[u8]) -> Result<&str, EventRejection> {
    std::str::from_utf8(bytes).map_err(|error| {
        let (line, column) = position(bytes, error.valid_up_to(), 1, 1);
        EventRejection::MalformedJson {
            line,
            column,
            reason: "invalid UTF-8".to_owned(),
        }
    })
}

pub(super) fn missing(field: &'static str) -> EventRejection {
    EventRejection::InvalidEnvelope {
        path: field.to_owned(),
        reason: format!("missing field `{field}`"),
    }
}

/// `id` and `type` name the event: an empty one names nothing.
pub(crate) fn empty(field: &'static str) -> EventRejection {
    EventRejection::InvalidEnvelope {
        path: field.to_owned(),
        reason: format!("field `{field}` is empty"),
    }
}

pub(super) enum Failure {
    Json(JsonFailure),
    Rejection(EventRejection),
}

pub(super) struct JsonFailure {
    error: serde_json::Error,
    /// The envelope member being read when the error happened.
    field: Option<Field>,
    /// The event type a tagged enum refused.
    rejected_type: Option<String>,
    /// Where `data` starts in the body when it was parsed on its own (after `type`).
    offset: usize,
}

impl JsonFailure {
    pub(super) fn needs_path(&self) -> bool {
        self.error.classify() == Category::Data
            && self.field == Some(Field::Data)
            && self.rejected_type.is_none()
    }

    pub(super) fn into_rejection(self, bytes: &[u8], path: Option<String>) -> EventRejection {
        let (line, column) = position(bytes, self.offset, self.error.line(), self.error.column());
        let reason = reason(&self.error);
        match (self.error.classify(), self.field) {
            (Category::Syntax | Category::Eof | Category::Io, _) => EventRejection::MalformedJson {
                line,
                column,
                reason,
            },
            (Category::Data, Some(Field::Data)) => match self.rejected_type {
                Some(event_type) => EventRejection::UnsupportedType { event_type },
                None => EventRejection::InvalidData {
                    path: path.unwrap_or_else(|| "data".to_owned()),
                    reason,
                    line,
                    column,
                },
            },
            (Category::Data, field) => EventRejection::InvalidEnvelope {
                path: field.map_or(".", Field::name).to_owned(),
                reason,
            },
        }
    }
}

/// serde_json's message without the ` at line L column C` it appends.
pub(super) fn reason(error: &serde_json::Error) -> String {
    let text = error.to_string();
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    match text.strip_suffix(&suffix) {
        Some(stripped) => stripped.to_owned(),
        None => text,
    }
}

/// The line and column in the whole body of a position reported relative to
/// `bytes[offset..]`.
fn position(bytes: &[u8], offset: usize, line: usize, column: usize) -> (usize, usize) {
    if offset == 0 || line == 0 {
        return (line, column);
    }
    let before = &bytes[..offset.min(bytes.len())];
    let base_line = 1 + before.iter().filter(|&&b| b == b'\n').count();
    let base_column = before.iter().rev().take_while(|&&b| b != b'\n').count();
    if line == 1 {
        (base_line, base_column + column)
    } else {
        (base_line + line - 1, column)
    }
}

/// `data`, `data.amount`, `data.items[0].sku`.
pub(super) fn data_path(path: &serde_path_to_error::Path) -> String {
    let mut out = String::from("data");
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                out.push('.');
                out.push_str(key);
            }
            Segment::Unknown => out.push_str(".?"),
        }
    }
    out
}

/// What the visitors record for the error report.
#[derive(Default)]
pub(super) struct Cx<'de> {
    pub(super) field: Cell<Option<Field>>,
    pub(super) rejected_type: RefCell<Option<String>>,
    /// Set by `TagAware` (in `data.rs`) when it set `data` aside for later.
    pub(super) deferred: Cell<Option<&'de RawValue>>,
}

impl Cx<'_> {
    pub(super) fn failure(&self, error: serde_json::Error, offset: usize) -> JsonFailure {
        JsonFailure {
            error,
            field: self.field.get(),
            rejected_type: self.rejected_type.take(),
            offset,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Field {
    Id,
    Type,
    Created,
    Data,
}

impl Field {
    pub(super) fn name(self) -> &'static str {
        match self {
            Self::Id => "id",
            Self::Type => "type",
            Self::Created => "created",
            Self::Data => "data",
        }
    }
}
