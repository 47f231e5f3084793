//! The booking-form questions that describe the attendee: their company and their phone.
//!
//! Neither platform has a company field on the attendee, and each has a phone field only when
//! the host turns one on (Cal.com's phone field, Calendly's text reminders). Hosts usually add
//! a "Company" or "Phone" question of their own instead, and without this the booker's answer
//! would reach plugins only as an answer, so a Lead would say `[not provided]`. Both platform
//! mappings look for these questions here, so that they recognise the same ones.
//!
//! A question matches when its key or its label, *normalised*, is one of the well-known names.
//! Normalising lower-cases the text, splits `camelCase`, and turns every run of other
//! characters (spaces, `-`, `_`, `/`, `?`, `:`, …) into one space: `Company name?`,
//! `company-name` and `companyName` all read `company name`. The names are compared whole, so
//! `Company size` or `What does your company do?` never match.
//!
//! The names are [`COMPANY`] and [`PHONE`], kept short on purpose: a wrong match would put an
//! unrelated answer into a Salesforce field. A platform can add keys of its own phone fields
//! (Cal.com's `attendeePhoneNumber`), which match exactly, whatever their label.
//!
//! Only the primary attendee (the one who filled in the form) is filled, and only a detail the
//! platform left empty: a phone the platform gives explicitly wins over an answer. The first
//! matching answer that is not blank, in form order, is used. The answers themselves stay as they
//! are.

use crate::booking::{Answer, Person};

/// Normalised names of a question about the attendee's company.
const COMPANY: &[&str] =
    &["company", "company name", "organisation", "organization", "organisation name", "organization name"];

/// Normalised names of a question about the attendee's phone.
const PHONE: &[&str] =
    &["phone", "phone number", "mobile", "mobile number", "mobile phone", "telephone", "telephone number"];

/// Fills `attendee`'s empty `company` and `phone` from the booking-form `answers`. An answer
/// whose key is one of `phone_keys` (the platform's own phone questions) is a phone too.
pub(super) fn fill_attendee(attendee: &mut Person, answers: &[Answer], phone_keys: &[&str]) {
    if attendee.company.is_none() {
        attendee.company = first_answer(answers, |a| names(a, COMPANY));
    }
    if attendee.phone.is_none() {
        attendee.phone = first_answer(answers, |a| phone_keys.contains(&a.key.as_str()) || names(a, PHONE));
    }
}

/// The value of the first answer that `matches` and is not blank.
fn first_answer(answers: &[Answer], matches: impl Fn(&Answer) -> bool) -> Option<String> {
    answers.iter().filter(|a| matches(a)).map(|a| a.value.trim()).find(|v| !v.is_empty()).map(str::to_owned)
}

/// Whether the answer's key or label is one of the normalised `known` names.
fn names(answer: &Answer, known: &[&str]) -> bool {
    [&answer.key, &answer.label].into_iter().any(|text| known.contains(&normalise(text).as_str()))
}

/// Lower case, words split at `camelCase` humps, other characters as one space:
/// ` Company-Name? ` and `companyName` → `company name`.
fn normalise(text: &str) -> String {
    let mut out = String::new();
    let mut previous: Option<char> = None;
    for c in text.chars() {
        if c.is_alphanumeric() {
            let hump = c.is_uppercase() && previous.is_some_and(char::is_lowercase);
            if hump || (previous.is_some_and(|p| !p.is_alphanumeric()) && !out.is_empty()) {
                out.push(' ');
            }
            out.extend(c.to_lowercase());
        }
        previous = Some(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(key: &str, label: &str, value: &str) -> Answer {
        Answer { key: key.into(), label: label.into(), value: value.into() }
    }

    fn nobody() -> Person {
        Person { name: "Ada".into(), email: "ada@example.com".into(), phone: None, company: None, timezone: None }
    }

    #[test]
    fn questions_are_compared_normalised_and_whole() {
        for (text, normal) in [
            (" Company-Name? ", "company name"),
            ("companyName", "company name"),
            ("phone_number", "phone number"),
            ("Organisation/Organization", "organisation organization"),
            ("PHONE", "phone"),
            ("  ", ""),
        ] {
            assert_eq!(normalise(text), normal, "{text:?}");
        }
        let company = |label: &str| names(&answer("q0", label, "x"), COMPANY);
        assert!(company("Company") && company("company name:") && company("Organization"));
        assert!(!company("Company size") && !company("What does your company do?") && !company("Companies"));
        assert!(names(&answer("phone", "Best number to reach you", "x"), PHONE), "the key matches too");
    }

    #[test]
    fn the_first_answer_fills_only_what_is_empty() {
        let answers = [
            answer("size", "Company size", "11-50"),
            answer("org", "Organisation", "Analytical Engines Ltd"),
            answer("company", "Company", "Ignored: the first match wins"),
            answer("mobile", "Mobile", "+44 7700 900123"),
        ];
        let mut ada = nobody();
        fill_attendee(&mut ada, &answers, &[]);
        assert_eq!(ada.company.as_deref(), Some("Analytical Engines Ltd"));
        assert_eq!(ada.phone.as_deref(), Some("+44 7700 900123"));

        let mut explicit = Person { phone: Some("+44 20 7946 0958".into()), company: Some("Acme".into()), ..nobody() };
        fill_attendee(&mut explicit, &answers, &[]);
        assert_eq!((explicit.company.as_deref(), explicit.phone.as_deref()), (Some("Acme"), Some("+44 20 7946 0958")));
    }

    #[test]
    fn platform_phone_keys_match_whatever_their_label() {
        let answers = [answer("attendeePhoneNumber", "Telefonní číslo", "+420 123 456 789")];
        let mut ada = nobody();
        fill_attendee(&mut ada, &answers, &[]);
        assert_eq!(ada.phone, None);
        fill_attendee(&mut ada, &answers, &["attendeePhoneNumber"]);
        assert_eq!(ada.phone.as_deref(), Some("+420 123 456 789"));
    }

    #[test]
    fn blank_answers_fill_nothing() {
        let mut ada = nobody();
        fill_attendee(&mut ada, &[answer("company", "Company", "  "), answer("phone", "Phone", "")], &[]);
        assert_eq!((ada.company.as_deref(), ada.phone.as_deref()), (None, None));
        fill_attendee(&mut ada, &[answer("company", "Company", " "), answer("org", "Organisation", "Acme")], &[]);
        assert_eq!(ada.company.as_deref(), Some("Acme"), "a blank answer does not hide a later one");
    }
}
