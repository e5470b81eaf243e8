//! One structured JSON line per event on stdout. Nothing secret is ever passed here:
//! callers log routes (templates), ids and short causes, never bodies or headers.

use serde_json::{Map, Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Debug,
    Info,
    Warning,
    Error,
}

impl Level {
    pub fn parse(text: &str) -> Option<Level> {
        match text.trim().to_ascii_lowercase().as_str() {
            "debug" | "trace" => Some(Level::Debug),
            "info" => Some(Level::Info),
            "warning" | "warn" => Some(Level::Warning),
            "error" | "critical" => Some(Level::Error),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
}

/// Writes `{"time", "level", "message", ...fields}` when `level` passes `threshold`.
pub fn emit(threshold: Level, level: Level, message: &str, fields: Value) {
    if level < threshold {
        return;
    }
    let mut line = Map::new();
    line.insert("time".into(), json!(domain::Timestamp::now().to_string()));
    line.insert("level".into(), json!(level.as_str()));
    line.insert("message".into(), json!(message));
    if let Value::Object(extra) = fields {
        line.extend(extra);
    }
    println!("{}", Value::Object(line));
}
