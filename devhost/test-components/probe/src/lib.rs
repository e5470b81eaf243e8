//! Test component for devhost.
