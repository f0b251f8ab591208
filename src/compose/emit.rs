//! The normalized model written as YAML, for `stackctl config`.
//!
//! A serde serializer that writes block YAML straight into a string. It
//! replaced serde_yaml's emitter (libyaml, scalar by scalar analysis) and the
//! `Value` tree built for it, which together were half of `config`'s time on
//! a 1000-service file. The model needs far less than libyaml offers: block
//! mappings and sequences, and scalars quoted whenever a YAML reader could
//! take them for anything but the same string. The layout follows
//! serde_yaml's (sequence items at their key's indentation, `'…'` quoting,
//! enum variants with data as `!tag value`), so the output reads as before.

use serde::ser::{self, Serialize};
use serde_yaml::Value;
use std::fmt::{self, Write};

/// `value` as a YAML document (no leading `---`), ending in a newline.
pub fn to_yaml<T: Serialize + ?Sized>(value: &T) -> Result<String, EmitError> {
    let mut out = String::with_capacity(64 * 1024);
    value.serialize(Node {
        out: &mut out,
        place: Place::Root,
    })?;
    Ok(out)
}

/// What a value could not be written for (a map key that is neither a
/// scalar nor a collection, a serializer error from a `Serialize` impl).
#[derive(Debug)]
pub struct EmitError(String);

impl fmt::Display for EmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for EmitError {}

impl ser::Error for EmitError {
    fn custom<T: fmt::Display>(message: T) -> Self {
        EmitError(message.to_string())
    }
}

/// Where the value being written starts, which decides what goes before it
/// and how deep its lines are indented.
#[derive(Clone, Copy)]
enum Place {
    /// The whole document.
    Root,
    /// After `key:` of a mapping whose entries are at `depth`.
    Key { depth: usize },
    /// After `- ` of a sequence whose items are at `depth`.
    Dash { depth: usize },
    /// After a `!tag`; a collection's lines are at `depth`.
    Tag { depth: usize },
}

impl Place {
    /// Written before a scalar or an empty collection.
    fn inline_prefix(self) -> &'static str {
        match self {
            Place::Key { .. } | Place::Tag { .. } => " ",
            Place::Root | Place::Dash { .. } => "",
        }
    }

    /// The depth of a mapping's entries written here.
    fn mapping_depth(self) -> usize {
        match self {
            Place::Root => 0,
            Place::Key { depth } | Place::Dash { depth } => depth + 1,
            Place::Tag { depth } => depth,
        }
    }

    /// The depth of a sequence's items; under a key they are not indented
    /// (serde_yaml's style).
    fn sequence_depth(self) -> usize {
        match self {
            Place::Root => 0,
            Place::Key { depth } | Place::Tag { depth } => depth,
            Place::Dash { depth } => depth + 1,
        }
    }

    /// True when a collection's first line starts on a new line (after a key
    /// or a tag); after a dash or at the top it starts where we are.
    fn breaks_line(self) -> bool {
        matches!(self, Place::Key { .. } | Place::Tag { .. })
    }

    /// Where a tag's value goes.
    fn after_tag(self) -> Place {
        Place::Tag {
            depth: self.mapping_depth(),
        }
    }
}

fn indent(out: &mut String, depth: usize) {
    for _ in 0..depth {
        out.push_str("  ");
    }
}

/// Serializes one value at `place`.
struct Node<'o> {
    out: &'o mut String,
    place: Place,
}

impl<'o> Node<'o> {
    fn scalar(self, write: impl FnOnce(&mut String)) -> Result<(), EmitError> {
        self.out.push_str(self.place.inline_prefix());
        write(self.out);
        self.out.push('\n');
        Ok(())
    }

