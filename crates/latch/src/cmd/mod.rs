//! One module per subcommand.
pub mod bench;
pub mod guardian;
pub mod key;
pub mod serve;
pub mod vault;
pub mod webauthn;
