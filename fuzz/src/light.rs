//! The properties of the targets that need only `portico-model` and `portico-emulator`.
//!
//! Each function takes the fuzzer's bytes, returns normally when the property holds and panics
//! (with a message saying which property broke) when it does not. The fuzz targets call them,
//! and so does the normal test suite on the seeds and the found inputs
//! (`tests/tests/fuzz_regressions.rs`, which includes this file by path): keep its imports to
//! crates both depend on.

use portico_emulator::query::{self, Literal, Query};
use portico_model::Booking;
use portico_model::crm::FindQuery;
use portico_model::manifest::{Manifest, Operation};
use portico_model::platforms::{self, Platform};
use portico_model::time::DateTime;
use portico_model::value::Value;

/// A booking JSON document: refused or accepted, never a panic. An accepted booking's own
/// serialisation is accepted again, gives the same booking (timestamps at the millisecond
/// precision the serialisation keeps), and serialising that gives the same text.
pub fn booking_json(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(first) = Booking::from_json(text) else { return };
    let json = serde_json::to_string(&first).expect("a booking serialises");
    let second = Booking::from_json(&json)
        .unwrap_or_else(|e| panic!("the serialisation of an accepted booking is refused: {e}\n{json}"));
    let mut expected = first;
    expected.raw = json.clone();
    expected.start = millis(expected.start);
    expected.end = millis(expected.end);
    expected.previous_start = expected.previous_start.map(millis);
    assert_eq!(second, expected, "re-parsing the serialisation changed the booking");
    let again = serde_json::to_string(&second).expect("a booking serialises");
    assert_eq!(again, json, "serialisation is not a fixed point");
}

fn millis(t: DateTime) -> DateTime {
    DateTime { seconds: t.seconds, nanoseconds: t.nanoseconds / 1_000_000 * 1_000_000 }
}

/// A Cal.com delivery body: see [`platform_payload`].
pub fn calcom_payload(data: &[u8]) {
    platform_payload(Platform::CalCom, data);
}

/// A Calendly delivery body: see [`platform_payload`].
pub fn calendly_payload(data: &[u8]) {
    platform_payload(Platform::Calendly, data);
}

/// Any body: an error, ignored, or booking JSON that `Booking::from_json` accepts and that
/// names its source, never a panic. An error about one field names a path that is not empty.
fn platform_payload(platform: Platform, data: &[u8]) {
    let text = match platforms::to_booking_json(platform, data) {
        Err(e) => {
            if let Some(path) = e.path() {
                assert!(!path.is_empty(), "an error names an empty path: {e}");
            }
            return;
        }
        Ok(None) => return,
        Ok(Some(text)) => text,
    };
    let booking = Booking::from_json(&text)
        .unwrap_or_else(|e| panic!("to_booking_json returned a booking that from_json refuses: {e}\n{text}"));
    let document: serde_json::Value = serde_json::from_str(&text).expect("booking text is JSON");
    assert_eq!(document["source"]["platform"], platform.as_str(), "source.platform");
    assert!(document["source"]["booking_id"].is_string(), "source.booking_id is not a string: {text}");
    assert!(Booking::valid_id(&booking.id).is_ok(), "the id is not a valid id: {text}");
    for person in std::iter::once(&booking.organizer).chain(&booking.attendees) {
        assert_eq!(person.email, person.email.trim().to_lowercase(), "an e-mail address is not normalised");
    }
    booking_json(text.as_bytes());
}

/// A plugin manifest: refused or accepted, never a panic. An accepted manifest holds what
/// `from_toml` checks, survives JSON (how grants are stored), is within itself as a grant,
/// and asks for a permission on every field it reads or writes.
pub fn manifest(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(manifest) = Manifest::from_toml(text) else { return };
    assert!(!manifest.plugin.name.trim().is_empty(), "accepted a blank plugin name");
    for (name, g) in &manifest.objects.objects {
        assert!(!g.operations.is_empty(), "objects.{name}: accepted no operations");
        let writes = g.operations.contains(&Operation::Create) || g.operations.contains(&Operation::Upsert);
        assert_eq!(writes, !g.write.is_empty(), "objects.{name}: write fields and create/upsert disagree");
        for field in g.read.iter().chain(&g.write) {
            assert!(g.can_read(field), "objects.{name}: cannot read its own field {field}");
        }
        for field in &g.write {
            assert!(g.can_write(field), "objects.{name}: cannot write its own field {field}");
        }
    }
    let json = serde_json::to_value(&manifest).expect("a manifest serialises");
    let back: Manifest = serde_json::from_value(json).expect("a serialised manifest deserialises");
    assert_eq!(back, manifest, "JSON round trip changed the manifest");
    let excess = manifest.objects.excess_over(&manifest.objects);
    assert!(excess.is_empty(), "a manifest's grant exceeds itself: {excess:?}");
    for permission in manifest.permissions() {
        let (_, g) = manifest.objects.object(&permission.sobject).expect("a permission for a listed object");
        for field in g.read.iter().chain(&g.write).filter(|f| !f.eq_ignore_ascii_case("Id")) {
            let fp = permission.fields.iter().find(|p| p.field == *field);
            let fp = fp.unwrap_or_else(|| panic!("no field permission for {}.{field}", permission.sobject));
            assert!(fp.read, "{}.{field}: read permission missing", permission.sobject);
            assert_eq!(fp.edit, g.can_write(field), "{}.{field}: edit permission", permission.sobject);
        }
    }
}

