//! health component.
