//! Canonical form of a spec and the model id (SM3 of it).
//!
//! Comments, whitespace, key order and TOML syntax choices (inline or standard tables,
//! literal or basic strings) do not change a model's id; any change of a name, value,
//! range, table, expression, doc string or parameter does. The encoding, documented here
//! because the id is registered on the ledger and must be reproducible by anyone:
//!
//! ```text
//! canonical = "weinong-model-spec/1\n" value
//! value     = table | array | string | integer | boolean
//! table     = "{" [ string ":" value *( "," string ":" value ) ] "}"   ; keys sorted by UTF-8 bytes
//! array     = "[" [ value *( "," value ) ] "]"                          ; order kept
//! string    = '"' chars '"'      ; `"` and `\` escaped with `\`, U+0000..U+001F as \u00XX
//! integer   = decimal, `-` for negatives, no leading zeros or `+`
//! boolean   = "true" | "false"
//! ```
//!
//! Floats and datetimes are not part of the spec format (the typed parse refuses them
//! first). The model id is `SM3(canonical)`, printed as 64 lower-case hex digits.

use toml::{Table, Value};

use super::decl::ModelId;

/// The first line of every canonical spec.
pub(crate) const CANONICAL_PREFIX: &[u8] = b"weinong-model-spec/1\n";

/// The canonical bytes of a parsed spec, or the dotted path of a value that has no
/// canonical form (a float or a datetime).
pub(crate) fn canonical_bytes(spec: &Table) -> Result<Vec<u8>, String> {
    let mut out = CANONICAL_PREFIX.to_vec();
    write_table(&mut out, spec, "")?;
    Ok(out)
}

/// SM3 of the canonical bytes.
pub(crate) fn model_id(canonical: &[u8]) -> ModelId {
    ModelId(weinong_keys::sm3_digest(canonical))
}

fn write_table(out: &mut Vec<u8>, table: &Table, path: &str) -> Result<(), String> {
    let mut keys: Vec<&String> = table.keys().collect();
    keys.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    out.push(b'{');
    for (i, key) in keys.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_string(out, key);
        out.push(b':');
        let child = if path.is_empty() {
            key.clone()
        } else {
            format!("{path}.{key}")
        };
        if let Some(value) = table.get(key) {
            write_value(out, value, &child)?;
        }
    }
    out.push(b'}');
    Ok(())
}

fn write_value(out: &mut Vec<u8>, value: &Value, path: &str) -> Result<(), String> {
    match value {
        Value::String(s) => write_string(out, s),
        Value::Integer(i) => out.extend_from_slice(i.to_string().as_bytes()),
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item, &format!("{path}[{i}]"))?;
            }
            out.push(b']');
        }
        Value::Table(table) => write_table(out, table, path)?,
        Value::Float(_) | Value::Datetime(_) => return Err(path.to_owned()),
    }
    Ok(())
}

fn write_string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            c if (c as u32) < 0x20 => {
                out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes())
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(src: &str) -> String {
        let table: Table = src.parse().expect("valid TOML");
        String::from_utf8(canonical_bytes(&table).expect("canonical")).expect("UTF-8")
    }

    #[test]
    fn layout_and_comments_do_not_change_the_canonical_form() {
        let a = canon("b = 1\na = \"x\\\"y\" # note\n[t]\nz = [1, -2]\n");
        let b = canon("t = { z = [ 1, -2 ] }\na = 'x\"y'\nb = 1\n");
        assert_eq!(a, b);
        assert_eq!(
            a,
            "weinong-model-spec/1\n{\"a\":\"x\\\"y\",\"b\":1,\"t\":{\"z\":[1,-2]}}"
        );
    }

    #[test]
    fn floats_are_refused_with_their_path() {
        let table: Table = "[t]\nx = [1, 2.5]".parse().expect("valid TOML");
        assert_eq!(canonical_bytes(&table), Err("t.x[1]".to_owned()));
    }
}