/// Booking text in a `find` query: the literal is one quoted token (no quote gets out), and
/// the emulator's SOQL parser reads back exactly the text. Eight bytes are also read as an
/// `f64`, which must come back as the same number (or `null` when not finite).
pub fn soql_literal(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let literal = portico_model::soql::literal(&Value::Text(text.to_owned()));
        assert!(literal.len() >= 2 && literal.starts_with('\'') && literal.ends_with('\''), "{literal}");
        let mut escaped = false;
        for (i, c) in literal[1..literal.len() - 1].char_indices() {
            assert!(escaped || c != '\'', "an unescaped quote at byte {} of {literal:?}", i + 1);
            escaped = !escaped && c == '\\';
        }
        assert!(!escaped, "the literal ends in a lone backslash: {literal:?}");
        let parsed = find_round_trip(Value::Text(text.to_owned()));
        assert_eq!(parsed, Literal::Text(text.to_owned()), "the text came back changed");
    }
    if let Ok(bytes) = <[u8; 8]>::try_from(data) {
        let n = f64::from_le_bytes(bytes);
        let expected = if n.is_finite() { Literal::Number(n) } else { Literal::Null };
        let parsed = find_round_trip(Value::Number(n));
        assert!(same_literal(&parsed, &expected), "{n:?} came back as {parsed:?}");
    }
}

/// The condition's value after `find_query` → the emulator's parser.
fn find_round_trip(value: Value) -> Literal {
    let q = FindQuery {
        sobject: "Contact".into(),
        field: "Email".into(),
        value,
        fields: vec!["Id".into(), "AccountId".into()],
        limit: 2,
        oldest_first: true,
        max_bytes: u64::MAX,
    };
    let soql = portico_model::soql::find_query(&q);
    let parsed = query::parse(&soql).unwrap_or_else(|e| panic!("the emulator refuses {soql:?}: {e:?}"));
    assert_eq!(parsed.object, "Contact");
    assert_eq!(parsed.fields, ["Id", "AccountId"]);
    assert_eq!(parsed.order_by, Some(("CreatedDate".to_owned(), false)));
    assert_eq!(parsed.limit, Some(2));
    let [(field, literal)]: [(String, Literal); 1] =
        parsed.conditions.try_into().unwrap_or_else(|c| panic!("not one condition: {c:?} in {soql:?}"));
    assert_eq!(field, "Email");
    literal
}

/// A SOQL string for the emulator: refused or parsed, never a panic. A parsed query printed
/// back (keywords upper-cased, text literals escaped as Portico escapes them) parses to the
/// same query.
pub fn soql_parser(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(first) = query::parse(text) else { return };
    let printed = print_query(&first);
    let second = query::parse(&printed).unwrap_or_else(|e| panic!("the printed query is refused: {e:?}\n{printed}"));
    let same = first.fields == second.fields
        && first.object == second.object
        && first.order_by == second.order_by
        && first.limit == second.limit
        && first.conditions.len() == second.conditions.len()
        && first.conditions.iter().zip(&second.conditions).all(|(a, b)| a.0 == b.0 && same_literal(&a.1, &b.1));
    assert!(same, "printing and re-parsing changed the query:\n{first:?}\n{printed}\n{second:?}");
}

fn print_query(q: &Query) -> String {
    let mut out = format!("SELECT {} FROM {}", q.fields.join(", "), q.object);
    for (i, (field, value)) in q.conditions.iter().enumerate() {
        let value = match value {
            Literal::Text(s) => portico_model::soql::literal(&Value::Text(s.clone())),
            Literal::Number(n) => n.to_string(),
            Literal::Boolean(b) => b.to_string(),
            Literal::Null => "null".to_owned(),
            Literal::Date(d) => d.to_string(),
            Literal::DateTime(t) => t.to_salesforce(),
            Literal::Relative(_) => unreachable!("query::parse refuses relative date literals"),
        };
        out += &format!(" {} {field} = {value}", if i == 0 { "WHERE" } else { "AND" });
    }
    if let Some((field, desc)) = &q.order_by {
        out += &format!(" ORDER BY {field}{}", if *desc { " DESC" } else { "" });
    }
    if let Some(n) = q.limit {
        out += &format!(" LIMIT {n}");
    }
    out
}

/// Literal equality where a NaN equals a NaN (the parser reads `NaN` as a number).
fn same_literal(a: &Literal, b: &Literal) -> bool {
    match (a, b) {
        (Literal::Number(x), Literal::Number(y)) => x == y || (x.is_nan() && y.is_nan()),
        _ => a == b,
    }
}
