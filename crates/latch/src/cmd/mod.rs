//! One module per subcommand.
pub mod bench;
pub mod key;
pub mod serve;
pub mod webauthn;
