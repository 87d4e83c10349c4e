//! Signals API helpers. Placeholder until they land.
