//! Spin's naming rules for variables, component ids and store labels.

use anyhow::{bail, Result};

/// Spin's variable names: `_`-separated words, each a lowercase letter then
/// lowercase letters or digits.
pub fn check_variable_name(name: &str) -> Result<()> {
    if name.is_empty() {
        bail!("variable names must not be empty");
    }
    for word in name.split('_') {
        let mut chars = word.chars();
        match chars.next() {
            Some(c) if c.is_ascii_lowercase() => {}
            _ => {
                bail!("{name:?}: each `_`-separated word must start with a lowercase ASCII letter")
            }
        }
        if !chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()) {
            bail!("{name:?}: only lowercase ASCII letters, digits and `_` are allowed");
        }
    }
    Ok(())
}

/// Spin's component ids: kebab-case words, each all-lower or all-UPPER.
pub fn check_component_id(id: &str) -> Result<()> {
    if id.contains('_') {
        bail!("invalid component id {id:?}: words must be separated with '-'");
    }
    for word in id.split('-') {
        let first_ok = word.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
        let alnum = word.chars().all(|c| c.is_ascii_alphanumeric());
        let one_case = !word.chars().any(|c| c.is_ascii_lowercase())
            || !word.chars().any(|c| c.is_ascii_uppercase());
        if !(first_ok && alnum && one_case) {
            bail!("invalid component id {id:?}: each `-`-separated word must start with a letter and be alphanumeric in one case");
        }
    }
    Ok(())
}

/// Store and database labels: kebab-case or snake_case.
pub fn check_label(label: &str) -> Result<()> {
    let separator = if label.contains('-') { '-' } else { '_' };
    let mixed = label.contains('-') && label.contains('_');
    let ok = !label.is_empty()
        && !mixed
        && label.split(separator).all(|w| {
            w.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                && w.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        });
    if !ok {
        bail!("invalid label {label:?}: expected kebab-case or snake_case");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_spin_rules() {
        assert!(check_variable_name("api_key2").is_ok());
        assert!(check_variable_name("a_1").is_err());
        assert!(check_variable_name("Api").is_err());
        assert!(check_component_id("my-api").is_ok());
        assert!(check_component_id("MY-api").is_ok());
        assert!(check_component_id("my_api").is_err());
        assert!(check_label("visits").is_ok());
        assert!(check_label("probe_db").is_ok());
        assert!(check_label("Bad").is_err());
    }
}