    /// Write `!tag` here; the returned node is where the tagged value goes.
    fn open_tag(self, tag: &str) -> Node<'o> {
        self.out.push_str(self.place.inline_prefix());
        self.out.push('!');
        self.out.push_str(tag);
        Node {
            out: self.out,
            place: self.place.after_tag(),
        }
    }

    /// `!tag` here, then `value` after it.
    fn tagged<T: Serialize + ?Sized>(self, tag: &str, value: &T) -> Result<(), EmitError> {
        value.serialize(self.open_tag(tag))
    }

    fn mapping(self, len: Option<usize>) -> MappingWriter<'o> {
        MappingWriter {
            depth: self.place.mapping_depth(),
            place: self.place,
            out: self.out,
            entries: 0,
            // serde_yaml writes a tagged value as a one-entry map whose key
            // is the tag, passed through `collect_str`.
            may_be_tag: len == Some(1),
            pending_tag: None,
            tagged: false,
        }
    }

    fn sequence(self) -> SequenceWriter<'o> {
        SequenceWriter {
            depth: self.place.sequence_depth(),
            place: self.place,
            out: self.out,
            items: 0,
        }
    }
}

impl<'o> ser::Serializer for Node<'o> {
    type Ok = ();
    type Error = EmitError;
    type SerializeSeq = SequenceWriter<'o>;
    type SerializeTuple = SequenceWriter<'o>;
    type SerializeTupleStruct = SequenceWriter<'o>;
    type SerializeTupleVariant = SequenceWriter<'o>;
    type SerializeMap = MappingWriter<'o>;
    type SerializeStruct = MappingWriter<'o>;
    type SerializeStructVariant = MappingWriter<'o>;

    fn serialize_bool(self, v: bool) -> Result<(), EmitError> {
        self.scalar(|out| out.push_str(if v { "true" } else { "false" }))
    }
    fn serialize_i8(self, v: i8) -> Result<(), EmitError> {
        self.serialize_i64(v.into())
    }
    fn serialize_i16(self, v: i16) -> Result<(), EmitError> {
        self.serialize_i64(v.into())
    }
    fn serialize_i32(self, v: i32) -> Result<(), EmitError> {
        self.serialize_i64(v.into())
    }
    fn serialize_i64(self, v: i64) -> Result<(), EmitError> {
        self.scalar(|out| write_display(out, v))
    }
    fn serialize_i128(self, v: i128) -> Result<(), EmitError> {
        self.scalar(|out| write_display(out, v))
    }
    fn serialize_u8(self, v: u8) -> Result<(), EmitError> {
        self.serialize_u64(v.into())
    }
    fn serialize_u16(self, v: u16) -> Result<(), EmitError> {
        self.serialize_u64(v.into())
    }
    fn serialize_u32(self, v: u32) -> Result<(), EmitError> {
        self.serialize_u64(v.into())
    }
    fn serialize_u64(self, v: u64) -> Result<(), EmitError> {
        self.scalar(|out| write_display(out, v))
    }
    fn serialize_u128(self, v: u128) -> Result<(), EmitError> {
        self.scalar(|out| write_display(out, v))
    }
    fn serialize_f32(self, v: f32) -> Result<(), EmitError> {
        self.serialize_f64(v.into())
    }
    fn serialize_f64(self, v: f64) -> Result<(), EmitError> {
        // serde_yaml's spelling: `.inf`, `.nan`, shortest round-trip digits.
        self.scalar(|out| write_display(out, serde_yaml::Number::from(v)))
    }
    fn serialize_char(self, v: char) -> Result<(), EmitError> {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<(), EmitError> {
        self.scalar(|out| string(out, v, Context::Block))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), EmitError> {
        let mut seq = self.sequence();
        for byte in v {
            ser::SerializeSeq::serialize_element(&mut seq, byte)?;
        }
        ser::SerializeSeq::end(seq)
    }
    fn serialize_none(self) -> Result<(), EmitError> {
        self.serialize_unit()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), EmitError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), EmitError> {
        self.scalar(|out| out.push_str("null"))
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), EmitError> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), EmitError> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), EmitError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), EmitError> {
        self.tagged(variant, value)
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<SequenceWriter<'o>, EmitError> {
        Ok(self.sequence())
    }
    fn serialize_tuple(self, _len: usize) -> Result<SequenceWriter<'o>, EmitError> {
        Ok(self.sequence())
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<SequenceWriter<'o>, EmitError> {
        Ok(self.sequence())
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<SequenceWriter<'o>, EmitError> {
        Ok(self.open_tag(variant).sequence())
    }
    fn serialize_map(self, len: Option<usize>) -> Result<MappingWriter<'o>, EmitError> {
        Ok(self.mapping(len))
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<MappingWriter<'o>, EmitError> {
        Ok(self.mapping(None))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<MappingWriter<'o>, EmitError> {
        Ok(self.open_tag(variant).mapping(None))
    }
}

