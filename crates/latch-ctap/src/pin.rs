//! PIN/UV auth protocols (CTAP 2.1 §6.5).
