//! One module per subcommand.
pub mod key;
pub mod serve;
pub mod webauthn;
