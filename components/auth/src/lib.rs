//! auth component.