fn write_display(out: &mut String, value: impl fmt::Display) {
    let _ = write!(out, "{value}");
}

/// A block mapping being written. Nothing is written until the first entry
/// (or the end), because an empty mapping is `{}` on the key's line.
struct MappingWriter<'o> {
    out: &'o mut String,
    place: Place,
    depth: usize,
    entries: usize,
    may_be_tag: bool,
    /// The tag read as this map's only key, waiting for its value.
    pending_tag: Option<String>,
    /// The map was a tag and its value; nothing is left to close.
    tagged: bool,
}

impl MappingWriter<'_> {
    /// Line break and indentation before an entry.
    fn start_entry(&mut self) {
        if self.entries > 0 || self.place.breaks_line() {
            if self.entries == 0 {
                self.out.push('\n');
            }
            indent(self.out, self.depth);
        }
        self.entries += 1;
    }

    fn write_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), EmitError> {
        match key.serialize(KeyText) {
            Ok(text) => {
                self.start_entry();
                self.out.push_str(&text);
            }
            Err(KeyError::Complex) => {
                // A collection as a key (only in `x-*` data): `? {…}` then
                // the `:` on the next line.
                let value = serde_yaml::to_value(key).map_err(ser::Error::custom)?;
                self.start_entry();
                self.out.push_str("? ");
                flow(self.out, &value);
                self.out.push('\n');
                indent(self.out, self.depth);
            }
            Err(KeyError::Failed(message)) => return Err(EmitError(message)),
            Err(KeyError::Tag(tag)) => {
                // Not a tag after all (a second key, or a longer map): an
                // ordinary string key.
                self.start_entry();
                string(self.out, &tag, Context::Block);
            }
        }
        self.out.push(':');
        Ok(())
    }

    fn write_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), EmitError> {
        value.serialize(Node {
            out: &mut *self.out,
            place: Place::Key { depth: self.depth },
        })
    }

    fn finish(self) -> Result<(), EmitError> {
        if self.entries == 0 && !self.tagged {
            self.out.push_str(self.place.inline_prefix());
            self.out.push_str("{}\n");
        }
        Ok(())
    }
}

impl ser::SerializeMap for MappingWriter<'_> {
    type Ok = ();
    type Error = EmitError;

    // Keys and values come separately (a `#[serde(flatten)]` field's
    // entries do), so the tag check keeps its finding for the value.
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), EmitError> {
        if self.may_be_tag && self.entries == 0 {
            if let Err(KeyError::Tag(tag)) = key.serialize(KeyText) {
                self.pending_tag = Some(tag);
                return Ok(());
            }
        }
        self.write_key(key)
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), EmitError> {
        match self.pending_tag.take() {
            Some(tag) => {
                self.tagged = true;
                self.entries += 1;
                let tag = tag.strip_prefix('!').unwrap_or(&tag);
                Node {
                    out: &mut *self.out,
                    place: self.place,
                }
                .tagged(tag, value)
            }
            None => self.write_value(value),
        }
    }

    fn end(self) -> Result<(), EmitError> {
        self.finish()
    }
}

impl ser::SerializeStruct for MappingWriter<'_> {
    type Ok = ();
    type Error = EmitError;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), EmitError> {
        self.start_entry();
        string(self.out, key, Context::Block);
        self.out.push(':');
        self.write_value(value)
    }

    fn end(self) -> Result<(), EmitError> {
        self.finish()
    }
}

impl ser::SerializeStructVariant for MappingWriter<'_> {
    type Ok = ();
    type Error = EmitError;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), EmitError> {
        ser::SerializeStruct::serialize_field(self, key, value)
    }

    fn end(self) -> Result<(), EmitError> {
        self.finish()
    }
}

/// A block sequence being written; `[]` when it ends with no items.
struct SequenceWriter<'o> {
    out: &'o mut String,
    place: Place,
    depth: usize,
    items: usize,
}

