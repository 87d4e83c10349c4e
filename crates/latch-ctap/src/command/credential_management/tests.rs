//! credential_management tests.
