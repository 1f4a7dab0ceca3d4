//! Customers' support details: validation of what a client sends, and the representation it gets back.

use serde::{Deserialize, Serialize};
use service_kit::clock::format_millis;
use utoipa::ToSchema;

use crate::error::{check_line, invalid, SupportError};
use crate::wire::{CustomerBody, CustomerView};

pub const MAX_NAME_CHARS: usize = 200;
const MAX_EMAIL_BYTES: usize = 254;
const MAX_LOCAL_PART_BYTES: usize = 64;

/// Customer ids in paths: 1 to 64 of `A-Z a-z 0-9 _ -` (so they need no escaping anywhere).
pub fn valid_customer_id(id: &str) -> bool {
    service_kit::ids::is_id(id)
}

/// Checks a customer id given by a client, naming the rule when it is broken.
pub fn parse_customer_id(id: &str) -> Result<String, SupportError> {
    if valid_customer_id(id) {
        Ok(id.to_owned())
    } else {
        Err(SupportError::Invalid(format!(
            "customer id must be 1 to 64 characters of A-Z, a-z, 0-9, _ and -; got {id:?}"
        )))
    }
}

/// The customer's support tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    Free,
    Pro,
    Enterprise,
}

impl Tier {
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Free => "free",
            Tier::Pro => "pro",
            Tier::Enterprise => "enterprise",
        }
    }

    pub fn parse(text: &str) -> Option<Tier> {
        match text {
            "free" => Some(Tier::Free),
            "pro" => Some(Tier::Pro),
            "enterprise" => Some(Tier::Enterprise),
            _ => None,
        }
    }
}

/// A customer's details, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerDetails {
    pub name: String,
    pub email: String,
    pub tier: Tier,
    pub phone: Option<String>,
}

/// Parses and validates a PUT body.
pub fn parse_details(body: serde_json::Value) -> Result<CustomerDetails, SupportError> {
    let body: CustomerBody = serde_json::from_value(body)
        .map_err(|err| SupportError::Invalid(format!("invalid customer: {err}")))?;
    check_line("name", &body.name, MAX_NAME_CHARS)?;
    validate_email(&body.email)?;
    let tier = Tier::parse(&body.tier).ok_or_else(|| {
        invalid(
            "tier",
            format!("must be free, pro or enterprise; got {:?}", body.tier),
        )
    })?;
    if let Some(phone) = &body.phone {
        validate_phone(phone)?;
    }
    Ok(CustomerDetails {
        name: body.name,
        // Domains are case-insensitive; the local part is kept as given.
        email: match body.email.rsplit_once('@') {
            Some((local, domain)) => format!("{local}@{}", domain.to_ascii_lowercase()),
            None => body.email,
        },
        tier,
        phone: body.phone,
    })
}

/// A sane subset of RFC 5321 addresses: `local@domain`, the local part printable ASCII without
/// specials, the domain at least two DNS labels (letters, digits, inner hyphens).
fn validate_email(email: &str) -> Result<(), SupportError> {
    let bad = |problem: &str| invalid("email", format!("{problem}; got {email:?}"));
    if email.len() > MAX_EMAIL_BYTES {
        return Err(bad("at most 254 characters"));
    }
    let Some((local, domain)) = email.split_once('@') else {
        return Err(bad("must look like name@example.com"));
    };
    let local_ok = (1..=MAX_LOCAL_PART_BYTES).contains(&local.len())
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~.".contains(&b));
    if !local_ok {
        return Err(bad("the part before @ is not a valid mailbox name"));
    }
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|label| {
            (1..=63).contains(&label.len())
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.bytes().any(|b| b.is_ascii_alphabetic()));
    if !domain_ok {
        return Err(bad("the part after @ is not a valid domain name"));
    }
    Ok(())
}

