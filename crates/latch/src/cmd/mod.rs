//! One module per subcommand.
pub mod webauthn;