impl SequenceWriter<'_> {
    fn item<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), EmitError> {
        if self.items > 0 || self.place.breaks_line() {
            if self.items == 0 {
                self.out.push('\n');
            }
            indent(self.out, self.depth);
        }
        self.items += 1;
        self.out.push_str("- ");
        value.serialize(Node {
            out: &mut *self.out,
            place: Place::Dash { depth: self.depth },
        })
    }

    fn finish(self) -> Result<(), EmitError> {
        if self.items == 0 {
            self.out.push_str(self.place.inline_prefix());
            self.out.push_str("[]\n");
        }
        Ok(())
    }
}

macro_rules! sequence_impl {
    ($trait:path, $method:ident) => {
        impl $trait for SequenceWriter<'_> {
            type Ok = ();
            type Error = EmitError;

            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), EmitError> {
                self.item(value)
            }

            fn end(self) -> Result<(), EmitError> {
                self.finish()
            }
        }
    };
}

sequence_impl!(ser::SerializeSeq, serialize_element);
sequence_impl!(ser::SerializeTuple, serialize_element);
sequence_impl!(ser::SerializeTupleStruct, serialize_field);
sequence_impl!(ser::SerializeTupleVariant, serialize_field);

/// Why a key is not a plain scalar.
enum KeyError {
    /// A sequence or mapping: written as an explicit `? ` key.
    Complex,
    /// Text given through `collect_str` that starts with `!`: how
    /// serde_yaml's `TaggedValue` passes its tag.
    Tag(String),
    Failed(String),
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::Complex => f.write_str("a collection as a key"),
            KeyError::Tag(tag) => write!(f, "the tag {tag}"),
            KeyError::Failed(message) => f.write_str(message),
        }
    }
}

impl fmt::Debug for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for KeyError {}

impl ser::Error for KeyError {
    fn custom<T: fmt::Display>(message: T) -> Self {
        KeyError::Failed(message.to_string())
    }
}

/// A scalar key as the text to write.
struct KeyText;

impl ser::Serializer for KeyText {
    type Ok = String;
    type Error = KeyError;
    type SerializeSeq = ser::Impossible<String, KeyError>;
    type SerializeTuple = ser::Impossible<String, KeyError>;
    type SerializeTupleStruct = ser::Impossible<String, KeyError>;
    type SerializeTupleVariant = ser::Impossible<String, KeyError>;
    type SerializeMap = ser::Impossible<String, KeyError>;
    type SerializeStruct = ser::Impossible<String, KeyError>;
    type SerializeStructVariant = ser::Impossible<String, KeyError>;

