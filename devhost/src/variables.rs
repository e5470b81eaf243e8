//! Application variables, resolved the way Spin's default environment provider
//! does: `SPIN_VARIABLE_<UPPER_NAME>` from the process environment first, then
//! the same key in a `.env` file next to the manifest, then the manifest default.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::{Result, bail};

use crate::manifest::Manifest;

/// A component variable value such as `"{{ database_url }}"` or `"x-{{ a }}-y"`.
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
    pub fn parse(text: &str) -> Result<Self> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("{{") {
            if start > 0 {
                parts.push(Part::Literal(rest[..start].to_string()));
            }
            let after = &rest[start + 2..];
            let Some(end) = after.find("}}") else {
                bail!("unterminated '{{{{' in {text:?}");
            };
            let name = after[..end].trim();
            crate::manifest::check_variable_name(name)?;
            parts.push(Part::Variable(name.to_string()));
            rest = &after[end + 2..];
        }
        if rest.contains("}}") {
            bail!("unmatched '}}}}' in {text:?}");
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.to_string()));
        }
        Ok(Template { parts })
    }

    pub fn references(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Variable(v) => Some(v.as_str()),
            Part::Literal(_) => None,
        })
    }

    fn render(&self, values: &HashMap<String, String>) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Literal(s) => out.push_str(s),
                // References were validated against the declared variables when
                // the manifest was loaded, and every declared variable resolved.
                Part::Variable(v) => out.push_str(values.get(v).map(String::as_str).unwrap_or("")),
            }
        }
        out
    }
}

/// Resolves every application variable once at startup, then renders each
/// component's templates. Refuses (naming every missing variable) when a
/// required variable has no value, like `spin up`.
pub fn resolve(
    manifest: &Manifest,
    env: impl Fn(&str) -> Option<String>,
) -> Result<BTreeMap<String, HashMap<String, String>>> {
    let dotenv = load_dotenv(&manifest.dir.join(".env"));
    let mut values = HashMap::new();
    let mut missing = Vec::new();
    for (name, var) in &manifest.variables {
        let key = format!("SPIN_VARIABLE_{}", name.to_ascii_uppercase());
        let value = env(&key)
            .or_else(|| dotenv.get(&key).cloned())
            .or_else(|| var.default.clone());
        match value {
            Some(v) => {
                values.insert(name.clone(), v);
            }
            None => {
                debug_assert!(var.required);
                missing.push(format!("{name} (set {key})"));
            }
        }
    }
    if !missing.is_empty() {
        bail!(
            "required application variable(s) have no value: {}",
            missing.join(", ")
        );
    }
    let mut per_component = BTreeMap::new();
    for c in manifest.components.values() {
        let rendered = c
            .variables
            .iter()
            .map(|(k, t)| (k.clone(), t.render(&values)))
            .collect();
        per_component.insert(c.id.clone(), rendered);
    }
    Ok(per_component)
}

fn load_dotenv(path: &Path) -> HashMap<String, String> {
    match dotenvy::from_path_iter(path) {
        Ok(iter) => {
            let mut map = HashMap::new();
            for item in iter {
                match item {
                    Ok((k, v)) => {
                        map.insert(k, v);
                    }
                    Err(e) => {
                        eprintln!(
                            "devhost: warning: ignoring bad line in {}: {e}",
                            path.display()
                        );
                    }
                }
            }
            map
        }
        Err(_) => HashMap::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates() {
        let t = Template::parse("a-{{ x }}-{{y}}").unwrap();
        assert_eq!(t.references().collect::<Vec<_>>(), ["x", "y"]);
        let vals = HashMap::from([("x".to_string(), "1".to_string()), ("y".into(), "2".into())]);
        assert_eq!(t.render(&vals), "a-1-2");
        assert!(Template::parse("{{ x").is_err());
        assert!(Template::parse("{{ X }}").is_err());
        assert_eq!(Template::parse("plain").unwrap().render(&vals), "plain");
    }

    #[test]
    fn resolution_order_and_missing() {
        let dir = std::env::temp_dir().join(format!("devhost-vars-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join(".env"),
            "SPIN_VARIABLE_B=from_dotenv\nSPIN_VARIABLE_A=dot_a\n",
        )
        .unwrap();
        let text = r#"
spin_manifest_version = 2
[variables]
a = { default = "def_a" }
b = { required = true }
c = { required = true }
[[trigger.http]]
route = "/..."
component = "x"
[component.x]
source = "x.wasm"
[component.x.variables]
v = "{{ a }}/{{ b }}/{{ c }}"
"#;
        let m = Manifest::parse(text, &dir).unwrap();
        let err = resolve(&m, |_| None).unwrap_err().to_string();
        assert!(err.contains("c (set SPIN_VARIABLE_C)"), "{err}");
        assert!(!err.contains("b (set"), "{err}");
        let r = resolve(&m, |k| match k {
            "SPIN_VARIABLE_A" => Some("env_a".into()),
            "SPIN_VARIABLE_C" => Some("env_c".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(r["x"]["v"], "env_a/from_dotenv/env_c");
        std::fs::remove_dir_all(&dir).ok();
    }
}
