//! Options builders. Placeholder until they land.