    fn serialize_bool(self, v: bool) -> Result<String, KeyError> {
        Ok(v.to_string())
    }
    fn serialize_i8(self, v: i8) -> Result<String, KeyError> {
        Ok(v.to_string())
    }
    fn serialize_i16(self, v: i16) -> Result<String, KeyError> {
        Ok(v.to_string())
    }
    fn serialize_i32(self, v: i32) -> Result<String, KeyError> {
        Ok(v.to_string())
    }
    fn serialize_i64(self, v: i64) -> Result<String, KeyError> {
        Ok(v.to_string())
    }
    fn serialize_u8(self, v: u8) -> Result<String, KeyError> {
        Ok(v.to_string())
    }
    fn serialize_u16(self, v: u16) -> Result<String, KeyError> {
        Ok(v.to_string())
    }
    fn serialize_u32(self, v: u32) -> Result<String, KeyError> {
        Ok(v.to_string())
    }
    fn serialize_u64(self, v: u64) -> Result<String, KeyError> {
        Ok(v.to_string())
    }
    fn serialize_f32(self, v: f32) -> Result<String, KeyError> {
        self.serialize_f64(v.into())
    }
    fn serialize_f64(self, v: f64) -> Result<String, KeyError> {
        Ok(serde_yaml::Number::from(v).to_string())
    }
    fn serialize_char(self, v: char) -> Result<String, KeyError> {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<String, KeyError> {
        let mut out = String::new();
        string(&mut out, v, Context::Block);
        Ok(out)
    }
    fn collect_str<T: fmt::Display + ?Sized>(self, value: &T) -> Result<String, KeyError> {
        let text = value.to_string();
        if text.starts_with('!') {
            return Err(KeyError::Tag(text));
        }
        self.serialize_str(&text)
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<String, KeyError> {
        Err(KeyError::Complex)
    }
    fn serialize_none(self) -> Result<String, KeyError> {
        Ok("null".to_string())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<String, KeyError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<String, KeyError> {
        self.serialize_none()
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<String, KeyError> {
        self.serialize_none()
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<String, KeyError> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<String, KeyError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<String, KeyError> {
        Err(KeyError::Complex)
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, KeyError> {
        Err(KeyError::Complex)
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, KeyError> {
        Err(KeyError::Complex)
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, KeyError> {
        Err(KeyError::Complex)
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, KeyError> {
        Err(KeyError::Complex)
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, KeyError> {
        Err(KeyError::Complex)
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, KeyError> {
        Err(KeyError::Complex)
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, KeyError> {
        Err(KeyError::Complex)
    }
}

/// Flow style (`{a: 1, b: [x]}`), used only for complex keys.
fn flow(out: &mut String, value: &Value) {
    match value {
        Value::Mapping(map) => {
            out.push('{');
            for (i, (key, value)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                flow(out, key);
                out.push_str(": ");
                flow(out, value);
            }
            out.push('}');
        }
        Value::Sequence(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                flow(out, item);
            }
            out.push(']');
        }
        Value::Tagged(tagged) => {
            let _ = write!(out, "{} ", tagged.tag);
            flow(out, &tagged.value);
        }
        scalar => scalar_text(out, scalar, Context::Flow),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    Block,
    /// Inside `[…]` or `{…}`, where `,[]{}` end a plain scalar.
    Flow,
}

fn scalar_text(out: &mut String, value: &Value, context: Context) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(flag) => out.push_str(if *flag { "true" } else { "false" }),
        Value::Number(number) => {
            let _ = write!(out, "{number}");
        }
        Value::String(text) => string(out, text, context),
        // Collections are handled by the callers.
        Value::Mapping(_) | Value::Sequence(_) | Value::Tagged(_) => flow(out, value),
    }
}

/// A string, plain when that reads back as the same string, else quoted.
fn string(out: &mut String, text: &str, context: Context) {
    if is_plain_safe(text, context) {
        out.push_str(text);
    } else if text.chars().all(|c| c == ' ' || c.is_ascii_graphic()) {
        single_quoted(out, text);
    } else {
        double_quoted(out, text);
    }
}

fn single_quoted(out: &mut String, text: &str) {
    out.push('\'');
    for c in text.chars() {
        if c == '\'' {
            out.push_str("''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
}

/// Double quotes with escapes for everything a reader could fold, drop or
/// refuse: line breaks (also NEL, LS, PS), tabs, control characters, BOM.
fn double_quoted(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}') => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Words that YAML 1.1 readers (docker-compose v1, PyYAML) take for
/// booleans or null; quoted even though YAML 1.2 reads them as strings.
const YAML11_WORDS: &[&str] = &[
    "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON", "off", "Off",
    "OFF", "true", "True", "TRUE", "false", "False", "FALSE", "null", "Null", "NULL", "~",
];

/// True when `text` can be written without quotes: printable ASCII, no
/// character that starts or ends a YAML construct where it stands, and not
/// a word or number a reader would resolve to another type. Strings that
/// start like a number (`5432`, `1.0`, `0x1f`, `-1`, `.5`) are always
/// quoted, which also covers YAML 1.1's sexagesimal `80:80`.
fn is_plain_safe(text: &str, context: Context) -> bool {
    let bytes = text.as_bytes();
    let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) else {
        return false; // the empty string reads as null
    };
    if first == b' ' || last == b' ' || last == b':' {
        return false;
    }
    // Every special word is at most five bytes long.
    // `---` and `...` at a line's start end or begin a document.
    if text.starts_with("---") || text.starts_with("...") {
        return false;
    }
    if (text.len() <= 5 && YAML11_WORDS.contains(&text)) || looks_numeric(text) {
        return false;
    }
    let second = bytes.get(1).copied();
    match first {
        // `-x` is a plain scalar, `- x` a sequence item, `-` alone too.
        b'-' if second.is_some_and(|c| c != b' ') => {}
        b'-' | b'?' | b':' | b',' | b'[' | b']' | b'{' | b'}' | b'#' | b'&' | b'*' | b'!'
        | b'|' | b'>' | b'\'' | b'"' | b'%' | b'@' | b'`' => return false,
        _ => {}
    }
    let mut previous = b' ';
    for &byte in bytes {
        if !(byte == b' ' || byte.is_ascii_graphic()) {
            return false;
        }
        // `: ` starts a value and ` #` a comment, anywhere.
        if (previous == b':' && byte == b' ') || (previous == b' ' && byte == b'#') {
            return false;
        }
        if context == Context::Flow && matches!(byte, b',' | b'[' | b']' | b'{' | b'}') {
            return false;
        }
        previous = byte;
    }
    true
}

/// Could be read as a number (or a date) by a YAML 1.1 or 1.2 reader: one of
/// the special floats; a digit (after an optional sign or dot) followed only
/// by what numbers are written with (`0x1f`, `1_000`, `1e3`, `80:80`, `1.5`)
/// and at most one dot; or a YAML 1.1 date (`2024-01-31`, which PyYAML and so
/// docker-compose v1 read as a timestamp). Conservative on purpose; `5s`,
/// `1.25-alpine` and `127.0.0.1` (no number has two dots) stay plain.
fn looks_numeric(text: &str) -> bool {
    let unsigned = text.trim_start_matches(['+', '-']);
    let special = [".inf", ".nan", "inf", "nan", "infinity"];
    if special
        .iter()
        .any(|word| unsigned.eq_ignore_ascii_case(word))
    {
        return true;
    }
    let digits = unsigned.strip_prefix('.').unwrap_or(unsigned);
    let number_like = digits.as_bytes().first().is_some_and(u8::is_ascii_digit)
        && digits.bytes().all(|b| {
            b.is_ascii_hexdigit()
                || matches!(
                    b,
                    b'x' | b'X' | b'o' | b'O' | b'.' | b'_' | b':' | b'+' | b'-'
                )
        })
        && text.bytes().filter(|&b| b == b'.').count() <= 1;
    number_like || starts_like_a_date(text)
}

/// `YYYY-M-D` at the start (YAML 1.1's timestamp begins so).
fn starts_like_a_date(text: &str) -> bool {
    let mut parts = text.splitn(3, '-');
    let (Some(year), Some(month), Some(rest)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    year.len() == 4
        && digits(year)
        && (1..=2).contains(&month.len())
        && digits(month)
        && rest.as_bytes().first().is_some_and(u8::is_ascii_digit)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use proptest::prelude::*;

    fn round_trip(value: &Value) -> Value {
        let text = to_yaml(value).unwrap();
        serde_yaml::from_str(&text).unwrap_or_else(|err| panic!("{err}\n{text}"))
    }

    fn yaml(text: &str) -> Value {
        serde_yaml::from_str(text).unwrap()
    }

    #[test]
    fn layout_follows_serde_yaml() {
        let value = yaml(
            "name: demo\nservices:\n  web:\n    command: [sh, -c, echo hi]\n    ports:\n    - {target: 80, published: 8080}\n    labels: {}\n    tmpfs: []\n",
        );
        assert_eq!(
            to_yaml(&value).unwrap(),
            "name: demo\nservices:\n  web:\n    command:\n    - sh\n    - -c\n    - echo hi\n    ports:\n    - target: 80\n      published: 8080\n    labels: {}\n    tmpfs: []\n"
        );
    }

    #[test]
    fn strings_that_would_change_type_are_quoted() {
        for text in [
            "5432",
            "1.0",
            "-1",
            ".5",
            "0x1f",
            "0o17",
            "1e3",
            "80:80",
            "true",
            "no",
            "Off",
            "~",
            "null",
            "",
            ".inf",
            "-.nan",
            "+1",
            "2024-01-31",
            "2001-12-14t21:59:43.10-05:00",
            "1_000",
            "0b101",
            "190:20:30",
        ] {
            let value = Value::String(text.to_string());
            let line = to_yaml(&value).unwrap();
            assert!(line.starts_with('\''), "{text:?} -> {line}");
            assert_eq!(round_trip(&value), value, "{text:?}");
        }
    }

    #[test]
    fn ordinary_strings_stay_plain() {
        for text in [
            "nginx:1.25",
            "-c",
            "http://api.internal:8080/",
            "greeting,healthz",
            "a b",
            "stackctl-test/busybox:latest",
            "5s",
            "1.25-alpine",
            "127.0.0.1",
            "1.2.3",
        ] {
            assert_eq!(
                to_yaml(&Value::String(text.into())).unwrap(),
                format!("{text}\n")
            );
        }
    }

    #[test]
    fn indicators_and_control_characters_are_quoted() {
        for text in [
            "- item",
            "key: value",
            "a #comment",
            "#x",
            "*alias",
            "&anchor",
            "!tag",
            "'quoted'",
            "\"dq\"",
            "line\nbreak",
            "tab\there",
            " lead",
            "trail ",
            "ends:",
            "nel\u{85}",
            "ls\u{2028}",
            "bom\u{feff}",
            "bell\u{7}",
            "back\\slash\n",
            "café",
            "[x]",
            "{y}",
            "%percent",
            "@at",
            "`tick",
            "|pipe",
            ">gt",
            "...",
            "--- x",
        ] {
            let value = Value::String(text.to_string());
            assert_eq!(
                round_trip(&value),
                value,
                "{text:?} -> {}",
                to_yaml(&value).unwrap()
            );
        }
    }

    #[test]
    fn nested_sequences_tags_and_complex_keys_read_back() {
        let value = yaml(
            "a:\n- - 1\n  - 2\n- []\n- {}\n- {k: [x, {y: z}]}\nb: !Tagged {v: 1}\nc: !T [1]\nd: !S x\n? [k1, k2]\n: v\n? {m: 1}\n: w\n1: one\ntrue: yes\nnull: ~\n",
        );
        assert_eq!(round_trip(&value), value, "{}", to_yaml(&value).unwrap());
    }

    #[test]
    fn reads_back_through_our_own_parser() {
        let value = yaml(
            "services:\n  web:\n    image: nginx\n    environment:\n      PORT: '80'\n      EMPTY: ''\n      NOTE: \"a: b # c\"\n",
        );
        let text = to_yaml(&value).unwrap();
        let mut diags = super::super::diag::Diagnostics::default();
        let parsed =
            super::super::parse::parse_text(std::path::Path::new("out.yaml"), &text, &mut diags)
                .expect("our output parses");
        assert_eq!(parsed.value, value);
    }

    /// Strings with YAML's special characters and words among them.
    pub(crate) fn any_string() -> impl Strategy<Value = String> {
        let tricky = prop::sample::select(vec![
            "...",
            "---",
            "- ",
            "-",
            "? ",
            ": ",
            ":",
            "#",
            " #",
            "&",
            "*",
            "!",
            "|",
            ">",
            "%",
            "@",
            "'",
            "\"",
            "[",
            "{",
            "0x",
            "0o",
            "0b",
            "1e",
            "1_",
            ".",
            "-.",
            "+",
            "~",
            "<<",
            "2024-01-0",
            "1:2",
            "1.",
            " ",
            "\t",
            "\n",
            "y",
            "No",
            "nan",
        ]);
        prop_oneof![
            (tricky.clone(), "[ -~]{0,6}", tricky).prop_map(|(a, b, c)| format!("{a}{b}{c}")),
            "[ -~]{0,12}",
            "[a-z0-9:./ #'\"-]{0,12}",
            any::<String>().prop_map(|s| s.chars().take(12).collect()),
            Just("yes".to_string()),
            Just("0x10".to_string()),
        ]
    }

    fn any_scalar() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            (-1e12f64..1e12f64).prop_map(Value::from),
            any_string().prop_map(Value::String),
        ]
    }

    /// Any YAML value with string keys (no tags: they do not round-trip
    /// through every reader the tests compare).
    pub(crate) fn any_value() -> impl Strategy<Value = Value> {
        any_scalar().prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Sequence),
                prop::collection::vec((any_string(), inner), 0..5).prop_map(|entries| {
                    Value::Mapping(
                        entries
                            .into_iter()
                            .map(|(k, v)| (Value::String(k), v))
                            .collect(),
                    )
                }),
            ]
        })
    }

    proptest! {
        #[test]
        fn any_value_reads_back_unchanged(value in any_value()) {
            prop_assert_eq!(round_trip(&value), value);
        }
    }
}
