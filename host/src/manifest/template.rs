//! Component variable templates (`"{{ name }}"`): literal text and holes
//! naming application variables. Parsed when the manifest is validated and
//! rendered by the variables capability.

use anyhow::{bail, Result};

/// A parsed component variable template: literal text and `{{ var }}` holes.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Literal(String),
    Variable(String),
}

impl Template {
    pub fn parse(text: &str) -> Result<Template> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("{{") {
            if start > 0 {
                parts.push(Part::Literal(rest[..start].to_string()));
            }
            let after = &rest[start + 2..];
            let Some(end) = after.find("}}") else {
                bail!("unmatched '{{{{' in {text:?}")
            };
            let name = after[..end].trim();
            if name.is_empty() {
                bail!("empty '{{{{ }}}}' in {text:?}");
            }
            parts.push(Part::Variable(name.to_string()));
            rest = &after[end + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.to_string()));
        }
        Ok(Template { parts })
    }

    /// Names of the application variables the template uses.
    pub fn referenced(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Variable(name) => Some(name.as_str()),
            Part::Literal(_) => None,
        })
    }

    pub fn render(
        &self,
        mut resolve: impl FnMut(&str) -> Result<String, String>,
    ) -> Result<String, String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(text) => out.push_str(text),
                Part::Variable(name) => out.push_str(&resolve(name)?),
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_parse_and_trim() {
        let t = Template::parse("{{ greeting }}, world").unwrap();
        assert_eq!(t.referenced().collect::<Vec<_>>(), vec!["greeting"]);
        let out = t.render(|_| Ok("hello".into())).unwrap();
        assert_eq!(out, "hello, world");
        assert!(Template::parse("{{ open").is_err());
        assert_eq!(
            Template::parse("plain")
                .unwrap()
                .render(|_| Err("x".into()))
                .unwrap(),
            "plain"
        );
    }
}