/// E.164-ish: `+` then 7 to 15 digits, nothing else.
fn validate_phone(phone: &str) -> Result<(), SupportError> {
    let digits = phone.strip_prefix('+').unwrap_or("");
    if phone.starts_with('+')
        && (7..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
    {
        Ok(())
    } else {
        Err(invalid(
            "phone",
            format!(
                "must be + and 7 to 15 digits (E.164, e.g. +41791234567), or null; got {phone:?}"
            ),
        ))
    }
}

/// A stored customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    pub id: String,
    pub details: CustomerDetails,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Customer {
    pub fn new(id: &str, details: CustomerDetails, now: i64) -> Customer {
        Customer {
            id: id.to_owned(),
            details,
            version: 1,
            created_at: now,
            updated_at: now,
        }
    }

    /// The customer with new details, or `None` when they are what it already has (no change, no
    /// new version, no event).
    pub fn updated(&self, details: CustomerDetails, now: i64) -> Option<Customer> {
        (details != self.details).then(|| Customer {
            details,
            version: self.version + 1,
            updated_at: now.max(self.updated_at),
            ..self.clone()
        })
    }

    /// The representation clients and events see.
    pub fn view(&self) -> CustomerView {
        CustomerView {
            id: self.id.clone(),
            name: self.details.name.clone(),
            email: self.details.email.clone(),
            tier: self.details.tier,
            phone: self.details.phone.clone(),
            version: self.version,
            created_at: format_millis(self.created_at),
            updated_at: format_millis(self.updated_at),
        }
    }
}

/// Addresses the email rule takes, and ones it refuses (for this module's tests and the contract's).
#[cfg(test)]
pub(crate) const GOOD_EMAILS: [&str; 4] = [
    "a@b.io",
    "first.last+tag@mail.example.co.uk",
    "x_y-z@sub-domain.example.org",
    "o'neil@x.ch",
];
#[cfg(test)]
pub(crate) const BAD_EMAILS: [&str; 15] = [
    "",
    "plain",
    "@b.io",
    "a@",
    "a@b",
    "a@@b.io",
    "a b@c.io",
    "a@b..io",
    "a@-b.io",
    "a@b-.io",
    ".a@b.io",
    "a.@b.io",
    "a..b@c.io",
    "a@b.123",
    "a@b.io\n",
];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(name: &str, email: &str, tier: &str, phone: serde_json::Value) -> serde_json::Value {
        json!({ "name": name, "email": email, "tier": tier, "phone": phone })
    }

    fn problem(value: serde_json::Value) -> String {
        parse_details(value).unwrap_err().to_string()
    }

    #[test]
    fn valid_details_parse() {
        let details =
            parse_details(body("Ada", "ada@Example.COM", "pro", json!("+41791234567"))).unwrap();
        assert_eq!(details.name, "Ada");
        assert_eq!(details.email, "ada@example.com");
        assert_eq!(details.tier, Tier::Pro);
        assert_eq!(details.phone.as_deref(), Some("+41791234567"));
        let without_phone = json!({ "name": "B", "email": "b@x.io", "tier": "free" });
        assert_eq!(parse_details(without_phone).unwrap().phone, None);
        assert_eq!(
            parse_details(body("B", "b@x.io", "enterprise", json!(null)))
                .unwrap()
                .phone,
            None
        );
    }

    #[test]
    fn names_are_one_to_two_hundred_characters() {
        assert!(problem(body("", "a@b.io", "free", json!(null))).starts_with("name:"));
        assert!(problem(body("   ", "a@b.io", "free", json!(null))).starts_with("name:"));
        assert!(problem(body("a\u{7}b", "a@b.io", "free", json!(null))).starts_with("name:"));
        let longest = "é".repeat(200);
        assert!(parse_details(body(&longest, "a@b.io", "free", json!(null))).is_ok());
        let too_long = "é".repeat(201);
        assert!(problem(body(&too_long, "a@b.io", "free", json!(null))).contains("201"));
    }

    #[test]
    fn emails_are_checked_sanely() {
        for good in GOOD_EMAILS {
            assert!(
                parse_details(body("n", good, "free", json!(null))).is_ok(),
                "{good}"
            );
        }
        let long_local = format!("{}@b.io", "a".repeat(65));
        for bad in BAD_EMAILS.into_iter().chain([long_local.as_str()]) {
            let message = problem(body("n", bad, "free", json!(null)));
            assert!(message.starts_with("email:"), "{bad:?}: {message}");
        }
    }

    #[test]
    fn tiers_are_free_pro_or_enterprise() {
        let message = problem(body("n", "a@b.io", "gold", json!(null)));
        assert!(
            message.contains("tier") && message.contains("gold"),
            "{message}"
        );
        assert!(problem(body("n", "a@b.io", "Pro", json!(null))).contains("tier"));
    }

    #[test]
    fn phones_are_plus_and_seven_to_fifteen_digits() {
        for good in ["+1234567", "+123456789012345"] {
            assert!(
                parse_details(body("n", "a@b.io", "free", json!(good))).is_ok(),
                "{good}"
            );
        }
        for bad in [
            "123456789",
            "+123456",
            "+1234567890123456",
            "+12 345 678",
            "+1234567a",
            "+",
            "",
        ] {
            assert!(
                problem(body("n", "a@b.io", "free", json!(bad))).starts_with("phone:"),
                "{bad}"
            );
        }
    }

    #[test]
    fn unknown_missing_and_mistyped_fields_are_refused() {
        let unknown = json!({ "name": "n", "email": "a@b.io", "tier": "free", "vip": true });
        assert!(problem(unknown).contains("vip"));
        let missing = json!({ "name": "n", "tier": "free" });
        assert!(problem(missing).contains("email"));
        let mistyped = json!({ "name": 5, "email": "a@b.io", "tier": "free" });
        assert!(problem(mistyped).contains("invalid"));
        assert!(problem(json!([1, 2])).contains("invalid"));
    }

    #[test]
    fn customer_ids_are_path_safe() {
        assert!(valid_customer_id("cust_42-A"));
        assert!(valid_customer_id(&"a".repeat(64)));
        for bad in ["", "a b", "a/b", "a%20", "ü", &"a".repeat(65)] {
            assert!(!valid_customer_id(bad), "{bad}");
        }
        assert!(parse_customer_id("a.b")
            .unwrap_err()
            .to_string()
            .contains("\"a.b\""));
    }

    #[test]
    fn an_identical_update_changes_nothing() {
        let details = parse_details(body("n", "a@b.io", "free", json!(null))).unwrap();
        let customer = Customer::new("c1", details.clone(), 1_000);
        assert_eq!(customer.updated(details.clone(), 2_000), None);
        let changed = CustomerDetails {
            tier: Tier::Pro,
            ..details
        };
        let updated = customer.updated(changed, 2_000).unwrap();
        assert_eq!(updated.version, 2);
        assert_eq!((updated.created_at, updated.updated_at), (1_000, 2_000));
    }

    #[test]
    fn the_view_has_every_field_of_the_contract() {
        let details = parse_details(body("n", "a@b.io", "free", json!(null))).unwrap();
        let view = serde_json::to_value(Customer::new("c1", details, 0).view()).unwrap();
        assert_eq!(
            view,
            json!({
                "id": "c1", "name": "n", "email": "a@b.io", "tier": "free", "phone": null,
                "version": 1, "created_at": "1970-01-01T00:00:00Z", "updated_at": "1970-01-01T00:00:00Z"
            })
        );
    }
}
